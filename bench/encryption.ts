/**
 * What end-to-bridge encryption costs (docs/performance.md, "Encryption"):
 *
 * A. The crypto alone, against a real Synapse, keys from an independent client
 *    (matrix-nio with libolm): CPU of the bridge process per message decrypted (Matrix ->
 *    remote) and encrypted (remote -> Matrix), with the first message of a session (it
 *    queries, claims and shares keys over HTTP) apart.
 * B. The whole bridge: the same group portal traffic with `encryption.default` on (an
 *    encrypted portal) and off (a plain one), each in its own stack: a remote burst of N
 *    messages until a syncing Matrix client has them all, and N messages from nio until
 *    the loopback network has them all, with each message's lag (nio's send answered ->
 *    the network has it).
 *
 * BENCH_ENC_MESSAGES (default 200). Writes bench/results/encryption.json.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { CryptoDeviceRig } from '../test/harness/crypto-device.js';
import { E2eeClient, ensureE2eeClient } from '../test/harness/e2ee-client.js';
import { Stack } from '../test/harness/stack.js';

const N = Number(process.env.BENCH_ENC_MESSAGES ?? 200);
const pct = (xs: number[], p: number) => [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.floor((xs.length * p) / 100))]!;
const cpuMs = (since: NodeJS.CpuUsage) => { const d = process.cpuUsage(since); return (d.user + d.system) / 1000; };
const round = (x: number, digits = 2) => Number(x.toFixed(digits));

async function cryptoAlone(): Promise<Record<string, number>> {
  const rig = await CryptoDeviceRig.start();
  const alice = new E2eeClient(rig.synapse.url, '@alice:crypto.test', 'alice-pass', join(rig.dir, 'nio'));
  try {
    await rig.synapse.register('alice');
    await rig.startCrypto();
    await alice.login();
    const room = await alice.createRoom({ name: 'bench', invite: [rig.botUserId], encrypted: true });
    await rig.cs('POST', `/_matrix/client/v3/join/${encodeURIComponent(room)}`, {});
    await alice.waitFor((e) => e.type === 'm.room.member' && e.sender === rig.botUserId);
    for (let i = 0; i < N; i++) await alice.send(room, { msgtype: 'm.text', body: `m${i}` });
    const deadline = Date.now() + 60_000;
    const encrypted = () => rig.received.filter((e) => e.type === 'm.room.encrypted' && e.room_id === room);
    while (encrypted().length < N && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
    const events = encrypted();
    // The first decryption may wait for its key: take it apart, then time the rest.
    while (!(await rig.crypto!.decrypt(room, events[0]!)).ok) await new Promise((r) => setTimeout(r, 100));
    const c0 = process.cpuUsage();
    const t0 = performance.now();
    for (const ev of events.slice(1)) if (!(await rig.crypto!.decrypt(room, ev)).ok) throw new Error('a message did not decrypt');
    const decryptCpu = cpuMs(c0) / (events.length - 1);
    const decryptWall = (performance.now() - t0) / (events.length - 1);

    const members = [rig.botUserId, alice.userId];
    let c = process.cpuUsage();
    let t = performance.now();
    await rig.crypto!.encrypt(room, 'm.room.message', { msgtype: 'm.text', body: 'first' }, members);
    const firstCpu = cpuMs(c);
    const firstWall = performance.now() - t;
    c = process.cpuUsage();
    t = performance.now();
    for (let i = 1; i < N; i++) await rig.crypto!.encrypt(room, 'm.room.message', { msgtype: 'm.text', body: `r${i}` }, members);
    const encryptCpu = cpuMs(c) / (N - 1);
    const encryptWall = (performance.now() - t) / (N - 1);
    return {
      messages: events.length,
      decrypt_cpu_ms: round(decryptCpu, 3), decrypt_wall_ms: round(decryptWall, 3),
      encrypt_first_cpu_ms: round(firstCpu), encrypt_first_wall_ms: round(firstWall),
      encrypt_cpu_ms: round(encryptCpu, 3), encrypt_wall_ms: round(encryptWall, 3),
    };
  } finally {
    await alice.close();
    await rig.stop();
  }
}

async function wholeBridge(encrypted: boolean): Promise<Record<string, number>> {
  const stack = await Stack.start({
    prosody: false,
    bridge: {
      logLevel: 'info',
      loopback: { puppets: [{ owner: '@alice:switchboard.test', user: 'alice' }] },
      extra: { encryption: { allow: true, default: encrypted } },
    },
  });
  const plain = await stack.user('alice');
  const nio = new E2eeClient(stack.synapse.url, '@alice:switchboard.test', 'alice-pass', join(stack.dir, 'nio'));
  try {
    await nio.login();
    await stack.loopback.addUser('bob', 'Bob');
    await stack.loopback.addGroup('bench', { name: 'Bench', members: ['alice', 'bob'] });
    await stack.loopback.say('bob', 'bench', 'warm-up');
    const room = await nio.waitForInvite();
    await nio.join(room);
    const fromGhost = (e: { room_id: string; sender: string; type: string }) => e.room_id === room && e.sender === stack.ghost('bob') && e.type === (encrypted ? 'm.room.encrypted' : 'm.room.message');
    await plain.waitFor((e) => fromGhost(e), 'the warm-up');
    const before = plain.events.filter(fromGhost).length;

    // remote -> Matrix: a burst, until the Matrix client has all of it.
    const t0 = performance.now();
    for (let i = 0; i < N; i++) await stack.loopback.say('bob', 'bench', `r${i}`);
    const deadline = Date.now() + 300_000;
    while (plain.events.filter(fromGhost).length < before + N && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    const r2m = N / ((performance.now() - t0) / 1000);

    // Matrix -> remote: nio sends (encrypting in the encrypted room), the network receives.
    const sentAt = new Map<string, number>();
    const arrived = new Map<string, number>();
    const watch = (async () => {
      while (arrived.size < N) {
        for (const e of await stack.loopback.call<{ messages: { from: string; text: string }[] }>('GET', '/chats/bench/messages').then((r) => r.messages)) {
          if (e.from === 'alice' && e.text.startsWith('m') && !arrived.has(e.text)) arrived.set(e.text, performance.now());
        }
        await new Promise((r) => setTimeout(r, 20));
      }
    })();
    const t1 = performance.now();
    for (let i = 0; i < N; i++) {
      await nio.send(room, { msgtype: 'm.text', body: `m${i}` });
      sentAt.set(`m${i}`, performance.now());
    }
    await Promise.race([watch, new Promise((r) => setTimeout(r, 300_000))]);
    const m2r = N / ((Math.max(...arrived.values()) - t1) / 1000);
    const lags = [...sentAt].map(([k, t]) => (arrived.get(k) ?? Infinity) - t);
    return { r2m_msgs_per_s: round(r2m, 1), m2r_msgs_per_s: round(m2r, 1), m2r_lag_p50_ms: round(pct(lags, 50), 1), m2r_lag_p99_ms: round(pct(lags, 99), 1) };
  } finally {
    await nio.close();
    await plain.stop();
    await stack.stop();
  }
}

async function main(): Promise<void> {
  ensureE2eeClient();
  const alone = await cryptoAlone();
  process.stdout.write(`crypto alone: ${JSON.stringify(alone)}\n`);
  const plainPortal = await wholeBridge(false);
  process.stdout.write(`plain portal: ${JSON.stringify(plainPortal)}\n`);
  const encryptedPortal = await wholeBridge(true);
  process.stdout.write(`encrypted portal: ${JSON.stringify(encryptedPortal)}\n`);
  mkdirSync('bench/results', { recursive: true });
  writeFileSync('bench/results/encryption.json', JSON.stringify({ date: new Date().toISOString(), node: process.version, messages: N, alone, plainPortal, encryptedPortal }, null, 2));
}

main().catch((err: unknown) => {
  process.stderr.write(`${err instanceof Error ? err.stack : String(err)}\n`);
  process.exit(1);
});
