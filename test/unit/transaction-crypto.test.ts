/** What a transaction carries for the crypto device, read as if the homeserver were hostile (core/crypto/transaction-crypto.ts). */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { parseCryptoExtensions } from '../../core/crypto/transaction-crypto.js';

const ME = '@bot:hs';
const DEV = 'SWITCHBOARD';
const toDevice = (over: Record<string, unknown> = {}) => ({ type: 'm.room.encrypted', sender: '@a:hs', to_user_id: ME, to_device_id: DEV, content: { algorithm: 'm.olm.v1.curve25519-aes-sha2' }, ...over });

describe('crypto data in appservice transactions', () => {
  it('takes the unstable names Synapse sends, and only what is for our device', () => {
    const ext = parseCryptoExtensions({
      'de.sorunome.msc2409.to_device': [toDevice(), toDevice({ to_device_id: 'OTHER' }), toDevice({ to_user_id: '@ghost:hs' })],
      'org.matrix.msc3202.device_lists': { changed: ['@a:hs'], left: ['@b:hs'] },
      'org.matrix.msc3202.device_one_time_keys_count': { [ME]: { [DEV]: { signed_curve25519: 12 } }, '@ghost:hs': { X: { signed_curve25519: 1 } } },
      'org.matrix.msc3202.device_unused_fallback_key_types': { [ME]: { [DEV]: ['signed_curve25519'] } },
    }, ME, DEV)!;
    assert.equal(ext.toDevice.length, 1);
    assert.deepEqual([ext.changed, ext.left], [['@a:hs'], ['@b:hs']]);
    assert.deepEqual([...ext.oneTimeKeyCounts], [['signed_curve25519', 12]]);
    assert.deepEqual([...ext.unusedFallbackKeys!], ['signed_curve25519']);
  });

  it('prefers the stable names', () => {
    const ext = parseCryptoExtensions({ to_device: [toDevice()], 'de.sorunome.msc2409.to_device': [toDevice(), toDevice()] }, ME, DEV)!;
    assert.equal(ext.toDevice.length, 1);
  });

  it('leaves out what is malformed, never throws, and says when there is nothing', () => {
    const hostile = {
      'de.sorunome.msc2409.to_device': [null, 'x', 7, [], toDevice({ type: 5 }), toDevice({ content: 'no' }), toDevice({ sender: {} })],
      'org.matrix.msc3202.device_lists': { changed: [1, null, '@ok:hs'], left: 'no' },
      'org.matrix.msc3202.device_one_time_keys_count': { [ME]: { [DEV]: { a: -1, b: 1.5, c: '3', d: 1e300, e: 4 } } },
      'org.matrix.msc3202.device_unused_fallback_key_types': { [ME]: { [DEV]: 'signed_curve25519' } },
    };
    const ext = parseCryptoExtensions(hostile, ME, DEV)!;
    assert.deepEqual(ext.toDevice, []);
    assert.deepEqual([ext.changed, ext.left], [['@ok:hs'], []]);
    assert.deepEqual([...ext.oneTimeKeyCounts], [['e', 4]]);
    assert.equal(ext.unusedFallbackKeys, undefined);
    assert.equal(parseCryptoExtensions({ events: [] }, ME, DEV), undefined);
    assert.equal(parseCryptoExtensions({ 'de.sorunome.msc2409.to_device': 'x', 'org.matrix.msc3202.device_lists': [] }, ME, DEV), undefined);
  });
});
