/** Phone numbers in remote ids: finding them, masking them, and the pseudonyms that stand for them in ghost ids. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { findPhoneNumber, maskNumber, maskNumbers, PhoneIdentifiers } from '../../core/identity/phone.js';
import { Naming } from '../../core/identity/naming.js';
import { parseConfig } from '../../core/config.js';
import { phoneIdentifiers } from '../../core/identity/phone-config.js';
import { networkId, remoteUserId } from '../../core/ids.js';
import { createLogger } from '../../core/log.js';
import { Writable } from 'node:stream';

const xmpp = networkId('xmpp');
const tg = networkId('telegram');

describe('phone numbers in remote ids', () => {
  it('finds E.164 numbers anywhere in an id, national ones only where the network names its region', () => {
    assert.deepEqual(findPhoneNumber('+15551234567@xmpp.test'), { e164: '+15551234567', region: 'US' }, '+1 555 fits no region: its calling code\'s main one');
    assert.deepEqual(findPhoneNumber('+4915112345678@quicksy.im'), { e164: '+4915112345678', region: 'DE' });
    assert.deepEqual(findPhoneNumber('user +33 6 12 34 56 78'), { e164: '+33612345678', region: 'FR' });
    assert.equal(findPhoneNumber('123456789'), undefined, 'a Telegram user id is no phone number');
    assert.equal(findPhoneNumber('alice@xmpp.test'), undefined);
    assert.equal(findPhoneNumber('+12'), undefined, 'too short to be a number');
    assert.deepEqual(findPhoneNumber('015112345678@example.org', 'DE'), { e164: '+4915112345678', region: 'DE' });
    assert.equal(findPhoneNumber('015112345678@example.org'), undefined);
  });

  it('masks a number to its calling code, three digits and the last two', () => {
    assert.equal(maskNumber('+4915112345678'), '+49 151 ••• 78');
    assert.equal(maskNumber('+15551234567'), '+1 555 ••• 67');
    assert.equal(maskNumbers('call +4915112345678 or +15551234567'), 'call +49 151 ••• 78 or +1 555 ••• 67');
    assert.equal(maskNumbers('version 1.2.3, room 42'), 'version 1.2.3, room 42');
  });

  // A backtracking scanner would not finish this within the test's own timeout.
  it('scans a long hostile text in linear time, and only an id\'s beginning', { timeout: 20_000 }, () => {
    const hostile = `+${'1 '.repeat(50_000)}x`;
    assert.equal(typeof maskNumbers(hostile), 'string');
    assert.equal(findPhoneNumber(`${'a'.repeat(600)}+4915112345678`), undefined, 'past the first 512 characters of an id nothing is looked for');
  });

  it('pseudonyms are stable, keyed, per network, and localpart-safe', () => {
    const a = new PhoneIdentifiers('secret-one-123456', new Map());
    const b = new PhoneIdentifiers('secret-two-123456', new Map());
    const p = a.pseudonym(xmpp, '+15551234567@xmpp.test');
    assert.match(p, /^=p[a-z2-7]{24}$/);
    assert.equal(a.pseudonym(xmpp, '+15551234567@xmpp.test'), p, 'stable');
    assert.notEqual(b.pseudonym(xmpp, '+15551234567@xmpp.test'), p, 'another secret, another pseudonym');
    assert.notEqual(a.pseudonym(tg, '+15551234567@xmpp.test'), p, 'another network, another pseudonym');
    assert.ok(!p.includes('5551234567'));
    assert.equal(a.pseudonym(xmpp, 'x', 8).length, p.length + 8);
  });
});

describe('ghost ids of people known by a number', () => {
  const config = parseConfig({
    homeserver: { url: 'http://127.0.0.1:8008', domain: 'example.org' },
    appservice: { url: 'http://127.0.0.1:29330' },
    networks: { xmpp: { enabled: true }, telegram: { identifiers: { phone: 'visible' } }, loopback: { identifiers: { phone: 'pseudonym', region: 'DE' } } },
  }, {});
  const ghosts = new Map<string, { network: ReturnType<typeof networkId>; remote: ReturnType<typeof remoteUserId> }>();
  const naming = new Naming(config, phoneIdentifiers(config, 'a-secret-for-tests-123'));
  naming.resolvePseudonymsWith((u) => ghosts.get(u));

  it('a number in the id gives a pseudonym that maps back only through the bridge\'s record; other ids are escaped as before', () => {
    const remote = remoteUserId('+15551234567@xmpp.test');
    const id = naming.ghostUserId(xmpp, remote);
    assert.match(id, /^@_xmpp_=p[a-z2-7]{24}:example\.org$/);
    assert.ok(!/5551234567/.test(id));
    assert.equal(naming.parseGhost(id), undefined, 'not known yet');
    ghosts.set(id, { network: xmpp, remote });
    assert.deepEqual(naming.parseGhost(id), { network: xmpp, remote });
    assert.equal(naming.ghostUserId(xmpp, remoteUserId('alice@xmpp.test')), '@_xmpp_alice=40xmpp.test:example.org');
    assert.equal(naming.ghostUserId(tg, remoteUserId('+15551234567')), '@_telegram_=2b15551234567:example.org', 'visible: as before');
  });

  it('a collision lengthens the pseudonym', () => {
    const remote = remoteUserId('+4915112345678@xmpp.test');
    const first = naming.ghostUserId(xmpp, remote);
    ghosts.set(first, { network: xmpp, remote: remoteUserId('someone-else') });
    const second = naming.ghostUserId(xmpp, remote);
    assert.notEqual(second, first);
    assert.ok(second.startsWith(first.slice(0, first.indexOf(':'))));
  });

  it('names, topics and m.bridge ids show numbers masked; a network may show them', () => {
    assert.equal(naming.publicText(xmpp, 'Bob +4915112345678'), 'Bob +49 151 ••• 78');
    assert.equal(naming.publicText(tg, 'Bob +4915112345678'), 'Bob +4915112345678');
    assert.equal(naming.publicChatId(xmpp, '+15551234567@xmpp.test'), new PhoneIdentifiers('a-secret-for-tests-123', new Map()).pseudonym(xmpp, '+15551234567@xmpp.test'));
    assert.equal(naming.publicChatId(xmpp, 'room@muc.xmpp.test'), 'room@muc.xmpp.test');
    assert.equal(naming.fallbackName(xmpp, remoteUserId('+15551234567@xmpp.test')), '+1 555 ••• 67');
    assert.match(naming.fallbackName(networkId('loopback'), remoteUserId('015112345678'))!, /^loopback user [a-z2-7]{6}$/, 'pseudonym names, and national numbers where the region is set');
  });
});

describe('logs', () => {
  it('mask phone numbers in fields, nested fields and the message; secrets stay redacted', () => {
    const lines: string[] = [];
    const out = new Writable({ write(chunk, _enc, done) { lines.push(String(chunk)); done(); } });
    const log = createLogger('info', out).child({ login: 'xmpp:+4915112345678@quicksy.im' });
    log.info({ remoteUser: '+15551234567@xmpp.test', nested: { chat: 'dm with +4915112345678' }, password: 'hunter2', count: 3 }, 'message from +15551234567 bridged');
    const line = JSON.parse(lines[0]!) as Record<string, unknown>;
    assert.ok(!/5551234567|15112345678/.test(lines[0]!), lines[0]);
    assert.equal(line.remoteUser, '+1 555 ••• 67@xmpp.test');
    assert.deepEqual(line.nested, { chat: 'dm with +49 151 ••• 78' });
    assert.equal(line.login, 'xmpp:+49 151 ••• 78@quicksy.im');
    assert.equal(line.msg, 'message from +1 555 ••• 67 bridged');
    assert.equal(line.password, '[redacted]');
    assert.equal(line.count, 3);
  });

  it('mask national numbers of the networks\' regions where a field is one', () => {
    const lines: string[] = [];
    const out = new Writable({ write(chunk, _enc, done) { lines.push(String(chunk)); done(); } });
    createLogger('info', out, ['DE']).info({ remoteUser: '015112345678@example.org', version: '1.2.3', port: 29330 }, 'bridged');
    const line = JSON.parse(lines[0]!) as Record<string, unknown>;
    assert.equal(line.remoteUser, '+49 151 ••• 78@example.org');
    assert.equal(line.version, '1.2.3');
    assert.equal(line.port, 29330);
  });
});
