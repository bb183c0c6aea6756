/**
 * End to end through a real Synapse on 127.0.0.1, both directions, each against the
 * homeserver-alone baseline:
 * - remote -> Matrix: loopback network -> bridge (its own process) -> Synapse -> a
 *   syncing Matrix client, against the same messages sent straight to Synapse with the
 *   bridge's appservice token as the same ghost, into the same room, seen by the same client;
 * - Matrix -> remote: a Matrix client -> Synapse -> bridge -> loopback network, against
 *   the same client's messages seen by a second Matrix client's sync (Synapse delivering
 *   to one consumer, which is what the bridge is for the loopback network).
 * Throughput (N messages, one portal, so all go one after another) and one-in-flight
 * latency. Writes bench/results/e2e.json.
 */
import { readFileSync, mkdirSync, writeFileSync } from 'node:fs';
import { performance } from 'node:perf_hooks';
import { randomUUID } from 'node:crypto';
import { parse as parseYaml } from 'yaml';
import { Stack } from '../test/harness/stack.js';

const N = Number(process.env.BENCH_E2E_MESSAGES ?? 500);
const SAMPLES = Number(process.env.BENCH_E2E_SAMPLES ?? 50);
const ROUNDS = Number(process.env.BENCH_E2E_ROUNDS ?? 3);
const pct = (xs: number[], p: number) => [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.floor((xs.length * p) / 100))]!;

