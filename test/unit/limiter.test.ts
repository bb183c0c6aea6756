import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Limiter } from '../../core/limiter.js';

describe('Limiter (bounded concurrent connects)', () => {
  it('never runs more than its limit at once, and runs every task in order of arrival', async () => {
    const limiter = new Limiter(2);
    let active = 0;
    let peak = 0;
    const started: number[] = [];
    const task = (i: number) => limiter.run(async () => {
      started.push(i);
      peak = Math.max(peak, ++active);
      await new Promise((r) => setTimeout(r, 5));
      active--;
      if (i === 3) throw new Error('a failed connect frees its slot too');
      return i;
    });
    const results = await Promise.allSettled(Array.from({ length: 8 }, (_, i) => task(i)));
    assert.equal(peak, 2);
    assert.deepEqual(started, [0, 1, 2, 3, 4, 5, 6, 7]);
    assert.equal(results.filter((r) => r.status === 'fulfilled').length, 7);
  });
});
