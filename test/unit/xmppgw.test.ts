/** The XMPP federation gateway's pure parts: addresses, config, the gate, a person's contacts, the iqs it answers. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import xml from '@xmpp/xml';
import { aliasOfLocalpart, escapeLocal, localpartOfAlias, localpartOfMatrixUser, matrixUserOfLocalpart, unescapeLocal } from '../../bridges/xmppgw/addresses.js';
import { cleanNick, HostedRoom } from '../../bridges/xmppgw/muc/room.js';
import { parseQuery, selectPage, type Archived } from '../../bridges/xmppgw/muc/archive.js';
import { parseGatewayConfig } from '../../bridges/xmppgw/config.js';
import { Contacts } from '../../bridges/xmppgw/contacts.js';
import { Gate } from '../../bridges/xmppgw/gate.js';
import { serviceIq } from '../../bridges/xmppgw/service.js';

const RUNS = Number(process.env.FUZZ_RUNS ?? 1000);
const base = { component: 'matrix.example.org', server: '127.0.0.1:5347', secret: 'a-long-secret' };

describe('gateway addresses (XEP-0106)', () => {
  it('maps Matrix IDs to addresses and back', () => {
    assert.equal(localpartOfMatrixUser('@alice:example.org'), 'alice\\40example.org');
    assert.equal(localpartOfMatrixUser('@a/b:example.org:8448'), 'a\\2fb\\40example.org\\3a8448');
    assert.equal(matrixUserOfLocalpart('alice\\40example.org'), '@alice:example.org');
    assert.equal(matrixUserOfLocalpart('a\\2fb\\40example.org\\3a8448'), '@a/b:example.org:8448');
    // An old-style localpart with an @ in it: split at the last one.
    assert.equal(matrixUserOfLocalpart(localpartOfMatrixUser('@we@ird:example.org')), '@we@ird:example.org');
  });

  it('refuses what would not be one address per user', () => {
    assert.throws(() => localpartOfMatrixUser('@Alice:example.org'), /upper-case/);
    assert.throws(() => localpartOfMatrixUser('alice:example.org'), /not a Matrix user ID/);
    assert.throws(() => localpartOfMatrixUser(`@${'a'.repeat(1100)}:example.org`), /too long/);
    assert.equal(matrixUserOfLocalpart('bob'), undefined, 'no @: not a Matrix user');
    assert.equal(matrixUserOfLocalpart('alice@example.org'), undefined, 'unescaped: not the canonical spelling');
  });

  it('escapes reversibly (generated; @xmpp/jid trims white space at the ends, which no Matrix ID has)', () => {
    fc.assert(fc.property(fc.string({ unit: 'grapheme-ascii', maxLength: 60 }).filter((x) => x.trim() === x), (x) => {
      assert.equal(unescapeLocal(escapeLocal(x)), x);
      assert.doesNotMatch(escapeLocal(x), /[ "&'/:<>@]/);
    }), { numRuns: RUNS });
    assert.equal(escapeLocal('a\\b'), 'a\\5cb');
    assert.equal(unescapeLocal(escapeLocal('a\\40b')), 'a\\40b');
  });

  it('round-trips every valid Matrix ID (generated)', () => {
    const local = fc.string({ unit: fc.constantFrom(...'abcdefghijklmnopqrstuvwxyz0123456789._=-/+@"&\'<>\\'.split('')), minLength: 1, maxLength: 40 });
    const server = fc.constantFrom('example.org', 'matrix.example.org:8448', '127.0.0.1:8008', '[::1]:8448');
    fc.assert(fc.property(local, server, (l, s) => {
      const id = `@${l}:${s}`;
      assert.equal(matrixUserOfLocalpart(localpartOfMatrixUser(id)), id);
    }), { numRuns: RUNS });
  });
});

describe('hosted rooms', () => {
  it('room aliases are MUC addresses and back', () => {
    assert.equal(localpartOfAlias('#lounge:example.org'), 'lounge\\40example.org');
    assert.equal(aliasOfLocalpart('lounge\\40example.org'), '#lounge:example.org');
    assert.equal(aliasOfLocalpart('lounge'), undefined);
    assert.throws(() => localpartOfAlias('#Lounge:example.org'), /upper-case/);
  });

  it('Matrix members get unique nicks from their display names, one line each', () => {
    const room = new HostedRoom('r@muc.example.org', '', undefined);
    room.xmpp.set('sam', { nick: 'sam', full: 'sam@x.example/phone', bare: 'sam@x.example' });
    assert.deepEqual(room.matrixNick('@sam:example.org', 'sam', 'a'), { nick: 'sam (@sam:example.org)', added: true });
    assert.deepEqual(room.matrixNick('@sam:example.org', 'renamed', 'a'), { nick: 'sam (@sam:example.org)', added: false });
    assert.equal(room.matrixNick('@eve:example.org', 'Eve\nBob: hi', 'b').nick, 'Eve Bob: hi');
    assert.equal(cleanNick('x'.repeat(100)).length, 64);
    assert.equal(cleanNick('a\u0000b\u200bc\ue000d\u{10ffff}e'), 'abcde', 'controls, format, private-use and non-characters go');
    assert.equal(cleanNick('Zoë 🎉'), 'Zoë 🎉');
    assert.equal(cleanNick('e\u0301'), '\u00e9', 'NFC');
    assert.ok(room.nickTaken('sam') && room.nickTaken('Eve Bob: hi') && !room.nickTaken('nobody'));
    // A message sent again gets the same stanza id (taken once); another sender's same id does not.
    assert.equal(room.stanzaIdFor('sam@x.example', 'abc'), room.stanzaIdFor('sam@x.example', 'abc'));
    assert.notEqual(room.stanzaIdFor('sam@x.example', 'abc'), room.stanzaIdFor('eve@x.example', 'abc'));
    assert.notEqual(room.stanzaIdFor('sam@x.example', 'abc'), new HostedRoom('other@muc.example.org', '', undefined).stanzaIdFor('sam@x.example', 'abc'));
    const self = room.presence('sam', 'sam@x.example/phone', 'sam@x.example/phone', { self: true });
    assert.deepEqual(self.getChild('x')!.getChildren('status').map((c) => c.attrs.code), ['110', '100']);
  });
});

describe('hosted room archive (MAM paging)', () => {
  const all: Archived[] = Array.from({ length: 7 }, (_, i) => ({ id: `m${i}`, timestamp: 1000 * i, stanza: xml('message') }));
  const q = (children: ReturnType<typeof xml>[]) => parseQuery(xml('query', { xmlns: 'urn:xmpp:mam:2', queryid: 'x' }, ...children));
  const rsm = (...c: ReturnType<typeof xml>[]) => xml('set', { xmlns: 'http://jabber.org/protocol/rsm' }, ...c);
  const ids = (p: { items: Archived[] }) => p.items.map((m) => m.id).join(' ');

  it('pages forwards with after, backwards with before, and filters by time', () => {
    assert.equal(ids(selectPage(all, q([rsm(xml('max', {}, '3'))]))), 'm0 m1 m2');
    const next = selectPage(all, q([rsm(xml('max', {}, '3'), xml('after', {}, 'm2'))]));
    assert.equal(ids(next), 'm3 m4 m5');
    assert.equal(next.complete, false);
    assert.equal(selectPage(all, q([rsm(xml('after', {}, 'm5'))])).complete, true);
    assert.equal(ids(selectPage(all, q([rsm(xml('max', {}, '2'), xml('before'))]))), 'm5 m6', 'an empty <before/> is the last page');
    assert.equal(ids(selectPage(all, q([rsm(xml('max', {}, '2'), xml('before', {}, 'm5'))]))), 'm3 m4');
    const form = xml('x', { xmlns: 'jabber:x:data', type: 'submit' }, xml('field', { var: 'start' }, xml('value', {}, new Date(2000).toISOString())), xml('field', { var: 'end' }, xml('value', {}, new Date(4000).toISOString())));
    assert.equal(ids(selectPage(all, q([form]))), 'm2 m3 m4');
  });

  it('refuses what it cannot answer', () => {
    assert.throws(() => selectPage(all, q([rsm(xml('after', {}, 'nope'))])), /item-not-found/);
    assert.throws(() => q([rsm(xml('max', {}, '-1'))]), /max/);
    assert.throws(() => q([xml('x', { xmlns: 'jabber:x:data' }, xml('field', { var: 'with' }, xml('value', {}, 'a@b')))]), /with/);
    assert.equal(q([rsm(xml('max', {}, '100000'))]).max, 250);
  });
});

describe('gateway config', () => {
  it('has safe defaults and names a bad key', () => {
    const c = parseGatewayConfig(base);
    assert.equal(c.allowServers, '*');
    assert.equal(c.subscriptions, 'ask');
    assert.deepEqual(c.rateLimits, { perJid: { stanzas: 20, windowS: 10 }, perServer: { stanzas: 200, windowS: 10 } });
    assert.throws(() => parseGatewayConfig({ ...base, nope: 1 }), /unknown key\(s\) nope/);
    assert.throws(() => parseGatewayConfig({ ...base, secret: 'short' }), /^Error: secret:/);
    assert.throws(() => parseGatewayConfig({ ...base, server: 'localhost' }), /^Error: server:/);
    assert.throws(() => parseGatewayConfig({ ...base, subscriptions: 'maybe' }), /^Error: subscriptions:/);
    assert.throws(() => parseGatewayConfig({ ...base, block_jids: ['not a jid'] }), /block_jids\[0\]/);
    assert.throws(() => parseGatewayConfig({ ...base, rate_limits: { per_jid: { stanzas: 0 } } }), /rate_limits\.per_jid\.stanzas/);
    assert.deepEqual(parseGatewayConfig({ ...base, muc: { component: 'muc.matrix.example.org' } }).muc, { component: 'muc.matrix.example.org', secret: 'a-long-secret', history: 20 });
    assert.throws(() => parseGatewayConfig({ ...base, muc: { component: 'muc.matrix.example.org', history: 5000 } }), /muc\.history/);
    assert.throws(() => parseGatewayConfig({ ...base, muc: { component: 'matrix.example.org' } }), /muc\.component: must differ/);
  });
});

describe('gateway gate', () => {
  it('applies blocks and the allow list before anything else', () => {
    const gate = new Gate(parseGatewayConfig({ ...base, allow_servers: ['good.example'], block_jids: ['troll@good.example'] }));
    assert.equal(gate.policy('friend@good.example', 'good.example'), undefined);
    assert.equal(gate.policy('troll@good.example', 'good.example')?.condition, 'forbidden');
    assert.equal(gate.policy('someone@other.example', 'other.example')?.condition, 'forbidden');
  });

  it('limits per address and per server, and says how long to wait', async () => {
    const gate = new Gate(parseGatewayConfig({ ...base, rate_limits: { per_jid: { stanzas: 2 }, per_server: { stanzas: 3 } } }));
    assert.equal(await gate.rate('a@s.example', 's.example'), undefined);
    assert.equal(await gate.rate('a@s.example', 's.example'), undefined);
    const third = await gate.rate('a@s.example', 's.example');
    assert.equal(third?.condition, 'resource-constraint');
    assert.equal(third?.type, 'wait');
    assert.match(third!.text, /from you/);
    assert.equal(await gate.rate('b@s.example', 's.example'), undefined);
    assert.match((await gate.rate('c@s.example', 's.example'))!.text, /from s\.example/);
  });
});

describe("a person's contacts", () => {
  it('asks once, accepts or refuses by policy, and a block ends a subscription', () => {
    const c = new Contacts({}, 'ask');
    assert.equal(c.request('bob@x.example'), 'ask');
    assert.equal(c.request('bob@x.example'), 'already-asked');
    c.allow('bob@x.example');
    assert.equal(c.request('bob@x.example'), 'accept');
    assert.equal(new Contacts({ subscriptions: 'never' }, 'anyone').request('bob@x.example'), 'refuse');
    assert.equal(new Contacts({}, 'anyone').request('bob@x.example'), 'accept');
    assert.equal(c.setBlocked('X.example', true), 'x.example');
    assert.ok(c.blocks('bob@x.example'));
    assert.equal(c.isSubscriber('bob@x.example'), false);
    c.setBlocked('x.example', false);
    assert.equal(c.blocks('bob@x.example'), false);
    assert.throws(() => c.setBlocked('not a server!', true), /neither an address/);
    assert.deepEqual(new Contacts(c.data(), 'ask').data(), c.data());
  });
});

describe('iqs the component answers', () => {
  const info = { domain: 'matrix.example.org' };
  const iq = (type: string, payload: ReturnType<typeof xml>) => xml('iq', { type, from: 'bob@x.example/phone', to: 'matrix.example.org', id: 'q1' }, payload);

  it('disco shows the gateway/matrix identity; the prompt turns a Matrix ID into an address', () => {
    const disco = serviceIq(iq('get', xml('query', { xmlns: 'http://jabber.org/protocol/disco#info' })), info);
    assert.equal(disco.attrs.type, 'result');
    assert.equal(disco.attrs.to, 'bob@x.example/phone');
    assert.equal(disco.getChild('query')?.getChild('identity')?.attrs.type, 'matrix');
    const prompt = serviceIq(iq('set', xml('query', { xmlns: 'jabber:iq:gateway' }, xml('prompt', {}, '@alice:example.org'))), info);
    assert.equal(prompt.getChild('query')?.getChildText('jid'), 'alice\\40example.org@matrix.example.org');
    const bad = serviceIq(iq('set', xml('query', { xmlns: 'jabber:iq:gateway' }, xml('prompt', {}, 'nonsense'))), info);
    assert.equal(bad.attrs.type, 'error');
    assert.ok(bad.getChild('error')?.getChild('not-acceptable'));
  });

  it('answers what it does not know with service-unavailable', () => {
    const answer = serviceIq(iq('get', xml('query', { xmlns: 'urn:example:unknown' })), info);
    assert.equal(answer.attrs.type, 'error');
    assert.ok(answer.getChild('error')?.getChild('service-unavailable'));
  });
});
