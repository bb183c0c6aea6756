/** Direct-chat invite codes: single use, per network, expiring. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { DM_INVITE_TTL_MS, DmInvites } from '../../core/accounts/dm-invites.js';
import { matrixUserId, networkId } from '../../core/ids.js';

describe('DmInvites', () => {
  const tg = networkId('telegram');
  const alice = matrixUserId('@alice:example.org');

  it('a code names its Matrix user once, and only on its network', () => {
    const invites = new DmInvites();
    const code = invites.create(tg, alice);
    assert.match(code, /^[A-Za-z0-9_-]{16}$/);
    assert.equal(invites.take(networkId('xmpp'), code), undefined);
    assert.equal(invites.take(tg, code), alice);
    assert.equal(invites.take(tg, code), undefined, 'used up');
    assert.equal(invites.take(tg, 'made-up'), undefined);
  });

  it('a code expires after a day', () => {
    let now = 1_000;
    const invites = new DmInvites(() => now);
    const code = invites.create(tg, alice);
    now += DM_INVITE_TTL_MS;
    assert.equal(invites.take(tg, code), undefined);
  });
});
