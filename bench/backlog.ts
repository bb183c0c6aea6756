/**
 * The backlog of an outage, Matrix -> remote (issue 24, target 3), through a real Synapse on
 * 127.0.0.1: the bridge is stopped while alice posts BENCH_BACKLOG messages (default 10,000)
 * into BENCH_ROOMS - 1 busy portals (default 99; all rooms at once, each in order); room 0
 * stays quiet. Then the bridge starts, and:
 * - drain: when each backlog message reached the loopback network, from the bridge's spawn;
 *   messages per second from the first to the last arrival, and order within each portal;
 * - the quiet portal: alice writes there every BENCH_QUIET_EVERY_MS while the drain runs;
 *   latency from her send to the network.
 * The many-rooms rate it is held against is bench/many-rooms.ts's Matrix -> remote row.
 * Writes bench/results/backlog.json. Not an assertion anywhere: see docs/performance.md.
 */
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { Stack } from '../test/harness/stack.js';
import type { FromBridgeEntry } from '../test/harness/loopback-client.js';
import { cpuSeconds, outOfOrder, pct } from './lib/measure.js';
import { groupPortals, unlimited } from './lib/portals.js';

const ROOMS = Number(process.env.BENCH_ROOMS ?? 100);
const BACKLOG = Number(process.env.BENCH_BACKLOG ?? 10_000);
const QUIET_EVERY_MS = Number(process.env.BENCH_QUIET_EVERY_MS ?? 500);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function main(): Promise<void> {
  const stack = await Stack.start({ prosody: false, bridge: { logLevel: 'info', loopback: { puppets: [{ owner: '@alice:switchboard.test', user: 'alice' }] } } });
  const result: Record<string, unknown> = { date: new Date().toISOString(), node: process.version, rooms: ROOMS, backlog: BACKLOG };
  try {
    const alice = await stack.user('alice');
    await unlimited(stack, [alice.userId]);
    let t = performance.now();
    const rooms = await groupPortals(stack, alice, ROOMS);
    console.log(`${ROOMS} portals in ${Math.round((performance.now() - t) / 1000)} s`);

    // The outage: Synapse keeps what it cannot push.
    await stack.bridge.stop();
    const busy = ROOMS - 1;
    const perRoom = Array.from({ length: busy }, (_, i) => Math.floor(BACKLOG / busy) + (i < BACKLOG % busy ? 1 : 0));
    t = performance.now();
    await Promise.all(perRoom.map(async (n, i) => {
      for (let k = 0; k < n; k++) await alice.sendText(rooms[i + 1]!, `b:${i + 1}:${k}`);
    }));
    const postedS = (performance.now() - t) / 1000;
    console.log(`${BACKLOG} messages posted while the bridge was down, in ${postedS.toFixed(0)} s (${Math.round(BACKLOG / postedS)}/s)`);

    const synapseLog = join(stack.dir, 'synapse', 'homeserver.log');
    const contextReadsBefore = readFileSync(synapseLog, 'utf8').split('/context/').length;
    const synapseCpu0 = cpuSeconds(stack.synapse.process!.pid);
    const spawnedAt = performance.now();
    await stack.bridge.start({ waitReady: false });

    const arrived = new Map<string, number>();
    const order: string[] = [];
    let backlogSeen = 0;
    let since = 0;
    const quietSent = new Map<string, number>();
    let draining = true;
    const quiet = (async () => {
      for (let k = 0; draining; k++) {
        const body = `q:${k}`;
        quietSent.set(body, performance.now());
        await alice.sendText(rooms[0]!, body);
        await sleep(QUIET_EVERY_MS);
      }
    })();
    const deadline = spawnedAt + 1_800_000;
    while (backlogSeen < BACKLOG || [...quietSent.keys()].some((q) => !arrived.has(q))) {
      if (performance.now() > deadline) throw new Error(`${backlogSeen} of ${BACKLOG} backlog messages after 30 minutes`);
      let entries: FromBridgeEntry[];
      try {
        ({ entries } = await stack.loopback.call<{ entries: FromBridgeEntry[] }>('GET', `/from-bridge?since=${since}&wait_ms=1000`));
      } catch {
        await sleep(100); // the control API answers once the bridge has loaded
        continue;
      }
      const now = performance.now();
      for (const e of entries) {
        since = e.seq;
        const text = (e.event as { content?: { text?: string } }).content?.text?.replace(/^.*?: /, '');
        if (!text || arrived.has(text)) continue;
        arrived.set(text, now);
        if (text.startsWith('b:')) {
          backlogSeen++;
          order.push(text);
          if (backlogSeen === BACKLOG) draining = false;
        }
      }
    }
    draining = false;
    await quiet;
    const synapseCpu = cpuSeconds(stack.synapse.process!.pid) - synapseCpu0;
    const bridgeCpu = cpuSeconds(stack.bridge.process!.pid);

    const times = order.map((x) => arrived.get(x)! - spawnedAt);
    const first = Math.min(...times);
    const last = Math.max(...times);
    const quietDuringDrain = [...quietSent].filter(([, at]) => at - spawnedAt < last).map(([body, at]) => arrived.get(body)! - at);
    const contextReads = readFileSync(synapseLog, 'utf8').split('/context/').length - contextReadsBefore;
    result.drain = {
      firstArrivalMs: Math.round(first), lastArrivalMs: Math.round(last),
      perSecond: Math.round(BACKLOG / ((last - first) / 1000)), perSecondFromSpawn: Math.round(BACKLOG / (last / 1000)),
      outOfOrder: outOfOrder(order), missing: BACKLOG - backlogSeen, synapseCpuS: +synapseCpu.toFixed(1), bridgeCpuS: +bridgeCpu.toFixed(1), gapRepairContextReads: contextReads,
    };
    result.quiet = {
      sentDuringDrain: quietDuringDrain.length,
      p50Ms: Math.round(pct(quietDuringDrain, 50)), p99Ms: Math.round(pct(quietDuringDrain, 99)), maxMs: Math.round(Math.max(...quietDuringDrain)),
    };
    result.postedPerSecond = Math.round(BACKLOG / postedS);
    console.log(JSON.stringify(result, null, 2));
  } finally {
    await stack.stop({ keepDir: process.env.BENCH_KEEP === '1' });
    if (process.env.BENCH_KEEP === '1') console.log(`logs kept in ${stack.dir}`);
  }
  mkdirSync('bench/results', { recursive: true });
  writeFileSync('bench/results/backlog.json', JSON.stringify(result, null, 2));
}

main().then(() => process.exit(0), (err: unknown) => {
  console.error(err);
  process.exit(1);
});
