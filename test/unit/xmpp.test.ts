/** The XMPP adapter's pure parts: SCRAM, JIDs, config, and stanza parsing with hostile input. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import xml from '@xmpp/xml';
import { parseBareJid, parseXmppConfig } from '../../bridges/xmpp/config.js';
import { deriveKeys, ScramSha1 } from '../../bridges/xmpp/scram.js';
import { buildStanza, contactPresence, MAX_BODY, parseMessage, type ParseContext } from '../../bridges/xmpp/stanzas.js';
import { parseStyling, toStyled } from '../../bridges/xmpp/styling.js';
import { checkHash, parseRef } from '../../bridges/xmpp/shared-files.js';
import { createHash } from 'node:crypto';
import { getBytes, OutboundRefused } from '../../core/net/guarded-http.js';
import { remoteChatId, remoteMessageId } from '../../core/ids.js';

const ctx = (mucs: Record<string, string> = {}): ParseContext => ({ self: 'alice@xmpp.test', mucs: new Map(Object.entries(mucs)), stanzaIdOf: () => undefined });

describe('SCRAM-SHA-1', () => {
  // RFC 5802 section 5, user "user", password "pencil".
  const serverFirst = 'r=fyko+d2lbbFgONRv9qkxdawL3rfcNHYJY1ZVvWVs7j,s=QSXCR+Q6sek8bf92,i=4096';
  const clientFinal = 'c=biws,r=fyko+d2lbbFgONRv9qkxdawL3rfcNHYJY1ZVvWVs7j,p=v0X8v3Bz2T0CJGbJQyF0X+HI4Ts=';

  it('matches the RFC 5802 example with the password, and hands out the keys', () => {
    const mech = new ScramSha1('fyko+d2lbbFgONRv9qkxdawL');
    let kept;
    const cred = { username: 'user', password: 'pencil', onKeys: (k: unknown) => { kept = k; } };
    assert.equal(mech.response(cred), 'n,,n=user,r=fyko+d2lbbFgONRv9qkxdawL');
    mech.challenge(serverFirst);
    assert.equal(mech.response(cred), clientFinal);
    mech.challenge('v=rmF9pqV8S7suAoZWja4dJRkFsKQ=');
    assert.deepEqual(kept, deriveKeys('pencil', 'QSXCR+Q6sek8bf92', 4096));
  });

  it('logs in with the stored keys alone, and refuses a server that cannot prove the password', () => {
    const keys = deriveKeys('pencil', 'QSXCR+Q6sek8bf92', 4096);
    const mech = new ScramSha1('fyko+d2lbbFgONRv9qkxdawL');
    mech.response({ username: 'user', keys });
    mech.challenge(serverFirst);
    assert.equal(mech.response({ username: 'user', keys }), clientFinal);
    assert.throws(() => mech.challenge('v=AAAAAAAAAAAAAAAAAAAAAAAAAAA='), /did not prove it knows the password/);
  });

  it('asks for the password again when the server changed salt or iterations', () => {
    const mech = new ScramSha1('fyko+d2lbbFgONRv9qkxdawL');
    const keys = deriveKeys('pencil', 'c2FsdA==', 4096);
    mech.response({ username: 'user', keys });
    mech.challenge(serverFirst);
    assert.throws(() => mech.response({ username: 'user', keys }), /stored keys no longer match/);
  });

  it('refuses a server nonce that does not extend ours', () => {
    const mech = new ScramSha1('abc');
    mech.response({ username: 'user', password: 'x' });
    mech.challenge('r=zzz,s=QSXCR+Q6sek8bf92,i=4096');
    assert.throws(() => mech.response({ username: 'user', password: 'x' }), /malformed server challenge/);
  });
});

describe('XMPP config and JIDs', () => {
  it('normalises bare JIDs and refuses resources, missing parts and markup', () => {
    assert.equal(parseBareJid('Room@Conference.Example.ORG'), 'room@conference.example.org');
    assert.throws(() => parseBareJid('alice@example.org/phone'), /must not have a \/resource/);
    assert.throws(() => parseBareJid('example.org'), /must look like name@server/);
    assert.throws(() => parseBareJid("a'b@example.org"), /cannot have/);
  });

  it('validates its section with messages that name the key', () => {
    assert.deepEqual(parseXmppConfig({}), { mucNick: 'Switchboard', allowPrivateMedia: false, mucPingIntervalS: 300 });
    assert.throws(() => parseXmppConfig({ relay: { jid: 'bridge@example.org' } }), /^Error: relay: must be/);
    assert.throws(() => parseXmppConfig({ service: 'http://x' }), /service: must look like xmpp:\/\/host:5222/);
    assert.throws(() => parseXmppConfig({ muc_nick: 'a\nb' }), /muc_nick/);
    assert.throws(() => parseXmppConfig({ pasword: 'x' }), /unknown key\(s\) pasword/);
  });
});

describe('XMPP stanzas', () => {
  it('reads a chat message, a correction, a reaction set, a retraction and chat states', () => {
    const from = { from: 'bob@xmpp.test/phone', type: 'chat' };
    assert.deepEqual(parseMessage(xml('message', { ...from, id: 'm1' }, xml('body', {}, 'hi')), ctx()).event, {
      type: 'message', chat: { id: 'bob@xmpp.test', kind: 'dm' }, sender: { id: 'bob@xmpp.test' }, id: 'm1', content: { kind: 'text', text: 'hi' },
    });
    assert.equal(parseMessage(xml('message', { ...from, id: 'm2' }, xml('body', {}, 'hi!'), xml('replace', { xmlns: 'urn:xmpp:message-correct:0', id: 'm1' })), ctx()).event?.type, 'edit');
    assert.deepEqual(parseMessage(xml('message', from, xml('reactions', { xmlns: 'urn:xmpp:reactions:0', id: 'm1' }, xml('reaction', {}, '👍'), xml('reaction', {}, '👍'))), ctx()).event, {
      type: 'reaction-set', chat: { id: 'bob@xmpp.test', kind: 'dm' }, sender: { id: 'bob@xmpp.test' }, target: 'm1', keys: ['👍'],
    });
    assert.equal(parseMessage(xml('message', from, xml('retract', { xmlns: 'urn:xmpp:message-retract:1', id: 'm1' })), ctx()).event?.type, 'delete');
    assert.deepEqual(parseMessage(xml('message', from, xml('composing', { xmlns: 'http://jabber.org/protocol/chatstates' })), ctx()).event, {
      type: 'typing', chat: { id: 'bob@xmpp.test', kind: 'dm' }, sender: { id: 'bob@xmpp.test' }, active: true,
    });
  });

  it('understands retractions of XEP-0424 before 0.4 (fastening) and never posts their fallback body', () => {
    const from = { from: 'bob@xmpp.test/phone', type: 'chat', id: 'r0' };
    const v0 = xml('message', from,
      xml('apply-to', { xmlns: 'urn:xmpp:fasten:0', id: 'm1' }, xml('retract', { xmlns: 'urn:xmpp:message-retract:0' })),
      xml('fallback', { xmlns: 'urn:xmpp:fallback:0' }),
      xml('body', {}, "This person attempted to retract a previous message, but it's unsupported by your client."));
    assert.deepEqual(parseMessage(v0, ctx()).event, { type: 'delete', chat: { id: 'bob@xmpp.test', kind: 'dm' }, sender: { id: 'bob@xmpp.test' }, target: 'm1' });
    // Fastened to something else (not a retraction): an ordinary message, its body kept.
    const other = xml('message', from, xml('apply-to', { xmlns: 'urn:xmpp:fasten:0', id: 'm1' }, xml('other', { xmlns: 'urn:example:x' })), xml('body', {}, 'text'));
    assert.equal((parseMessage(other, ctx()).event as { type: string }).type, 'message');
  });

  it('a reply without fallback markers loses the lines it opens with quoting', () => {
    const st = (body: string) => xml('message', { from: 'bob@xmpp.test', type: 'chat', id: 'm4' }, xml('body', {}, body), xml('reply', { xmlns: 'urn:xmpp:reply:0', id: 'm1' }));
    assert.equal((parseMessage(st('> old words\n> more\n\nmy answer'), ctx()).event as { content: { text: string } }).content.text, 'my answer');
    assert.equal((parseMessage(st('> only a quote'), ctx()).event as { content: { text: string } }).content.text, '> only a quote', 'nothing else: kept');
    assert.equal((parseMessage(st('no quote'), ctx()).event as { content: { text: string } }).content.text, 'no quote');
  });

  it('drops the quoted fallback of a reply, counting code points', () => {
    const st = xml('message', { from: 'bob@xmpp.test', type: 'chat', id: 'm3' }, xml('body', {}, '> 🎉 old\nnew'), xml('reply', { xmlns: 'urn:xmpp:reply:0', id: 'm1' }),
      xml('fallback', { xmlns: 'urn:xmpp:fallback:0', for: 'urn:xmpp:reply:0' }, xml('body', { start: '0', end: '8' })));
    const ev = parseMessage(st, ctx()).event as { content: { text: string }; replyTo: string };
    assert.equal(ev.content.text, 'new');
    assert.equal(ev.replyTo, 'm1');
  });

  it('ignores forged carbons, errors, unknown namespaces and rooms it did not join; cuts huge bodies', () => {
    const forged = xml('message', { from: 'mallory@evil.example', type: 'chat' }, xml('sent', { xmlns: 'urn:xmpp:carbons:2' }, xml('forwarded', { xmlns: 'urn:xmpp:forward:0' }, xml('message', { to: 'bob@xmpp.test', type: 'chat', id: 'x' }, xml('body', {}, 'fake')))));
    assert.deepEqual(parseMessage(forged, ctx()), {});
    const mine = xml('message', { from: 'alice@xmpp.test/laptop', type: 'chat' }, xml('sent', { xmlns: 'urn:xmpp:carbons:2' }, xml('forwarded', { xmlns: 'urn:xmpp:forward:0' }, xml('message', { to: 'bob@xmpp.test', type: 'chat', id: 'x' }, xml('body', {}, 'from my laptop')))));
    assert.deepEqual((parseMessage(mine, ctx()).event as { sender: unknown; chat: unknown }).sender, { id: 'alice@xmpp.test', isSelf: true });
    assert.deepEqual(parseMessage(xml('message', { from: 'bob@xmpp.test', type: 'error' }, xml('body', {}, 'x')), ctx()), {});
    assert.deepEqual(parseMessage(xml('message', { from: 'bob@xmpp.test', type: 'chat', id: 'y' }, xml('unknown', { xmlns: 'urn:example:nothing' })), ctx()), {});
    assert.deepEqual(parseMessage(xml('message', { from: 'room@conf.test/bob', type: 'groupchat', id: 'z' }, xml('body', {}, 'hi')), ctx()), {});
    const huge = parseMessage(xml('message', { from: 'bob@xmpp.test', type: 'chat', id: 'h' }, xml('body', {}, 'x'.repeat(MAX_BODY + 10))), ctx()).event as { content: { text: string } };
    assert.ok(huge.content.text.length < MAX_BODY + 100);
    assert.match(huge.content.text, /message cut/);
  });

  it('groupchat: the MUC stanza id names the message; our own reflection is recognised', () => {
    const c = ctx({ 'room@conf.test': 'Switchboard' });
    const theirs = xml('message', { from: 'room@conf.test/bob', type: 'groupchat', id: 'b1' }, xml('body', {}, 'hi'), xml('stanza-id', { xmlns: 'urn:xmpp:sid:0', by: 'room@conf.test', id: 'S1' }));
    const p = parseMessage(theirs, c);
    assert.equal((p.event as { id: string }).id, 'S1');
    assert.deepEqual(p.ids, { room: 'room@conf.test', idAttr: 'b1', stanzaId: 'S1' });
    // A stanza id claimed by someone else than the room is not trusted.
    const spoofed = xml('message', { from: 'room@conf.test/bob', type: 'groupchat', id: 'b2' }, xml('body', {}, 'hi'), xml('stanza-id', { xmlns: 'urn:xmpp:sid:0', by: 'evil@x', id: 'S9' }));
    assert.equal((parseMessage(spoofed, c).event as { id: string }).id, 'b2');
    const ours = xml('message', { from: 'room@conf.test/Switchboard', type: 'groupchat', id: 'o1' }, xml('body', {}, 'x'), xml('origin-id', { xmlns: 'urn:xmpp:sid:0', id: 'o1' }), xml('stanza-id', { xmlns: 'urn:xmpp:sid:0', by: 'room@conf.test', id: 'S2' }));
    assert.deepEqual(parseMessage(ours, c), { reflection: { room: 'room@conf.test', originId: 'o1', stanzaId: 'S2' } });
  });

  it('a subject is the room topic both ways: at join, changed by an occupant, never our own echo', () => {
    const c = ctx({ 'room@conf.test': 'Switchboard' });
    const topic = (st: ReturnType<typeof xml>) => (parseMessage(st, c).event as { type: string; info?: { topic?: string } } | undefined);
    assert.equal(topic(xml('message', { from: 'room@conf.test', type: 'groupchat' }, xml('subject', {}, 'Welcome')))?.info?.topic, 'Welcome');
    assert.equal(topic(xml('message', { from: 'room@conf.test/bob', type: 'groupchat' }, xml('subject', {}, 'Garden\u0007 party\nday two')))?.info?.topic, 'Garden  party\nday two');
    assert.equal(topic(xml('message', { from: 'room@conf.test/Switchboard', type: 'groupchat' }, xml('subject', {}, 'ours'))), undefined);
    assert.equal(topic(xml('message', { from: 'other@conf.test/bob', type: 'groupchat' }, xml('subject', {}, 'not our room'))), undefined);
    // With a body it is a message that happens to carry a subject line, not a topic change.
    assert.equal(topic(xml('message', { from: 'room@conf.test/bob', type: 'groupchat', id: 'x' }, xml('subject', {}, 's'), xml('body', {}, 'hello')))?.type, 'message');
    const out = buildStanza({ type: 'chat-info', chat: remoteChatId('room@conf.test'), topic: 'New </subject> topic' }, 'groupchat', () => 'id1', (i) => i);
    assert.equal(out?.stanza.toString(), '<message to="room@conf.test" type="groupchat" id="id1"><subject>New &lt;/subject&gt; topic</subject></message>');
    assert.equal(buildStanza({ type: 'chat-info', chat: remoteChatId('bob@xmpp.test'), topic: 't' }, 'chat', () => 'id2', (i) => i), undefined);
  });

  it('text from Matrix is escaped by the XML builder, never injected', () => {
    const out = buildStanza({ type: 'message', chat: remoteChatId('bob@xmpp.test'), content: { kind: 'text', text: '</body><body>x</body><iq type="set"/>' } }, 'chat', () => 'id1', (i) => i);
    const s = out!.stanza.toString();
    assert.ok(!s.includes('<iq'), s);
    assert.match(s, /&lt;\/body&gt;&lt;body&gt;x/);
    const edit = buildStanza({ type: 'edit', chat: remoteChatId('room@conf.test'), target: remoteMessageId('S1'), content: { kind: 'text', text: 'e' } }, 'groupchat', () => 'id2', () => 'b1');
    assert.match(edit!.stanza.toString(), /<replace xmlns="urn:xmpp:message-correct:0" id="b1"\/>/);
  });
});

describe('XEP-0393 styling', () => {
  it('writes spans as directives, nesting and blocks included', () => {
    assert.equal(toStyled({ kind: 'text', text: 'bold and italic words', spans: [{ kind: 'bold', offset: 0, length: 4 }, { kind: 'italic', offset: 9, length: 6 }] }), '*bold* and _italic_ words');
    assert.equal(toStyled({ kind: 'text', text: 'nested bold', spans: [{ kind: 'bold', offset: 0, length: 11 }, { kind: 'italic', offset: 7, length: 4 }] }), '*nested _bold_*');
    assert.equal(toStyled({ kind: 'text', text: 'code:\nx = 1\nquote here', spans: [{ kind: 'pre', offset: 6, length: 5 }, { kind: 'blockquote', offset: 12, length: 10 }] }), 'code:\n```\nx = 1\n```\n> quote here');
    assert.equal(toStyled({ kind: 'text', text: 'see the docs', spans: [{ kind: 'link', offset: 8, length: 4, url: 'https://x.org' }] }), 'see the docs <https://x.org>');
    // A span with spaces at its edges would not parse on the other side: the directives hug the words.
    assert.equal(toStyled({ kind: 'text', text: 'a  b  c', spans: [{ kind: 'bold', offset: 1, length: 4 }] }), 'a  *b*  c');
  });

  it('reads directives into spans that include them, and leaves a*b*c alone', () => {
    assert.deepEqual(parseStyling('*bold* and _it_ ~s~ `*no*` a*b*c\n> quote\n```\npre *x*\n```\nend'), [
      { kind: 'bold', offset: 0, length: 6 }, { kind: 'italic', offset: 11, length: 4 }, { kind: 'strike', offset: 16, length: 3 },
      { kind: 'code', offset: 20, length: 6 }, { kind: 'blockquote', offset: 33, length: 7 }, { kind: 'pre', offset: 41, length: 15 },
    ]);
    const parsed = parseMessage(xml('message', { from: 'bob@xmpp.test', type: 'chat', id: 's1' }, xml('body', {}, '*hi*'), xml('unstyled', { xmlns: 'urn:xmpp:styling:0' })), ctx()).event as { content: { spans?: unknown } };
    assert.equal(parsed.content.spans, undefined);
  });
});

describe('XMPP files', () => {
  it('an OOB link becomes a remote attachment; a body that is only the link is no caption', () => {
    const url = 'https://upload.example.org/abc/photo%20one.jpg';
    const ev = parseMessage(xml('message', { from: 'bob@xmpp.test', type: 'chat', id: 'f1' }, xml('body', {}, url), xml('x', { xmlns: 'jabber:x:oob' }, xml('url', {}, url))), ctx()).event as { content: unknown };
    assert.deepEqual(ev.content, { kind: 'text', text: '', attachments: [{ kind: 'image', name: 'photo one.jpg', mime: 'image/jpeg', source: { kind: 'remote', ref: url } }] });
    const odd = parseMessage(xml('message', { from: 'bob@xmpp.test', type: 'chat', id: 'f2' }, xml('body', {}, 'x'), xml('x', { xmlns: 'jabber:x:oob' }, xml('url', {}, 'file:///etc/passwd'))), ctx()).event as { content: { attachments?: unknown } };
    assert.equal(odd.content.attachments, undefined, 'only http(s) links are files');
  });

  it('SFS (XEP-0447) and SIMS (XEP-0385) descriptions become attachments with their metadata; the fallback link is no caption', () => {
    const url = 'https://upload.example.org/k/summit.jpg';
    const sha = createHash('sha256').update('the bytes').digest('base64');
    const sfs = xml('file-sharing', { xmlns: 'urn:xmpp:sfs:0', disposition: 'inline' },
      xml('file', { xmlns: 'urn:xmpp:file:metadata:0' }, xml('media-type', {}, 'image/jpeg'), xml('name', {}, 'summit\n../x.jpg'), xml('size', {}, '3032449'), xml('dimensions', {}, '4096x2160'),
        xml('hash', { xmlns: 'urn:xmpp:hashes:2', algo: 'sha-256' }, sha), xml('desc', {}, 'Photo from the summit.')),
      xml('sources', {}, xml('url-data', { xmlns: 'http://jabber.org/protocol/url-data', target: 'javascript:alert(1)' }), xml('url-data', { xmlns: 'http://jabber.org/protocol/url-data', target: url })));
    const withFallback = parseMessage(xml('message', { from: 'bob@xmpp.test', type: 'chat', id: 's1' }, sfs, xml('body', {}, `Photo from the summit: ${url}`), xml('x', { xmlns: 'jabber:x:oob' }, xml('url', {}, url))), ctx()).event as { content: { text: string; attachments: { source: { ref: string } }[] } };
    assert.equal(withFallback.content.text, 'Photo from the summit');
    assert.equal(withFallback.content.attachments.length, 1, 'the OOB fallback of the same file is not a second file');
    assert.deepEqual({ ...withFallback.content.attachments[0], source: undefined }, { kind: 'image', name: 'summit .._x.jpg', mime: 'image/jpeg', size: 3032449, width: 4096, height: 2160, source: undefined });
    assert.deepEqual(parseRef(withFallback.content.attachments[0]!.source.ref), { url, hash: { algo: 'sha256', base64: sha } });
    // No body at all (XEP-0447 allows it): still a message with the file.
    const bare = parseMessage(xml('message', { from: 'bob@xmpp.test', type: 'chat', id: 's2' }, sfs), ctx()).event as { type: string; content: { text: string; attachments: unknown[] } };
    assert.equal(bare.type, 'message');
    assert.equal(bare.content.attachments.length, 1);

    const sims = xml('reference', { xmlns: 'urn:xmpp:reference:0', type: 'data', uri: 'https://up.example.org/a/voice.ogg' },
      xml('media-sharing', { xmlns: 'urn:xmpp:sims:1' },
        xml('file', { xmlns: 'urn:xmpp:jingle:apps:file-transfer:5' }, xml('media-type', {}, 'audio/ogg'), xml('name', {}, 'voice.ogg'), xml('size', {}, 'lots')),
        xml('sources', {}, xml('reference', { xmlns: 'urn:xmpp:reference:0', type: 'data', uri: 'https://up.example.org/a/voice.ogg' }))));
    const voice = parseMessage(xml('message', { from: 'bob@xmpp.test', type: 'chat', id: 's3' }, xml('body', {}, 'https://up.example.org/a/voice.ogg'), sims), ctx()).event as { content: { text: string; attachments: { kind: string; size?: number; source: { ref: string } }[] } };
    assert.equal(voice.content.text, '');
    assert.deepEqual(voice.content.attachments.map((a) => [a.kind, a.size, a.source.ref]), [['audio', undefined, 'https://up.example.org/a/voice.ogg']]);

    // A description without a usable source is no file; a bad media type falls back to the name's.
    const junk = xml('file-sharing', { xmlns: 'urn:xmpp:sfs:0' }, xml('file', { xmlns: 'urn:xmpp:file:metadata:0' }, xml('media-type', {}, 'text/html; <script>')), xml('sources', {}, xml('url-data', { xmlns: 'http://jabber.org/protocol/url-data', target: 'ftp://x/y' })));
    assert.equal(parseMessage(xml('message', { from: 'bob@xmpp.test', type: 'chat', id: 's4' }, junk), ctx()).event, undefined);
    const oddType = xml('file-sharing', { xmlns: 'urn:xmpp:sfs:0' }, xml('file', { xmlns: 'urn:xmpp:file:metadata:0' }, xml('media-type', {}, 'text/html; <script>')), xml('sources', {}, xml('url-data', { xmlns: 'http://jabber.org/protocol/url-data', target: 'https://x.example/doc.pdf' })));
    const pdf = parseMessage(xml('message', { from: 'bob@xmpp.test', type: 'chat', id: 's5' }, oddType), ctx()).event as { content: { attachments: { mime: string; name: string }[] } };
    assert.deepEqual(pdf.content.attachments.map((a) => [a.name, a.mime]), [['doc.pdf', 'application/pdf']]);
  });

  it('a described hash is checked after download', () => {
    const bytes = new TextEncoder().encode('the bytes');
    const good = { url: 'https://x.example/f', hash: { algo: 'sha256', base64: createHash('sha256').update(bytes).digest('base64') } };
    assert.doesNotThrow(() => checkHash(good, bytes));
    assert.throws(() => checkHash(good, new TextEncoder().encode('other bytes')), /does not match the sha256 hash/);
    assert.throws(() => parseRef(JSON.stringify({ url: 'file:///etc/passwd' })), /not an http/);
    assert.deepEqual(parseRef('https://x.example/plain'), { url: 'https://x.example/plain' });
  });

  it('downloads never reach loopback or private addresses unless allowed', async () => {
    await assert.rejects(getBytes(new URL('http://127.0.0.1:9/x.png'), { allowPrivate: false, timeoutMs: 1000, maxBytes: 10 }), OutboundRefused);
    await assert.rejects(getBytes(new URL('http://169.254.169.254/latest/meta-data'), { allowPrivate: false, timeoutMs: 1000, maxBytes: 10 }), OutboundRefused);
    await assert.rejects(getBytes(new URL('http://localhost:9/x'), { allowPrivate: false, timeoutMs: 1000, maxBytes: 10 }), /private or reserved/);
  });
});

describe('XMPP presence', () => {
  it("maps a contact's presence, and ignores our own, MUC occupants' and subscription requests", () => {
    const mucs = new Map([['room@conf.test', 'me']]);
    assert.deepEqual(contactPresence(xml('presence', { from: 'bob@xmpp.test/phone' }, xml('show', {}, 'dnd'), xml('status', {}, 'busy')), 'alice@xmpp.test', mucs), { type: 'presence', user: 'bob@xmpp.test', state: 'unavailable', status: 'busy' });
    assert.equal((contactPresence(xml('presence', { from: 'bob@xmpp.test/phone', type: 'unavailable' }), 'alice@xmpp.test', mucs) as { state: string }).state, 'offline');
    assert.equal((contactPresence(xml('presence', { from: 'bob@xmpp.test/phone' }), 'alice@xmpp.test', mucs) as { state: string }).state, 'online');
    assert.equal(contactPresence(xml('presence', { from: 'alice@xmpp.test/laptop' }), 'alice@xmpp.test', mucs), undefined);
    assert.equal(contactPresence(xml('presence', { from: 'room@conf.test/bob' }), 'alice@xmpp.test', mucs), undefined);
    assert.equal(contactPresence(xml('presence', { from: 'eve@xmpp.test', type: 'subscribe' }), 'alice@xmpp.test', mucs), undefined);
  });
});

describe('XMPP hostile nicks', () => {
  it('a MUC nick with control characters becomes a one-line name', () => {
    const c = ctx({ 'room@conf.test': 'me' });
    const ev = parseMessage(xml('message', { from: 'room@conf.test/evil\u0007nick\u2028two', type: 'groupchat', id: 'n1' }, xml('body', {}, 'hi')), c).event as { sender: { name: string } };
    assert.equal(ev.sender.name, 'evil nick two');
  });
});
