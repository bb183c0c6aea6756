/**
 * Many rooms at once, end to end through a real Synapse on 127.0.0.1: BENCH_ROOMS
 * portals (default 50), each busy with BENCH_PER_ROOM messages (default 20), all rooms
 * in parallel and each room one message after another (as a portal's queue sends them).
 *
 * - remote -> Matrix: loopback network -> bridge -> Synapse -> alice's sync, against the
 *   homeserver alone: the same ghost posting the same messages into the same rooms with
 *   the bridge's appservice token; the same content too (the bridge marks a message that
 *   mentions nobody with an empty `m.mentions`, which Synapse validates against a JSON
 *   schema: about 0.8 ms of its CPU per event, measured with py-spy).
 * - Matrix -> remote: alice posts into every room; the very same messages are seen by
 *   carl's sync (Synapse delivering to one consumer: the baseline) and by the loopback
 *   network (through the bridge), so both are measured on one stream.
 *
 * Latency: from a message's send to its arrival, per message, over the whole run (the
 * load included). Added = bridge minus baseline, at the same percentile.
 * BENCH_ROUNDS rounds (default 2) alternate baseline and bridge for remote -> Matrix.
 * Then the same paths paced below Synapse's limit (BENCH_PACED_RATE msg/s over all rooms),
 * for the latency each path adds when nothing queues: in one phase, message by message
 * alternating between the paths, so both meet the same homeserver (its latency drifts as
 * its database grows and with its other work: phases one after another differed by more
 * than the bridge adds).
 * Writes bench/results/many-rooms.json. Not an assertion anywhere: see docs/performance.md.
 */
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { performance } from 'node:perf_hooks';
import { randomUUID } from 'node:crypto';
import { parse as parseYaml } from 'yaml';
import { Stack } from '../test/harness/stack.js';
import type { MatrixTestClient } from '../test/harness/matrix-client.js';
import { cpuSeconds, pct } from './lib/measure.js';
import { groupPortals, unlimited } from './lib/portals.js';
import type { FromBridgeEntry } from '../test/harness/loopback-client.js';

const ROOMS = Number(process.env.BENCH_ROOMS ?? 50);
const PER_ROOM = Number(process.env.BENCH_PER_ROOM ?? 20);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 2);
/** BENCH_SYNAPSE_DB=postgres: Synapse on PostgreSQL 15 (Debian's, a cluster the harness starts; psycopg2 from PyPI). */
const SYNAPSE_DB = process.env.BENCH_SYNAPSE_DB === 'postgres' ? 'PostgreSQL' : 'SQLite';
const PACED_RATE = Number(process.env.BENCH_PACED_RATE ?? 25);
const PACED_PER_ROOM = Number(process.env.BENCH_PACED_PER_ROOM ?? 5);

interface Run { perSecond: number; latencies: number[]; cpu?: Record<string, number> }

/** Each process's share of one core while `during` ran (1 = one core busy throughout). */
async function cpuShares<T>(pids: Record<string, number>, during: () => Promise<T>): Promise<[T, Record<string, number>]> {
  const t0 = performance.now();
  const before = Object.fromEntries(Object.entries(pids).map(([k, pid]) => [k, cpuSeconds(pid)]));
  const before0 = process.cpuUsage();
  const result = await during();
  const wall = (performance.now() - t0) / 1000;
  const shares = Object.fromEntries(Object.entries(pids).map(([k, pid]) => [k, +((cpuSeconds(pid) - before[k]!) / wall).toFixed(2)]));
  const own = process.cpuUsage(before0);
  shares['this benchmark (clients)'] = +((own.user + own.system) / 1e6 / wall).toFixed(2);
  return [result, shares];
}

/**
 * When each body with `prefix` first appeared in a client's sync: scanned after every sync
 * from now on (the client wakes its waiters per sync), so a time is the sync's, not the reader's.
 */
function arrivals(client: MatrixTestClient, prefix: string, expected: number, timeoutMs: number): { seen: Map<string, number>; all: Promise<void> } {
  const seen = new Map<string, number>();
  let scanned = 0;
  const scan = () => {
    const now = performance.now();
    for (; scanned < client.events.length; scanned++) {
      const body = client.events[scanned]!.content?.body;
      if (typeof body === 'string' && body.startsWith(prefix) && !seen.has(body)) seen.set(body, now);
    }
    return seen.size >= expected ? true : undefined;
  };
  const all = client.waitUntil(scan, timeoutMs).then((done) => {
    if (!done) throw new Error(`${client.userId}: ${seen.size} of ${expected} "${prefix}" messages within ${timeoutMs} ms`);
  });
  all.catch(() => undefined); // awaited by the caller; a failure before that is not unhandled
  return { seen, all };
}

