import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { escapeLocalpart, loginId, networkId, parsePortalKey, portalKeyString, remoteChatId, unescapeLocalpart } from '../../core/ids.js';

describe('ids', () => {
  const cases: [string, string][] = [
    ['alice@example.org', 'alice=40example.org'],
    ['Bob', '_bob'],
    ['snake_case', 'snake__case'],
    ['123456789', '123456789'],
    ['émile', '=c3=a9mile'],
    ['a/b:c', 'a=2fb=3ac'],
  ];
  for (const [raw, escaped] of cases) {
    it(`escapes ${JSON.stringify(raw)} reversibly`, () => {
      assert.equal(escapeLocalpart(raw), escaped);
      assert.equal(unescapeLocalpart(escaped), raw);
      assert.match(escapeLocalpart(raw), /^[a-z0-9._=-]*$/);
    });
  }
  it('refuses strings escapeLocalpart cannot produce', () => {
    assert.throws(() => unescapeLocalpart('_1'));
    assert.throws(() => unescapeLocalpart('=zz'));
    assert.throws(() => unescapeLocalpart('A'));
  });
  it('portal keys round-trip and cannot be forged by slashes in chat ids', () => {
    const key = { network: networkId('xmpp'), chat: remoteChatId('a/b'), receiver: loginId('l/1') };
    assert.deepEqual(parsePortalKey(portalKeyString(key)), key);
    const group = { network: networkId('xmpp'), chat: remoteChatId('room@muc') };
    assert.deepEqual(parsePortalKey(portalKeyString(group)), group);
    assert.notEqual(portalKeyString({ network: networkId('x'), chat: remoteChatId('a/b') }), portalKeyString({ network: networkId('x'), chat: remoteChatId('a'), receiver: loginId('b') }));
  });
});
