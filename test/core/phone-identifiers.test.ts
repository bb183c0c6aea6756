/** A remote person known by a phone number, through the engine: nothing the bridge writes on Matrix holds the number. */
import assert from 'node:assert/strict';
import { afterEach, beforeEach, describe, it } from 'node:test';
import { ALICE, startHarness, type Harness } from '../fakes/harness.js';

const NUMBER = '+4915112345678';

describe('phone numbers stay off Matrix', () => {
  let h: Harness;
  beforeEach(async () => {
    h = await startHarness();
    h.world.addUser(NUMBER); // no name of their own: the ghost shows the number masked
    h.world.addUser('carol', `Carol ${NUMBER}`);
  });
  afterEach(() => h.stop());

  it('a DM from a number: the ghost id is a pseudonym, its name masked, and no call to Matrix carries the digits', async () => {
    await h.world.dm(NUMBER, 'alice', 'hello from a phone');
    h.world.addGroup('team', { name: `Team of ${NUMBER}`, topic: `ring ${NUMBER}`, members: ['alice', 'carol', NUMBER] });
    await h.world.say('carol', 'team', 'hi all');
    await h.engine.idle();
    const [dm] = h.matrix.of('createRoom');
    assert.match(dm!.opts.creator, /^@_loopback_=p[a-z2-7]{24}:example\.org$/);
    assert.deepEqual(dm!.opts.invite, [ALICE]);
    assert.deepEqual(h.matrix.of('displayname').map((d) => d.name).sort(), ['+49 151 ••• 78', 'Carol +49 151 ••• 78']);
    assert.equal(h.matrix.sends()[0]?.content.body, 'hello from a phone');
    const everything = JSON.stringify(h.matrix.calls);
    assert.ok(!everything.includes('15112345678'), `the number reached Matrix: ${everything.slice(everything.indexOf('15112345678') - 200, everything.indexOf('15112345678') + 50)}`);
    // The bridge's own record still knows who it is, to send the answer.
    const ghost = dm!.opts.creator;
    assert.equal(h.engine.ctx.naming.parseGhost(ghost)?.remote, NUMBER);
  });
});
