/** core/store/sealed.ts: login data encrypted at rest, with a key derived in the background. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Sealer } from '../../core/store/sealed.js';

const SECRET = 'a-key-of-sixteen-chars';

describe('Sealer', () => {
  it('a key used at once (derived on the spot) and one derived in the background are the same key', async () => {
    const atOnce = new Sealer(SECRET);
    const stored = atOnce.seal({ password: 'hunter2' });
    assert.match(stored, /^v1:/);
    const waited = new Sealer(SECRET);
    await waited.ready();
    assert.deepEqual(waited.open(stored), { password: 'hunter2' });
    assert.deepEqual(atOnce.open(waited.seal({ n: 1 })), { n: 1 });
  });

  it('another secret cannot open it; without a secret, data is plain and sealed data is refused', async () => {
    const stored = new Sealer(SECRET).seal({ token: 't' });
    assert.throws(() => new Sealer('another-secret-of-16').open(stored), /unable to authenticate|auth/i);
    const plain = new Sealer(undefined);
    assert.equal(plain.encrypting, false);
    await plain.ready();
    assert.equal(plain.seal({ a: 1 }), '{"a":1}');
    assert.throws(() => plain.open(stored), /no store.login_data_key is configured/);
  });
});
