/**
 * XMPP end to end: real Synapse, real Prosody, the bridge as a child process. A Matrix
 * user logs in to their XMPP account through the bot and talks with an XMPP person
 * (using @xmpp/client) in a DM; a Matrix room is linked to a MUC through the relay
 * account. The conversation is printed as diagnostics: the transcript of both sides.
 */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { readFileSync, statSync } from 'node:fs';
import { after, before, describe, it, type TestContext } from 'node:test';
import type { Element } from '@xmpp/xml';
import { escapeLocalpart } from '../../core/ids.js';
import type { MatrixEvent, MatrixTestClient } from '../harness/matrix-client.js';
import { Stack } from '../harness/stack.js';
import { XmppPerson } from '../harness/xmpp-person.js';

// A 1x1 PNG.
const PNG = Buffer.from('iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8BQDwAEhQGAhKmMIQAAAABJRU5ErkJggg==', 'base64');
const NS = { correct: 'urn:xmpp:message-correct:0', reactions: 'urn:xmpp:reactions:0', retract: 'urn:xmpp:message-retract:1', reply: 'urn:xmpp:reply:0', sid: 'urn:xmpp:sid:0' };
const relatesTo = (e: MatrixEvent, rel: string) => {
  const r = e.content['m.relates_to'] as { rel_type?: string; event_id?: string } | undefined;
  return r?.rel_type === rel ? r.event_id : undefined;
};
const body = (st: Element) => st.getChildText('body');

