import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { OwnSends } from '../../core/pipeline/own-sends.js';

describe('OwnSends: the fast path for echoes of our own sends', () => {
  it('an id the bridge sent is its own, for every copy, and only in its own portal', () => {
    const own = new OwnSends();
    own.sent('loopback/general', 'm1');
    assert.equal(own.isOwn('loopback/other', 'm1'), false, 'the same id in another chat is not ours');
    assert.equal(own.isOwn('loopback/general', 'm2'), false);
    assert.equal(own.isOwn('loopback/general', 'm1'), true);
    assert.equal(own.isOwn('loopback/general', 'm1'), true, "a second session's copy (a relay in the same chat)");
  });

  it('keys cannot collide across the portal/id boundary', () => {
    const own = new OwnSends();
    own.sent('a', 'b\nc');
    assert.equal(own.isOwn('a\nb', 'c'), false);
    assert.equal(own.isOwn('a\n', 'b\nc'), false);
  });

  it('holds at most its bound, forgetting the oldest first', () => {
    const own = new OwnSends(3);
    for (const id of ['1', '2', '3', '4']) own.sent('p', id);
    assert.equal(own.isOwn('p', '1'), false, 'pushed out: its echo goes the long way (recorded, then recognised by its mapping)');
    assert.deepEqual(['2', '3', '4'].map((id) => own.isOwn('p', id)), [true, true, true]);
  });
});
