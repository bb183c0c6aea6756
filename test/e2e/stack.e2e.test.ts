/** `npm run stack` as a newcomer runs it: it comes up, says what to do, and Ctrl-C takes everything down. */
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { REPO_ROOT } from '../harness/bridge.js';
import { freePort, spawnServer, tempDir, waitReady } from '../harness/proc.js';
import { canConnect } from '../harness/tcp.js';
import { MatrixTestClient } from '../harness/matrix-client.js';
import { XmppPerson } from '../harness/xmpp-person.js';
import { IrcPerson } from '../harness/irc-person.js';

describe('npm run stack', { timeout: 180_000 }, () => {
  it('starts Synapse, Prosody and the bridge with every network, prints working accounts, and stops everything on Ctrl-C', async () => {
    const logs = tempDir('stack-script');
    const port = await freePort();
    const proc = spawnServer('stack', process.execPath, ['--import', 'tsx', join(REPO_ROOT, 'scripts', 'stack.ts'), '--synapse-port', String(port), '--user', 'newcomer'], {
      cwd: REPO_ROOT, logFile: join(logs.path, 'stack.log'),
    });
    try {
      await waitReady(proc, '"Press Ctrl-C"', async () => proc.output().includes('Press Ctrl-C to stop everything.'), 150_000);
      const out = proc.output();
      assert.match(out, new RegExp(`Homeserver   http://127\\.0\\.0\\.1:${port}`));
      assert.match(out, /Log in as    @newcomer:switchboard\.test   password: switchboard/);
      const dir = /Logs: (\S+)\/bridge\/bridge-1\.log/.exec(out)?.[1];
      assert.ok(dir && existsSync(dir), 'the stack directory exists while it runs');
      const controlPort = Number(/control API http:\/\/127\.0\.0\.1:(\d+)/.exec(out)?.[1]);

      // The printed credentials work, and the seeded DM from bob is waiting.
      const me = await MatrixTestClient.login(`http://127.0.0.1:${port}`, 'newcomer', 'switchboard');
      const room = await me.waitForInvite((_r, inviter) => inviter === '@_loopback_bob:switchboard.test');
      await me.join(room);
      await me.waitFor((e) => e.room_id === room && String(e.content.body).startsWith('Hi newcomer!'), "bob's greeting");

      // The second Matrix user it printed can log in.
      assert.match(out, /Second user  @dave:switchboard\.test   password: switchboard/);
      await (await MatrixTestClient.login(`http://127.0.0.1:${port}`, 'dave', 'switchboard')).stop();

      // XMPP: the printed account logs in through the bot, and the printed contact writes to it.
      assert.match(out, /Networks     loopback, xmpp, xmppgw, irc/);
      assert.match(out, /POST   \/messages /, 'the control API routes are printed');
      const xmppPort = Number(/Prosody on 127\.0\.0\.1:(\d+)/.exec(out)?.[1]);
      const certFile = /accept the self-signed certificate (\S+)\)/.exec(out)?.[1];
      assert.match(out, /your XMPP account: newcomer@xmpp\.test   password: switchboard/);
      assert.match(out, /someone to talk to: bob@xmpp\.test   password: switchboard/);
      assert.ok(xmppPort && certFile);
      const mgmt = await me.createRoom({ is_direct: true, invite: ['@switchboard:switchboard.test'], preset: 'trusted_private_chat' });
      await me.waitFor((e) => e.room_id === mgmt && e.state_key === '@switchboard:switchboard.test' && e.content.membership === 'join', 'the bot joining');
      const ask = async (text: string, expect: RegExp) => {
        const sent = await me.sendText(mgmt, text);
        const own = await me.waitFor((e) => e.event_id === sent, 'our own message');
        const answer = await me.waitFor((e) => e.room_id === mgmt && e.sender === '@switchboard:switchboard.test' && e.type === 'm.room.message' && me.events.indexOf(e) > me.events.indexOf(own), `the answer to ${text}`);
        assert.match(String(answer.content.body), expect);
      };
      await ask('login xmpp', /Send your XMPP address/);
      await ask('newcomer@xmpp.test', /Send your password/);
      await ask('switchboard', /^Logged in to xmpp as newcomer@xmpp\.test/);
      const bob = await XmppPerson.connect({ domain: 'xmpp.test', certFile: certFile!, c2sPort: xmppPort }, 'bob', 'switchboard', { streamManagement: false });
      try {
        // The login connects in the background: bob writes until the DM room appears.
        const ghost = '@_xmpp_bob=40xmpp.test:switchboard.test';
        let dm: string | undefined;
        for (let i = 0; i < 30 && !dm; i++) {
          await bob.say('newcomer@xmpp.test', `hello from XMPP ${i}`);
          dm = await me.waitForInvite((_r, inviter) => inviter === ghost, 1000).catch(() => undefined);
        }
        assert.ok(dm, "bob's DM reached Matrix");
        await me.join(dm);
        await me.waitFor((e) => e.room_id === dm && e.sender === ghost && /^hello from XMPP/.test(String(e.content.body)), "bob's message");
        await me.sendText(dm, 'hello bob, from Matrix');
        await bob.waitFor((st) => st.getChildText('body') === 'hello bob, from Matrix', "newcomer's answer on XMPP");

        // The XMPP gateway: the newcomer opts in, and bob writes to the printed address.
        const address = /you get the address (\S+)/.exec(out)?.[1];
        assert.equal(address, 'newcomer\\40switchboard.test@matrix.xmpp.test');
        await ask('login xmppgw', /Your XMPP address will be newcomer\\40switchboard\.test@matrix\.xmpp\.test/);
        await ask('ask', /^Logged in to xmppgw as newcomer\\40switchboard\.test@matrix\.xmpp\.test/);
        const gwGhost = '@_xmppgw_bob=40xmpp.test:switchboard.test';
        let gwDm: string | undefined;
        for (let i = 0; i < 30 && !gwDm; i++) {
          await bob.say(address!, `hello through the gateway ${i}`);
          gwDm = await me.waitForInvite((_r, inviter) => inviter === gwGhost, 1000).catch(() => undefined);
        }
        assert.ok(gwDm, "bob's message to the gateway address reached Matrix");
        await me.join(gwDm);
        await me.sendText(gwDm, 'hello bob, through the gateway');
        const back = await bob.waitFor((st) => st.getChildText('body') === 'hello bob, through the gateway', 'the answer from the gateway address');
        assert.equal(back.attrs.from, address);
      } finally {
        await bob.stop();
      }

      // IRC: someone on the printed server joins #lobby; the newcomer links a room to it and they talk.
      const ircPort = Number(/InspIRCd on 127\.0\.0\.1:(\d+)/.exec(out)?.[1]);
      assert.ok(ircPort, 'the IRC server is printed');
      const ian = await IrcPerson.connect(ircPort, 'ian');
      try {
        await ian.join('#lobby');
        const room = await me.createRoom({ name: 'IRC lobby', preset: 'public_chat', invite: ['@switchboard:switchboard.test'] });
        await me.waitFor((e) => e.room_id === room && e.state_key === '@switchboard:switchboard.test' && e.content.membership === 'join', 'the bot joining the room');
        await me.sendText(room, 'link irc #lobby');
        await me.waitFor((e) => e.room_id === room && /^Linked/.test(String(e.content.body)), 'the link answer', 40_000);
        ian.say('#lobby', 'hello from IRC');
        await me.waitFor((e) => e.room_id === room && e.content.body === 'hello from IRC', "ian's line in Matrix");
        await me.sendText(room, 'hello from Matrix');
        await ian.waitFor((h) => h.command === 'privmsg' && (h.message ?? '').endsWith('hello from Matrix'), 'the answer on IRC');
      } finally {
        await ian.stop();
      }
      await me.stop();

      proc.signal('SIGINT');
      assert.equal(await proc.exited, 0);
      assert.match(proc.output(), /Stopped; temporary data removed\./);
      assert.equal(existsSync(dir), false, 'temporary data removed');
      assert.equal(await canConnect(port), false, 'Synapse is gone');
      assert.equal(await canConnect(controlPort), false, 'the bridge is gone');
      assert.equal(await canConnect(ircPortOf(out)), false, 'the IRC server is gone');
    } finally {
      await proc.stop();
      logs.remove();
    }
  });
});

const ircPortOf = (out: string) => Number(/InspIRCd on 127\.0\.0\.1:(\d+)/.exec(out)?.[1]);