describe('XMPP end to end through Synapse and Prosody', { timeout: 300_000 }, () => {
  let stack: Stack;
  let alice: MatrixTestClient;
  let dave: MatrixTestClient;
  let bob: XmppPerson;
  let dm: string;
  let lobby: string;
  let garden: string;
  const ghost = (remote: string) => `@_xmpp_${escapeLocalpart(remote)}:${stack.synapse.serverName}`;
  const log = (t: TestContext, line: string) => t.diagnostic(line);

  before(async () => {
    stack = await Stack.start({ xmpp: true });
    stack.prosody!.register('alice', 'alice-xmpp-pw');
    stack.prosody!.register('bob', 'bob-pw');
    stack.prosody!.register('carol', 'carol-pw');
    alice = await stack.user('alice');
    dave = await stack.user('dave');
    bob = await XmppPerson.connect(stack.prosody!, 'bob', 'bob-pw');
  });

  after(async () => {
    await bob?.stop();
    await alice?.stop();
    await dave?.stop();
    await stack?.stop();
  });

  it('login xmpp: keys instead of the password, which is redacted from the room', async (t) => {
    const mgmt = await alice.createRoom({ is_direct: true, invite: [stack.botUserId], preset: 'trusted_private_chat' });
    await alice.waitFor((e) => e.room_id === mgmt && e.state_key === stack.botUserId && e.content.membership === 'join', 'the bot joining');
    const answer = async (text: string) => {
      const sent = await alice.sendText(mgmt, text);
      const own = await alice.waitFor((e) => e.event_id === sent, 'our own message in the timeline');
      const i = alice.events.indexOf(own);
      const ev = await alice.waitFor((e) => e.room_id === mgmt && e.sender === stack.botUserId && e.type === 'm.room.message' && alice.events.indexOf(e) > i, `answer to ${text}`);
      return { sent, answer: String(ev.content.body) };
    };
    assert.match((await answer('login xmpp')).answer, /Send your XMPP address/);
    assert.match((await answer('alice@xmpp.test')).answer, /Send your password/);
    const { sent, answer: done } = await answer('alice-xmpp-pw');
    assert.equal(done, 'Logged in to xmpp as alice@xmpp.test. Your chats will appear as rooms when their messages arrive.');
    await alice.waitFor((e) => e.type === 'm.room.redaction' && e.redacts === sent, 'the password being redacted');
    log(t, 'alice (Matrix): login xmpp → alice@xmpp.test → (password, redacted) → "Logged in to xmpp as alice@xmpp.test"');
    // The login connects in the background: ask until it says so.
    const check = await alice.createRoom({ is_direct: true, invite: [stack.botUserId], preset: 'trusted_private_chat' });
    await alice.waitFor((e) => e.room_id === check && e.state_key === stack.botUserId && e.content.membership === 'join', 'the bot joining');
    let state = '';
    for (let i = 0; i < 30 && !/xmpp as alice@xmpp\.test: connected/.test(state); i++) {
      const sent = await alice.sendText(check, 'logins');
      const own = await alice.waitFor((e) => e.event_id === sent, 'our own message');
      const ev = await alice.waitFor((e) => e.room_id === check && e.sender === stack.botUserId && alice.events.indexOf(e) > alice.events.indexOf(own), 'the logins answer');
      state = String(ev.content.body);
      if (!/: connected/.test(state)) await new Promise((r) => setTimeout(r, 1000));
    }
    assert.match(state, /xmpp as alice@xmpp\.test: connected/);
  });

  it('a DM both ways, with corrections, replies, reactions and retractions', async (t) => {
    const first = await bob.say('alice@xmpp.test', 'hi alice, bob here on XMPP');
    log(t, `bob (XMPP) → alice: hi alice, bob here on XMPP`);
    dm = await alice.waitForInvite((_r, inviter) => inviter === ghost('bob@xmpp.test'));
    await alice.join(dm);
    const firstEv = await alice.waitFor((e) => e.room_id === dm && e.content.body === 'hi alice, bob here on XMPP', "bob's first message");
    assert.equal(firstEv.sender, ghost('bob@xmpp.test'));
    log(t, `  alice (Matrix) sees from ${firstEv.sender}: ${firstEv.content.body}`);

    await alice.reply(dm, firstEv.event_id, 'hello bob, from Matrix');
    const got = await bob.waitFor((s) => body(s) === 'hello bob, from Matrix', "alice's answer");
    assert.equal(got.getChild('reply', NS.reply)?.attrs.id, first, 'the reply names the message it answers');
    log(t, `alice (Matrix) → bob, replying: hello bob, from Matrix`);
    log(t, `  bob (XMPP) receives from ${got.attrs.from}: ${body(got)} (reply to ${first})`);

    await bob.say('alice@xmpp.test', 'hi alice, bob here on XMPP (corrected)', { children: [xmlEl('replace', { xmlns: NS.correct, id: first })] });
    const edit = await alice.waitFor((e) => relatesTo(e, 'm.replace') === firstEv.event_id, "bob's correction");
    assert.equal((edit.content['m.new_content'] as { body: string }).body, 'hi alice, bob here on XMPP (corrected)');
    log(t, 'bob (XMPP) corrects his message (XEP-0308) → Matrix edit');

    await bob.say('alice@xmpp.test', undefined, { children: [xmlEl('reactions', { xmlns: NS.reactions, id: first }, xmlEl('reaction', {}, '👍'))] });
    const aliceId = got.getChild('origin-id', NS.sid)?.attrs.id ?? got.attrs.id!;
    await bob.say('alice@xmpp.test', undefined, { children: [xmlEl('reactions', { xmlns: NS.reactions, id: aliceId }, xmlEl('reaction', {}, '🎉'))] });
    const aliceMsg = await alice.waitFor((e) => e.room_id === dm && e.content.body === 'hello bob, from Matrix', "alice's own message");
    const reaction = await alice.waitFor((e) => e.type === 'm.reaction' && relatesTo(e, 'm.annotation') === aliceMsg.event_id, "bob's reaction");
    assert.equal((reaction.content['m.relates_to'] as { key: string }).key, '🎉');
    log(t, "bob (XMPP) reacts 🎉 to alice's message (XEP-0444) → Matrix reaction");

    await alice.react(dm, firstEv.event_id, '❤️');
    const r = await bob.waitFor((s) => s.getChild('reactions', NS.reactions)?.attrs.id === first, "alice's reaction");
    assert.deepEqual(r.getChild('reactions', NS.reactions)!.getChildren('reaction').map((x) => x.text()), ['❤️']);
    log(t, "alice (Matrix) reacts ❤️ → bob receives <reactions> with ❤️");

    const editTarget = await alice.sendText(dm, 'typo hre');
    const typo = await bob.waitFor((s) => body(s) === 'typo hre', "alice's typo");
    await alice.edit(dm, editTarget, 'typo here');
    const correction = await bob.waitFor((s) => s.getChild('replace', NS.correct) !== undefined && body(s) === 'typo here', "alice's correction");
    assert.equal(correction.getChild('replace', NS.correct)!.attrs.id, typo.attrs.id);
    await alice.redact(dm, editTarget);
    const retraction = await bob.waitFor((s) => s.getChild('retract', NS.retract) !== undefined, "alice's retraction");
    assert.equal(retraction.getChild('retract', NS.retract)!.attrs.id, typo.attrs.id);
    log(t, 'alice (Matrix) edits and redacts → bob receives a correction and a retraction (XEP-0424)');

    await alice.sendHtml(dm, 'bold and code', '<strong>bold</strong> and <code>code</code>');
    await bob.waitFor((s) => body(s) === '*bold* and `code`', "alice's formatting as XEP-0393 styling");
    const styledId = await bob.say('alice@xmpp.test', 'this is _really_ *good*');
    const styled = await alice.waitFor((e) => e.room_id === dm && e.content.body === 'this is _really_ *good*', "bob's styled message");
    assert.equal(styled.content.formatted_body, 'this is <em>_really_</em> <strong>*good*</strong>');
    log(t, 'formatting: Matrix <strong>bold</strong> → XMPP *bold*; XMPP _really_ *good* → Matrix <em>/<strong> (directives kept, as XEP-0393 asks)');

    // Read markers (XEP-0333) <-> read receipts.
    await bob.send(xmlEl('message', { to: 'alice@xmpp.test', type: 'chat' }, xmlEl('displayed', { xmlns: 'urn:xmpp:chat-markers:0', id: aliceId })));
    await until(() => alice.ephemeral.some((e) => e.room_id === dm && e.type === 'm.receipt' && Object.keys((e.content[aliceMsg.event_id] as { 'm.read'?: object } | undefined)?.['m.read'] ?? {}).includes(ghost('bob@xmpp.test'))), "bob's read marker as a read receipt");
    await alice.request('POST', `/_matrix/client/v3/rooms/${encodeURIComponent(dm)}/receipt/m.read/${encodeURIComponent(styled.event_id)}`, {});
    const marker = await bob.waitFor((s) => s.getChild('displayed', 'urn:xmpp:chat-markers:0') !== undefined, "alice's read receipt as a displayed marker");
    assert.equal(marker.getChild('displayed', 'urn:xmpp:chat-markers:0')!.attrs.id, styledId, 'the marker names the message alice read');
    log(t, 'read: bob displayed-marker → Matrix read receipt from his ghost; alice read receipt → bob gets <displayed/>');

    await bob.say('alice@xmpp.test', undefined, { children: [xmlEl('retract', { xmlns: NS.retract, id: first })] });
    await alice.waitFor((e) => e.type === 'm.room.redaction' && e.redacts === firstEv.event_id, "bob's retraction");
    log(t, 'bob (XMPP) retracts his first message → Matrix redaction');
  });

  it('files both ways: Matrix media through HTTP File Upload, XMPP OOB links re-hosted on Matrix', async (t) => {
    const mxc = await alice.upload(new Uint8Array(PNG), 'image/png', 'dot.png');
    await alice.send(dm, 'm.room.message', { msgtype: 'm.image', body: 'dot.png', url: mxc, info: { mimetype: 'image/png', size: PNG.length } });
    const fileMsg = await bob.waitFor((s) => s.getChild('x', 'jabber:x:oob') !== undefined, "alice's image as an OOB link");
    const url = fileMsg.getChild('x', 'jabber:x:oob')!.getChildText('url')!;
    assert.equal(body(fileMsg), url, 'the body is the link, so clients show the image inline');
    assert.deepEqual(Buffer.from(await (await fetch(url)).arrayBuffer()), PNG);
    log(t, `alice (Matrix) sends dot.png → bob gets ${url} (uploaded with XEP-0363)`);

    await bob.say('alice@xmpp.test', url, { children: [xmlEl('x', { xmlns: 'jabber:x:oob' }, xmlEl('url', {}, url))] });
    const image = await alice.waitFor((e) => e.room_id === dm && e.sender === ghost('bob@xmpp.test') && e.content.msgtype === 'm.image', "bob's image on Matrix");
    const got = await alice.download(String(image.content.url));
    assert.deepEqual(Buffer.from(got.bytes), PNG);
    log(t, `bob (XMPP) sends the link → alice gets an m.image re-hosted at ${image.content.url}`);

    // Stateless file sharing (XEP-0447): no body, a description with a hash; then one whose hash is wrong.
    const share = (name: string, hash: string) => xmlEl('file-sharing', { xmlns: 'urn:xmpp:sfs:0', disposition: 'inline' },
      xmlEl('file', { xmlns: 'urn:xmpp:file:metadata:0' }, xmlEl('media-type', {}, 'image/png'), xmlEl('name', {}, name), xmlEl('size', {}, String(PNG.length)), xmlEl('dimensions', {}, '1x1'),
        xmlEl('hash', { xmlns: 'urn:xmpp:hashes:2', algo: 'sha-256' }, hash)),
      xmlEl('sources', {}, xmlEl('url-data', { xmlns: 'http://jabber.org/protocol/url-data', target: url })));
    await bob.say('alice@xmpp.test', undefined, { children: [share('shared.png', createHash('sha256').update(PNG).digest('base64'))] });
    const shared = await alice.waitFor((e) => e.room_id === dm && e.content.msgtype === 'm.image' && e.content.body === 'shared.png', "bob's shared file (SFS) on Matrix");
    assert.deepEqual(Buffer.from((await alice.download(String(shared.content.url))).bytes), PNG);
    assert.deepEqual(shared.content.info, { mimetype: 'image/png', size: PNG.length, w: 1, h: 1 });
    log(t, `bob (XMPP) shares shared.png with XEP-0447 (sha-256 given) → alice gets m.image "${shared.content.body}" ${shared.content.url}`);
    await bob.say('alice@xmpp.test', undefined, { children: [share('forged.png', createHash('sha256').update('something else').digest('base64'))] });
    const refused = await alice.waitFor((e) => e.room_id === dm && String(e.content.body).startsWith('[image forged.png could not be bridged'), 'the forged file refused');
    assert.match(String(refused.content.body), /does not match the sha256 hash/);
    log(t, `bob shares forged.png whose hash does not match → alice sees: ${refused.content.body}`);
  });

  it("a new contact's vCard name and avatar become their ghost's profile", async (t) => {
    const setup = await XmppPerson.connect(stack.prosody!, 'carol', 'carol-pw');
    await setup.send(xmlEl('iq', { type: 'set', id: 'vc1' }, xmlEl('vCard', { xmlns: 'vcard-temp' }, xmlEl('FN', {}, 'Carol Jones'),
      xmlEl('PHOTO', {}, xmlEl('TYPE', {}, 'image/png'), xmlEl('BINVAL', {}, PNG.toString('base64'))))));
    await setup.waitFor((s) => s.is('iq') && s.attrs.id === 'vc1', 'the vCard being stored');
    // @xmpp/client 0.14's stream management miscounts after this iq and Prosody drops the
    // stream ("client says it handled 2 new stanzas, but we sent 1"): write from a fresh one.
    await setup.stop();
    const carol = await XmppPerson.connect(stack.prosody!, 'carol', 'carol-pw');
    await carol.say('alice@xmpp.test', 'hello from carol');
    const invite = await alice.waitForInvite((_r, inviter) => inviter === ghost('carol@xmpp.test'));
    await alice.join(invite);
    await alice.waitFor((e) => e.room_id === invite && e.content.body === 'hello from carol', "carol's message");
    const profile = await alice.profile(ghost('carol@xmpp.test'));
    assert.equal(profile.displayname, 'Carol Jones');
    assert.ok(profile.avatar_url?.startsWith('mxc://'), 'the vCard photo is the ghost avatar');
    assert.deepEqual(Buffer.from((await alice.download(profile.avatar_url!)).bytes), PNG);
    log(t, `carol (XMPP, vCard "Carol Jones" with a photo) writes → ${ghost('carol@xmpp.test')} is "${profile.displayname}" with avatar ${profile.avatar_url}`);
    await carol.stop();
  });

  it('what alice writes from her other XMPP client (carbons) appears in the portal, clearly marked', async (t) => {
    const aliceApp = await XmppPerson.connect(stack.prosody!, 'alice', 'alice-xmpp-pw');
    await aliceApp.say('bob@xmpp.test', 'sent from my phone');
    const notice = await alice.waitFor((e) => e.room_id === dm && String(e.content.body).endsWith('sent from my phone'), 'the carbon copy in the portal');
    assert.equal(notice.content.msgtype, 'm.notice');
    assert.equal(notice.content.body, 'You, from another XMPP client: sent from my phone');
    await bob.waitFor((s) => body(s) === 'sent from my phone', 'the message itself reaching bob');
    await aliceApp.stop();
    log(t, `alice writes to bob from another XMPP client → the DM shows (from ${notice.sender}): ${notice.content.body}`);
  });

  it('a Matrix room linked to a MUC through the relay account', async (t) => {
    const room = 'lobby@conference.xmpp.test';
    await bob.joinMuc(room, 'bob');
    const matrixRoom = await alice.createRoom({ name: 'Lobby', preset: 'public_chat', invite: [stack.botUserId] });
    lobby = matrixRoom;
    await alice.waitFor((e) => e.room_id === matrixRoom && e.state_key === stack.botUserId && e.content.membership === 'join', 'the bot joining');
    await dave.join(matrixRoom);
    await alice.sendText(matrixRoom, `link xmpp ${room}`);
    // alice has her own XMPP login, so it is used; the room is joined as alice.
    const linked = await alice.waitFor((e) => e.room_id === matrixRoom && e.sender === stack.botUserId && /^Linked/.test(String(e.content.body)), 'the link answer');
    log(t, `alice (Matrix): link xmpp ${room}`);
    log(t, `  bot: ${linked.content.body}`);

    await bob.say(room, 'hello Matrix, from the MUC', { type: 'groupchat' });
    const seen = await alice.waitFor((e) => e.room_id === matrixRoom && e.content.body === 'hello Matrix, from the MUC', "bob's MUC message");
    assert.equal(seen.sender, ghost(`${room}/bob`));
    log(t, `bob (MUC ${room}) → hello Matrix, from the MUC`);
    log(t, `  Matrix room sees from ${seen.sender}: ${seen.content.body}`);

    await dave.sendText(matrixRoom, 'hi bob, I am on Matrix without XMPP');
    const relayed = await bob.waitFor((s) => s.attrs.type === 'groupchat' && (body(s) ?? '').endsWith('hi bob, I am on Matrix without XMPP'), "dave's relayed message");
    log(t, `dave (Matrix, no XMPP login) → relayed into the MUC as ${relayed.attrs.from}: ${body(relayed)}`);
    assert.match(String(relayed.attrs.from), new RegExp(`^${room}/`));
    assert.equal(body(relayed), '*dave*: hi bob, I am on Matrix without XMPP', 'the relayed name in bold, as XEP-0393 styling');

    // Occupants who come and go are ghosts joining and leaving, not text.
    const carol = await XmppPerson.connect(stack.prosody!, 'carol', 'carol-pw');
    await carol.joinMuc(room, 'carol');
    const carolGhost = ghost(`${room}/carol`);
    await alice.waitFor((e) => e.room_id === matrixRoom && e.type === 'm.room.member' && e.state_key === carolGhost && e.content.membership === 'join', "carol's ghost joining");
    await carol.stop();
    await alice.waitFor((e) => e.room_id === matrixRoom && e.type === 'm.room.member' && e.state_key === carolGhost && e.content.membership === 'leave', "carol's ghost leaving");
    log(t, `carol joins and leaves the MUC → ${carolGhost} joins and leaves the Matrix room`);
  });

  it('room life both ways: subject and topic, a nick change, a kick; typing and contact presence in the DM', async (t) => {
    const room = 'lobby@conference.xmpp.test';
    const admin = (nick: string, role: string) => xmlEl('iq', { type: 'set', to: room, id: `role-${nick}` }, xmlEl('query', { xmlns: 'http://jabber.org/protocol/muc#admin' }, xmlEl('item', { nick, role })));
    // bob created the room, so he owns it; the bridge's occupants may change the subject as moderators.
    for (const nick of ['alice', 'Switchboard']) {
      await bob.send(admin(nick, 'moderator'));
      await bob.waitFor((s) => s.is('iq') && s.attrs.id === `role-${nick}`, `${nick} made moderator`);
    }
    // The room's topic is the bot's to set only with power 50 there (alice grants it, as an admin linking a room would).
    const levels = await alice.request<{ users?: Record<string, number> }>('GET', `/_matrix/client/v3/rooms/${encodeURIComponent(lobby)}/state/m.room.power_levels/`);
    await alice.setState(lobby, 'm.room.power_levels', { ...levels, users: { ...levels.users, [stack.botUserId]: 50 } });
    await bob.send(xmlEl('message', { to: room, type: 'groupchat' }, xmlEl('subject', {}, 'Garden party on Sunday')));
    const topic = await alice.waitFor((e) => e.room_id === lobby && e.type === 'm.room.topic' && e.content.topic === 'Garden party on Sunday', 'the subject as the room topic');
    log(t, `bob sets the MUC subject → Matrix m.room.topic "${topic.content.topic}" (by ${topic.sender})`);
    await alice.setState(lobby, 'm.room.topic', { topic: 'Garden party moved to Monday' });
    const subject = await bob.waitFor((s) => s.getChildText('subject') === 'Garden party moved to Monday', 'the topic as the MUC subject');
    log(t, `alice sets the Matrix topic → the MUC subject, from ${subject.attrs.from}`);

    // carol came and went in the test before: only membership from now on counts.
    const from = alice.events.length;
    const member = (nick: string, membership: string) => (e: MatrixEvent) =>
      alice.events.indexOf(e) >= from && e.room_id === lobby && e.type === 'm.room.member' && e.state_key === ghost(`${room}/${nick}`) && e.content.membership === membership;
    const carol = await XmppPerson.connect(stack.prosody!, 'carol', 'carol-pw', { streamManagement: false });
    await carol.joinMuc(room, 'carol');
    await alice.waitFor(member('carol', 'join'), "carol's ghost joining");
    await carol.send(xmlEl('presence', { to: `${room}/caroline` }));
    await alice.waitFor(member('carol', 'leave'), "the old nick's ghost leaving");
    await alice.waitFor(member('caroline', 'join'), "the new nick's ghost joining");
    log(t, 'carol renames herself caroline in the MUC → her old ghost leaves, a ghost for caroline joins');
    await bob.send(xmlEl('iq', { type: 'set', to: room, id: 'kick' }, xmlEl('query', { xmlns: 'http://jabber.org/protocol/muc#admin' }, xmlEl('item', { nick: 'caroline', role: 'none' }, xmlEl('reason', {}, 'party is over')))));
    await alice.waitFor(member('caroline', 'leave'), "the kicked occupant's ghost leaving");
    log(t, 'bob kicks caroline → her ghost leaves the Matrix room');
    await carol.stop();

    // Typing (XEP-0085), both ways.
    await bob.send(xmlEl('message', { to: 'alice@xmpp.test', type: 'chat' }, xmlEl('composing', { xmlns: 'http://jabber.org/protocol/chatstates' })));
    await until(() => alice.ephemeral.some((e) => e.room_id === dm && e.type === 'm.typing' && (e.content.user_ids as string[]).includes(ghost('bob@xmpp.test'))), "bob typing in the DM");
    await alice.typing(dm, true);
    await bob.waitFor((s) => s.getChild('composing', 'http://jabber.org/protocol/chatstates') !== undefined && String(s.attrs.from).startsWith('alice@xmpp.test/'), 'alice typing');
    log(t, 'typing: bob <composing/> → Matrix typing from his ghost; alice types → bob gets <composing/>');

    // A contact's presence: alice subscribes to bob from her other client, bob agrees, then goes away.
    const aliceApp = await XmppPerson.connect(stack.prosody!, 'alice', 'alice-xmpp-pw', { streamManagement: false });
    await aliceApp.send(xmlEl('presence', { to: 'bob@xmpp.test', type: 'subscribe' }));
    await bob.waitFor((s) => s.is('presence') && s.attrs.type === 'subscribe', "alice's subscription request");
    await bob.send(xmlEl('presence', { to: 'alice@xmpp.test', type: 'subscribed' }));
    await bob.send(xmlEl('presence', {}, xmlEl('show', {}, 'away'), xmlEl('status', {}, 'gardening')));
    let seen = '';
    await until(() => {
      void alice.request('GET', `/_matrix/client/v3/presence/${encodeURIComponent(ghost('bob@xmpp.test'))}/status`).then((p) => { seen = JSON.stringify(p); }, () => undefined);
      return /"presence":"unavailable"/.test(seen);
    }, "bob's ghost away on Matrix", 30_000);
    log(t, `bob goes away ("gardening") → his ghost's Matrix presence: ${seen}`);
    await aliceApp.stop();
  });

  it("alice's Matrix presence reaches XMPP: her other clients and the MUC she is in", async (t) => {
    const aliceApp = await XmppPerson.connect(stack.prosody!, 'alice', 'alice-xmpp-pw', { streamManagement: false });
    const room = 'lobby@conference.xmpp.test';
    const away = (st: Element) => st.is('presence') && st.getChildText('show') === 'away' && st.getChildText('status') === 'in a meeting';
    await alice.setPresence('unavailable', 'in a meeting');
    const inRoom = await bob.waitFor((st) => away(st) && st.attrs.from === `${room}/alice`, "alice's away presence in the MUC", 30_000);
    const broadcast = await aliceApp.waitFor((st) => away(st) && String(st.attrs.from).startsWith('alice@xmpp.test/switchboard-'), "alice's away presence at her other client");
    log(t, `alice (Matrix) sets presence unavailable "in a meeting" → MUC occupant ${inRoom.attrs.from}: show=away status="in a meeting"; her phone sees ${broadcast.attrs.from} away`);
    // After the away presence, an available one. (Alice's own /sync may set her online again
    // before the request below does; either way the MUC hears it after the away one.)
    const awayAt = bob.stanzas.indexOf(inRoom);
    await alice.setPresence('online');
    const back = await bob.waitFor((st) => bob.stanzas.indexOf(st) > awayAt && st.is('presence') && st.attrs.from === `${room}/alice` && !st.getChild('show'), "alice's presence back online in the MUC", 30_000);
    assert.equal(back.attrs.type, undefined);
    log(t, 'alice (Matrix) back online → MUC occupant available again (no <show/>)');
    await aliceApp.stop();
  });

  it('messages sent while the bridge was down (SIGKILL) arrive once and in order after it restarts (MAM)', async (t) => {
    const room = 'lobby@conference.xmpp.test';
    // Let the archive positions of what came before be saved.
    await new Promise((r) => setTimeout(r, 1_500));
    assert.equal(await stack.bridge.stop('SIGKILL'), 'SIGKILL');
    const logFrom = statSync(stack.synapse.logFile).size;
    for (let i = 1; i <= 3; i++) await bob.say('alice@xmpp.test', `while the bridge was down ${i}`);
    for (let i = 1; i <= 2; i++) await bob.say(room, `MUC while the bridge was down ${i}`, { type: 'groupchat' });
    log(t, 'bridge killed; bob sent 3 DMs and 2 MUC messages; bridge restarted');
    await stack.bridge.start();
    const dmTexts = (await waitAll(alice, dm, (b) => b.startsWith('while the bridge was down'), 3)).map((e) => e.content.body);
    assert.deepEqual(dmTexts, ['while the bridge was down 1', 'while the bridge was down 2', 'while the bridge was down 3']);
    const mucTexts = (await waitAll(alice, lobby, (b) => b.startsWith('MUC while the bridge was down'), 2)).map((e) => e.content.body);
    assert.deepEqual(mucTexts, ['MUC while the bridge was down 1', 'MUC while the bridge was down 2']);
    // Nothing twice: a little later there are still exactly these.
    await new Promise((r) => setTimeout(r, 1_500));
    assert.equal(alice.events.filter((e) => String(e.content?.body ?? '').startsWith('while the bridge was down')).length, 3);
    assert.equal(alice.events.filter((e) => String(e.content?.body ?? '').startsWith('MUC while the bridge was down')).length, 2);
    for (const b of [...dmTexts, ...mucTexts]) log(t, `  alice (Matrix) sees: ${b}`);
    // The restarted bridge knew its ghosts and their rooms (its store): no registration, join or invite asked again.
    const requests = readFileSync(stack.synapse.logFile, 'utf8').slice(logFrom).split('\n').filter((l) => /"(POST|PUT) \/_matrix\/client\/v3\/(register|join|rooms\/[^/]+\/(join|invite))/.test(l));
    assert.deepEqual(requests, [], 'membership requests after the restart');
  });

  it('after Prosody restarts, the bridge reconnects by itself and messages flow again', async (t) => {
    await stack.prosody!.stop();
    await bob.stop();
    await stack.prosody!.start();
    bob = await XmppPerson.connect(stack.prosody!, 'bob', 'bob-pw');
    log(t, 'Prosody restarted; bob reconnected');
    // The bridge reconnects with backoff; bob's message reaches alice once it has (MAM covers the gap).
    await bob.say('alice@xmpp.test', 'after the Prosody restart');
    await alice.waitFor((e) => e.room_id === dm && e.content.body === 'after the Prosody restart', "bob's message after the restart", 60_000);
    await alice.sendText(dm, 'still here');
    await bob.waitFor((s) => body(s) === 'still here', "alice's message after the restart", 60_000);
    log(t, '  both directions work again');
  });

  it("a person's autojoin bookmark becomes their group portal, where they speak with their own nick", async (t) => {
    const room = 'book@conference.xmpp.test';
    await bob.joinMuc(room, 'bob');
    // alice bookmarks the room from another XMPP client (XEP-0048 storage; Prosody mirrors it to XEP-0402).
    const aliceApp = await XmppPerson.connect(stack.prosody!, 'alice', 'alice-xmpp-pw');
    await aliceApp.send(xmlEl('iq', { type: 'set', id: 'bm1' }, xmlEl('query', { xmlns: 'jabber:iq:private' },
      xmlEl('storage', { xmlns: 'storage:bookmarks' }, xmlEl('conference', { jid: room, autojoin: 'true', name: 'Book club' }, xmlEl('nick', {}, 'alice'))))));
    await aliceApp.waitFor((s) => s.is('iq') && s.attrs.id === 'bm1', 'the bookmark being stored');
    await aliceApp.stop();
    // Bookmarks are read when the login connects.
    await stack.bridge.stop('SIGTERM');
    await stack.bridge.start();
    await bob.waitFor((s) => s.is('presence') && s.attrs.from === `${room}/alice`, "alice's login joining the bookmarked room", 60_000);
    await bob.say(room, 'welcome to the book club', { type: 'groupchat' });
    const invite = await alice.waitForInvite((roomId) => alice.invites.get(roomId)?.state.some((e) => e.type === 'm.room.name' && e.content.name === 'book') ?? false, 60_000);
    await alice.join(invite);
    await alice.waitFor((e) => e.room_id === invite && e.content.body === 'welcome to the book club', "bob's message in the bookmarked room");
    await alice.sendText(invite, 'thanks, bob');
    const mine = await bob.waitFor((s) => s.attrs.type === 'groupchat' && body(s) === 'thanks, bob', "alice's message in the MUC");
    assert.equal(mine.attrs.from, `${room}/alice`, 'alice speaks with her own nick, not through the relay');
    log(t, `bookmark ${room} (autojoin) → alice's login joins as "alice"; bob's message → new portal room; alice's answer → ${mine.attrs.from}`);
  });

  it('open xmpp <MUC>: alice asks the bot for a room she is not in yet, and speaks there with her own nick', async (t) => {
    const room = 'garden@conference.xmpp.test';
    await bob.joinMuc(room, 'bob');
    const mgmt = await alice.createRoom({ is_direct: true, invite: [stack.botUserId], preset: 'trusted_private_chat' });
    await alice.waitFor((e) => e.room_id === mgmt && e.state_key === stack.botUserId && e.content.membership === 'join', 'the bot joining');
    const sent = await alice.sendText(mgmt, `open xmpp ${room}`);
    await alice.waitFor((e) => e.event_id === sent, 'our own command in the timeline');
    const answer = await alice.waitFor((e) => e.room_id === mgmt && e.sender === stack.botUserId && /^I opened a room/.test(String(e.content.body)), 'the answer to open', 30_000);
    const portalRoom = /\((![^)]+)\)\.$/.exec(String(answer.content.body))?.[1];
    assert.ok(portalRoom, `the answer names the room: ${answer.content.body}`);
    await bob.waitFor((s) => s.is('presence') && s.attrs.from === `${room}/alice`, "alice's login joining the MUC");
    await alice.waitForInvite((roomId) => roomId === portalRoom);
    await alice.join(portalRoom);
    await bob.say(room, 'the roses are out', { type: 'groupchat' });
    await alice.waitFor((e) => e.room_id === portalRoom && e.content.body === 'the roses are out', "bob's message in the opened room");
    await alice.sendText(portalRoom, 'lovely');
    const mine = await bob.waitFor((s) => s.attrs.type === 'groupchat' && body(s) === 'lovely', "alice's message in the MUC");
    assert.equal(mine.attrs.from, `${room}/alice`);
    log(t, `alice (Matrix): open xmpp ${room} → bot: ${answer.content.body}`);
    log(t, `bob in the MUC: "the roses are out" → alice's new room; alice: "lovely" → the MUC as ${mine.attrs.from}`);
    garden = portalRoom;
  });

  it('an edit made after a bridge restart is a correction naming the id the MUC message was sent with', async (t) => {
    const room = 'garden@conference.xmpp.test';
    const sent = await alice.sendText(garden, 'the tulips are out');
    const original = await bob.waitFor((s) => s.attrs.type === 'groupchat' && body(s) === 'the tulips are out', "alice's message in the MUC");
    await stack.bridge.stop('SIGTERM');
    await stack.bridge.start();
    await alice.send(garden, 'm.room.message', { msgtype: 'm.text', body: '* the tulips are over', 'm.new_content': { msgtype: 'm.text', body: 'the tulips are over' }, 'm.relates_to': { rel_type: 'm.replace', event_id: sent } });
    const correction = await bob.waitFor((s) => s.attrs.type === 'groupchat' && body(s) === 'the tulips are over', 'the correction', 60_000);
    assert.equal(correction.attrs.from, `${room}/alice`);
    assert.equal(correction.getChild('replace', NS.correct)?.attrs.id, original.attrs.id, 'the correction names the id attribute, not the stanza id');
    log(t, `alice: "the tulips are out" (id ${original.attrs.id}) → bridge restarts → alice edits → bob gets a correction of ${original.attrs.id}: "${body(correction)}"`);
  });
});

/** Poll a condition the sync loop will make true. */
async function until(check: () => boolean, what: string, timeoutMs = 20_000): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** Wait until `count` messages matching `match` are in the room; returns them in timeline order. */
async function waitAll(client: MatrixTestClient, room: string, match: (body: string) => boolean, count: number): Promise<MatrixEvent[]> {
  const pick = () => client.events.filter((e) => e.room_id === room && e.type === 'm.room.message' && match(String(e.content.body ?? '')));
  await client.waitFor(() => pick().length >= count, `${count} messages in ${room}`, 60_000);
  return pick();
}

import xmlFactory from '@xmpp/xml';
function xmlEl(name: string, attrs: Record<string, string>, ...children: (Element | string)[]): Element {
  return xmlFactory(name, attrs, ...children);
}