/** Every room in parallel, each one message after another; returns when each message was sent. */
async function burst(prefix: string, send: (room: number, body: string) => Promise<unknown>): Promise<Map<string, number>> {
  const sentAt = new Map<string, number>();
  await Promise.all(Array.from({ length: ROOMS }, async (_, r) => {
    for (let i = 0; i < PER_ROOM; i++) {
      const body = `${prefix}${r}-${i}`;
      sentAt.set(body, performance.now());
      await send(r, body);
    }
  }));
  return sentAt;
}

/**
 * The same rooms at a pace the homeserver keeps up with (BENCH_PACED_RATE messages per second
 * over all rooms, default 25): each room sends every ROOMS / rate seconds, the rooms spread
 * over that interval, each message by the next of `paths` in turn. Latency here is the
 * path's own, not a queue's. Returns when each message was sent, by path.
 */
async function paced(paths: readonly (readonly [prefix: string, send: (room: number, body: string) => Promise<unknown>])[]): Promise<Map<string, number>[]> {
  const intervalMs = (ROOMS / PACED_RATE) * 1000;
  const sentAt = paths.map(() => new Map<string, number>());
  await Promise.all(Array.from({ length: ROOMS }, async (_, r) => {
    await new Promise((res) => setTimeout(res, (r * intervalMs) / ROOMS));
    for (let i = 0; i < PACED_PER_ROOM; i++) {
      const began = performance.now();
      const k = (r + i) % paths.length;
      const [prefix, send] = paths[k]!;
      const body = `${prefix}${r}-${i}`;
      sentAt[k]!.set(body, began);
      await send(r, body);
      await new Promise((res) => setTimeout(res, Math.max(0, intervalMs - (performance.now() - began))));
    }
  }));
  return sentAt;
}

function measure(sentAt: Map<string, number>, seen: Map<string, number>): Run {
  const latencies = [...sentAt].map(([body, at]) => seen.get(body)! - at);
  const first = Math.min(...sentAt.values());
  const last = Math.max(...[...sentAt.keys()].map((b) => seen.get(b)!));
  return { perSecond: sentAt.size / ((last - first) / 1000), latencies };
}