async function main(): Promise<void> {
  const stack = await Stack.start({ prosody: false, bridge: { logLevel: 'info', loopback: { puppets: [{ owner: '@alice:switchboard.test', user: 'alice' }] } } });
  try {
    const alice = await stack.user('alice');
    await stack.loopback.addUser('bob', 'Bob');
    await stack.loopback.addGroup('bench', { name: 'Bench', members: ['alice', 'bob'] });
    await stack.loopback.say('bob', 'bench', 'warm-up');
    const room = await alice.waitForInvite();
    await alice.join(room);
    await alice.waitFor((e) => e.room_id === room && e.content.body === 'warm-up', 'the warm-up message');
    const ghost = stack.ghost('bob');
    const asToken = (parseYaml(readFileSync(stack.bridge.registrationFile, 'utf8')) as { as_token: string }).as_token;
    const direct = async (body: string) => {
      const url = `${stack.synapse.url}/_matrix/client/v3/rooms/${encodeURIComponent(room)}/send/m.room.message/${randomUUID()}?user_id=${encodeURIComponent(ghost)}`;
      const res = await fetch(url, { method: 'PUT', headers: { authorization: `Bearer ${asToken}`, 'content-type': 'application/json' }, body: JSON.stringify({ msgtype: 'm.text', body }) });
      if (!res.ok) throw new Error(`baseline send failed: ${res.status} ${await res.text()}`);
    };
    // One portal keeps order: the last message arriving means all have.
    const waitLast = (prefix: string) => alice.waitFor((e) => e.room_id === room && e.content?.body === `${prefix}${N - 1}`, `${prefix}${N - 1}`, 300_000);

    const throughput = async (prefix: string, send: (body: string) => Promise<unknown>) => {
      const t0 = performance.now();
      for (let i = 0; i < N; i++) await send(`${prefix}${i}`);
      await waitLast(prefix);
      return N / ((performance.now() - t0) / 1000);
    };
    const latency = async (prefix: string, send: (body: string) => Promise<unknown>) => {
      const xs: number[] = [];
      for (let i = 0; i < SAMPLES; i++) {
        const body = `${prefix}${i}`;
        const t0 = performance.now();
        await send(body);
        await alice.waitFor((e) => e.room_id === room && e.content?.body === body, body, 60_000);
        xs.push(performance.now() - t0);
      }
      return xs;
    };
    const viaBridge = (body: string) => stack.loopback.say('bob', 'bench', body);

    // Matrix -> remote. carl is the baseline's consumer: a second Matrix client in the room.
    const carl = await stack.user('carl');
    await alice.invite(room, carl.userId);
    await carl.join(room);
    await carl.waitFor((e) => e.room_id === room && e.state_key === carl.userId && e.content.membership === 'join', 'carl joined');
    const fromAlice = (body: string) => alice.sendText(room, body);
    const carlSees = (body: string) => carl.waitFor((e) => e.room_id === room && e.content?.body === body, body, 300_000).then(() => undefined);
    const loopbackSees = (body: string) => stack.loopback.waitFromBridge((e) => (e.event as { content?: { text?: string } }).content?.text === body, 300_000).then(() => undefined);
    const outThroughput = async (prefix: string, arrived: (body: string) => Promise<void>) => {
      const t0 = performance.now();
      for (let i = 0; i < N; i++) await fromAlice(`${prefix}${i}`);
      await arrived(`${prefix}${N - 1}`);
      return N / ((performance.now() - t0) / 1000);
    };
    const outLatency = async (prefix: string, arrived: (body: string) => Promise<void>) => {
      const xs: number[] = [];
      for (let i = 0; i < SAMPLES; i++) {
        const body = `${prefix}${i}`;
        const t0 = performance.now();
        const seen = arrived(body);
        await fromAlice(body);
        await seen;
        xs.push(performance.now() - t0);
      }
      return xs;
    };

    // Rounds alternate baseline and bridge, so a slow patch of Synapse hits both; medians of
    // the rounds' throughput, percentiles over every round's latency samples.
    const paths = [
      { name: 'Synapse alone (appservice token)', tput: (r: number) => throughput(`r${r}-base-t-`, direct), lat: (r: number) => latency(`r${r}-base-l-`, direct) },
      { name: 'loopback -> bridge -> Synapse', tput: (r: number) => throughput(`r${r}-bridge-t-`, viaBridge), lat: (r: number) => latency(`r${r}-bridge-l-`, viaBridge) },
      { name: 'Matrix client -> Synapse -> client', tput: (r: number) => outThroughput(`r${r}-out-base-t-`, carlSees), lat: (r: number) => outLatency(`r${r}-out-base-l-`, carlSees) },
      { name: 'Matrix client -> Synapse -> bridge -> loopback', tput: (r: number) => outThroughput(`r${r}-out-bridge-t-`, loopbackSees), lat: (r: number) => outLatency(`r${r}-out-bridge-l-`, loopbackSees) },
    ];
    const measured = paths.map(() => ({ tputs: [] as number[], lats: [] as number[] }));
    for (let r = 0; r < ROUNDS; r++) {
      for (const [i, path] of paths.entries()) {
        measured[i]!.tputs.push(await path.tput(r));
        measured[i]!.lats.push(...(await path.lat(r)));
      }
    }
    await carl.stop();
    await alice.stop();

    const row = (name: string, tput: number, lat: number[]) => ({ path: name, perSecond: Math.round(tput), p50Ms: Math.round(pct(lat, 50)), p95Ms: Math.round(pct(lat, 95)), p99Ms: Math.round(pct(lat, 99)) });
    const rows = paths.map((p, i) => ({ ...row(p.name, pct(measured[i]!.tputs, 50), measured[i]!.lats), rounds: measured[i]!.tputs.map(Math.round) }));
    console.log(`End to end, ${N} messages in one room each way, ${SAMPLES} latency samples, ${ROUNDS} rounds (Synapse on 127.0.0.1); msg/s is the median round`);
    for (const r of rows) console.log(`  ${r.path.padEnd(48)} ${String(r.perSecond).padStart(6)} msg/s (rounds ${r.rounds.join(', ')})   p50 ${r.p50Ms} ms   p95 ${r.p95Ms} ms   p99 ${r.p99Ms} ms`);
    const ratio = (b: (typeof rows)[number], x: (typeof rows)[number]) =>
      `${(x.perSecond / b.perSecond * 100).toFixed(0)}% of the baseline throughput; added latency p50 ${x.p50Ms - b.p50Ms} ms, p99 ${x.p99Ms - b.p99Ms} ms`;
    console.log(`  remote -> Matrix: ${ratio(rows[0]!, rows[1]!)}`);
    console.log(`  Matrix -> remote: ${ratio(rows[2]!, rows[3]!)}`);
    mkdirSync('bench/results', { recursive: true });
    writeFileSync('bench/results/e2e.json', JSON.stringify({ date: new Date().toISOString(), node: process.version, messages: N, samples: SAMPLES, rounds: ROUNDS, rows }, null, 2));
  } finally {
    await stack.stop();
  }
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
