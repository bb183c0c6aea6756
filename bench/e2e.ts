/**
 * End to end through a real Synapse on 127.0.0.1: loopback network -> bridge (its own
 * process) -> Synapse -> a Matrix client, against the homeserver-alone baseline: the
 * same messages sent straight to Synapse with the bridge's appservice token as the same
 * ghost, into the same room, seen by the same client. Throughput (N messages, one portal,
 * so both go one after another) and one-in-flight latency. Writes bench/results/e2e.json.
 */
import { readFileSync, mkdirSync, writeFileSync } from 'node:fs';
import { performance } from 'node:perf_hooks';
import { randomUUID } from 'node:crypto';
import { parse as parseYaml } from 'yaml';
import { Stack } from '../test/harness/stack.js';

const N = Number(process.env.BENCH_E2E_MESSAGES ?? 500);
const SAMPLES = Number(process.env.BENCH_E2E_SAMPLES ?? 50);
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
    const seen = (prefix: string) => alice.events.filter((e) => e.room_id === room && String(e.content?.body ?? '').startsWith(prefix)).length;
    const waitCount = (prefix: string, count: number) => alice.waitFor(() => seen(prefix) >= count, `${count} × ${prefix}`, 300_000);

    const throughput = async (prefix: string, send: (body: string) => Promise<unknown>) => {
      const t0 = performance.now();
      for (let i = 0; i < N; i++) await send(`${prefix}${i}`);
      await waitCount(prefix, N);
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

    const baseTput = await throughput('base-t-', direct);
    const bridgeTput = await throughput('bridge-t-', viaBridge);
    const baseLat = await latency('base-l-', direct);
    const bridgeLat = await latency('bridge-l-', viaBridge);
    await alice.stop();

    const row = (name: string, tput: number, lat: number[]) => ({ path: name, perSecond: Math.round(tput), p50Ms: Math.round(pct(lat, 50)), p95Ms: Math.round(pct(lat, 95)), p99Ms: Math.round(pct(lat, 99)) });
    const rows = [row('Synapse alone (appservice token)', baseTput, baseLat), row('loopback -> bridge -> Synapse', bridgeTput, bridgeLat)];
    console.log(`End to end, ${N} messages into one room, ${SAMPLES} latency samples, arrival seen by a syncing client (Synapse on 127.0.0.1)`);
    for (const r of rows) console.log(`  ${r.path.padEnd(34)} ${String(r.perSecond).padStart(6)} msg/s   p50 ${r.p50Ms} ms   p95 ${r.p95Ms} ms   p99 ${r.p99Ms} ms`);
    console.log(`  ratio: ${(bridgeTput / baseTput * 100).toFixed(0)}% of the baseline throughput; added latency p50 ${rows[1]!.p50Ms - rows[0]!.p50Ms} ms, p99 ${rows[1]!.p99Ms - rows[0]!.p99Ms} ms`);
    mkdirSync('bench/results', { recursive: true });
    writeFileSync('bench/results/e2e.json', JSON.stringify({ date: new Date().toISOString(), node: process.version, messages: N, samples: SAMPLES, rows }, null, 2));
  } finally {
    await stack.stop();
  }
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