async function main(): Promise<void> {
  const stack = await Stack.start({ prosody: false, synapseOnPostgres: SYNAPSE_DB === 'PostgreSQL', bridge: { logLevel: 'info', loopback: { puppets: [{ owner: '@alice:switchboard.test', user: 'alice' }] } } });
  const runs: Record<string, Run[]> = {};
  const note = (name: string, run: Run) => (runs[name] ??= []).push(run);
  try {
    const alice = await stack.user('alice');
    const carl = await stack.user('carl');
    await unlimited(stack, [alice.userId, carl.userId]);
    const byGroup = await groupPortals(stack, alice, ROOMS, [carl]);
    const ghost = stack.ghost('bob');
    const asToken = (parseYaml(readFileSync(stack.bridge.registrationFile, 'utf8')) as { as_token: string }).as_token;
    const direct = async (room: number, body: string) => {
      const url = `${stack.synapse.url}/_matrix/client/v3/rooms/${encodeURIComponent(byGroup[room]!)}/send/m.room.message/${randomUUID()}?user_id=${encodeURIComponent(ghost)}`;
      const res = await fetch(url, { method: 'PUT', headers: { authorization: `Bearer ${asToken}`, 'content-type': 'application/json' }, body: JSON.stringify({ msgtype: 'm.text', body, 'm.mentions': {} }) });
      if (!res.ok) throw new Error(`baseline send failed: ${res.status} ${await res.text()}`);
    };
    const total = ROOMS * PER_ROOM;
    const timeoutMs = 600_000;
    const pids = () => ({ synapse: stack.synapse.process!.pid, bridge: stack.bridge.process!.pid });

    // remote -> Matrix: Synapse alone, then through the bridge.
    const remoteToMatrix = [['Synapse alone (appservice token, same ghost)', direct], ['loopback -> bridge -> Synapse', (r: number, body: string) => stack.loopback.say('bob', `g${r}`, body)]] as const;
    for (let round = 0; round < ROUNDS; round++) {
      for (const [name, send] of remoteToMatrix) {
        const prefix = `${round}${name.startsWith('Synapse') ? 'a' : 'b'}:`;
        const seen = arrivals(alice, prefix, total, timeoutMs);
        const [sentAt, cpu] = await cpuShares(pids(), async () => {
          const sent = await burst(prefix, send);
          await seen.all;
          return sent;
        });
        note(`remote -> Matrix | ${name}`, { ...measure(sentAt, seen.seen), cpu });
      }
    }
    // Latency at a pace Synapse keeps up with, remote -> Matrix, both paths in one phase.
    {
      const paths = remoteToMatrix.map(([name, send]) => [`paced${name.startsWith('Synapse') ? 'a' : 'b'}:`, send] as const);
      const seen = paths.map(([prefix]) => arrivals(alice, prefix, (ROOMS * PACED_PER_ROOM) / paths.length, timeoutMs));
      const sentAt = await paced(paths);
      for (const [k, [name]] of remoteToMatrix.entries()) {
        await seen[k]!.all;
        note(`paced remote -> Matrix | ${name}`, measure(sentAt[k]!, seen[k]!.seen));
      }
    }
    // Matrix -> remote: one stream, two consumers.
    {
      const prefix = 'out:';
      const carlSaw = arrivals(carl, prefix, total, timeoutMs);
      const loopbackSaw = new Map<string, number>();
      let since = 0;
      let polling = true;
      const poll = (async () => {
        while (polling || loopbackSaw.size < total) {
          const { entries } = await stack.loopback.call<{ entries: FromBridgeEntry[] }>('GET', `/from-bridge?since=${since}&wait_ms=1000`);
          const now = performance.now();
          for (const e of entries) {
            since = e.seq;
            const text = (e.event as { content?: { text?: string } }).content?.text;
            if (text?.startsWith(prefix) && !loopbackSaw.has(text)) loopbackSaw.set(text, now);
          }
          if (!polling && loopbackSaw.size >= total) break;
        }
      })();
      const [sentAt, cpu] = await cpuShares(pids(), async () => {
        const sent = await burst(prefix, (r, body) => alice.sendText(byGroup[r]!, body));
        await carlSaw.all;
        const deadline = Date.now() + timeoutMs;
        while (loopbackSaw.size < total && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
        return sent;
      });
      polling = false;
      if (loopbackSaw.size < total) throw new Error(`the loopback network saw ${loopbackSaw.size} of ${total}`);
      await poll;
      note('Matrix -> remote | Matrix client -> Synapse -> client', { ...measure(sentAt, carlSaw.seen), cpu });
      note('Matrix -> remote | Matrix client -> Synapse -> bridge -> loopback', { ...measure(sentAt, loopbackSaw), cpu });
    }
  } finally {
    // BENCH_KEEP=1 keeps the servers' logs (Synapse's access log shows every request the bridge made).
    await stack.stop({ keepDir: process.env.BENCH_KEEP === '1' });
    if (process.env.BENCH_KEEP === '1') console.log(`logs kept in ${stack.dir}`);
  }

  // Per path: the median round's throughput, latency percentiles over every sample.
  const rows = Object.entries(runs).map(([path, rs]) => {
    const all = rs.flatMap((r) => r.latencies);
    return { path, perSecond: Math.round(pct(rs.map((r) => r.perSecond), 50)), p50Ms: Math.round(pct(all, 50)), p99Ms: Math.round(pct(all, 99)), rounds: rs.map((r) => Math.round(r.perSecond)), cpu: rs.map((r) => r.cpu) };
  });
  console.log(`${ROOMS} rooms x ${PER_ROOM} messages at once, through Synapse (${SYNAPSE_DB}) on 127.0.0.1, Node ${process.version}`);
  console.log('  path                                                                   msg/s   p50 ms   p99 ms   rounds');
  for (const r of rows) console.log(`  ${r.path.padEnd(70)} ${String(r.perSecond).padStart(6)} ${String(r.p50Ms).padStart(8)} ${String(r.p99Ms).padStart(8)}   ${r.rounds.join(', ')}   CPU (cores): ${JSON.stringify(r.cpu.at(-1))}`);
  mkdirSync('bench/results', { recursive: true });
  writeFileSync(`bench/results/many-rooms${SYNAPSE_DB === 'SQLite' ? '' : '-postgres'}.json`, JSON.stringify({ date: new Date().toISOString(), node: process.version, synapseDatabase: SYNAPSE_DB, rooms: ROOMS, perRoom: PER_ROOM, rows }, null, 2));
}

main().then(() => process.exit(0), (err: unknown) => {
  console.error(err);
  process.exit(1);
});
