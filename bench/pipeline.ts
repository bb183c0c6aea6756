/**
 * The core pipeline alone: loopback network -> engine (real SQLite store in a temp file,
 * WAL) -> recording Matrix side, and Matrix -> engine -> loopback, for 1, 100 and 1,000
 * active portals. Reports messages per second, CPU per message, and the added latency
 * (from the event entering the engine to the Matrix call, or to the network, with one
 * message in flight) p50/p99.
 * Writes bench/results/pipeline.json. Not an assertion anywhere: see docs/performance.md.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { LoopbackAdapter, LoopbackWorld } from '../bridges/loopback/index.js';
import { Engine } from '../core/pipeline/engine.js';
import type { MatrixEventId, MatrixRoomId, MatrixUserId } from '../core/ids.js';
import { silentLogger } from '../core/log.js';
import { PostgresStore } from '../core/store/postgres/store.js';
import type { SqlStore } from '../core/store/sql-store.js';
import { SqliteStore } from '../core/store/sqlite.js';
import { Postgres } from '../test/harness/postgres.js';
import { ALICE, testConfig } from '../test/fakes/harness.js';
import { RecordingMatrix } from '../test/fakes/recording-matrix.js';
import { tempDir } from '../test/harness/proc.js';

const MESSAGES = Number(process.env.BENCH_MESSAGES ?? 10_000);
/** BENCH_STORE=postgres: the PostgreSQL store, on a cluster this benchmark starts (one new database per run). */
const STORE = process.env.BENCH_STORE === 'postgres' ? 'postgres' : 'sqlite';
let cluster: Postgres | undefined;

async function openStore(dir: string): Promise<SqlStore> {
  if (STORE === 'sqlite') return new SqliteStore({ path: join(dir, 'bench.db') });
  if (!cluster) {
    cluster = await Postgres.create();
    await cluster.start();
  }
  return new PostgresStore({ url: await cluster.createDatabase(), outageMs: 10_000 });
}
const LATENCY_SAMPLES = 500;

/** A recording Matrix side that notes when each message reached it. */
class TimedMatrix extends RecordingMatrix {
  readonly arrived = new Map<string, number>();
  override async sendEvent(roomId: MatrixRoomId, sender: MatrixUserId, type: string, content: Record<string, unknown>, txnId: string): Promise<MatrixEventId> {
    if (typeof content.body === 'string') this.arrived.set(content.body, performance.now());
    return super.sendEvent(roomId, sender, type, content, txnId);
  }
}

const pct = (xs: number[], p: number) => [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.floor((xs.length * p) / 100))]!;

interface Row { direction: string; portals: number; messages: number; perSecond: number; cpuUsPerMessage: number; p50Ms: number; p99Ms: number }

async function run(portals: number): Promise<Row[]> {
  const tmp = tempDir('bench-pipeline');
  const world = new LoopbackWorld();
  const matrix = new TimedMatrix();
  const store = await openStore(tmp.path);
  const engine = new Engine({ config: testConfig(), store, matrix, adapters: [new LoopbackAdapter(world)], log: silentLogger() });
  await engine.start();
  world.addUser('bob', 'Bob');
  for (let p = 0; p < portals; p++) world.addGroup(`g${p}`, { name: `Group ${p}`, members: ['alice', 'bob'] });
  // Warm-up: every portal gets its room and ghost before measuring.
  for (let p = 0; p < portals; p++) await world.say('bob', `g${p}`, `warm ${p}`);
  await engine.idle();
  const rows: Row[] = [];

  // Remote -> Matrix, throughput: the network delivers bursts of 50, as fast as it can
  // (an adapter hands over what arrived without waiting for each to be recorded).
  let cpu0 = process.cpuUsage();
  let t0 = performance.now();
  for (let i = 0; i < MESSAGES; i += 50) {
    const burst = [];
    for (let j = i; j < Math.min(MESSAGES, i + 50); j++) burst.push(world.say('bob', `g${j % portals}`, `r${j}`));
    await Promise.all(burst);
  }
  await engine.idle();
  let wall = performance.now() - t0;
  let cpu = process.cpuUsage(cpu0);
  // Latency: one message in flight at a time, so it measures the bridge, not a backlog.
  const latIn: number[] = [];
  for (let i = 0; i < LATENCY_SAMPLES; i++) {
    const at = performance.now();
    await world.say('bob', `g${i % portals}`, `l${i}`);
    await engine.idle();
    latIn.push(matrix.arrived.get(`l${i}`)! - at);
  }
  rows.push({ direction: 'remote -> Matrix', portals, messages: MESSAGES, perSecond: Math.round(MESSAGES / (wall / 1000)), cpuUsPerMessage: Math.round((cpu.user + cpu.system) / MESSAGES), p50Ms: +pct(latIn, 50).toFixed(2), p99Ms: +pct(latIn, 99).toFixed(2) });

  // Matrix -> remote: transactions of 50 events, as a homeserver sends them under load.
  const rooms = [...new Set(matrix.sends().map((s) => s.roomId))];
  const seen = new Map<string, number>();
  const original = world.fromSession.bind(world);
  world.fromSession = async (by, ev) => {
    if (ev.type === 'message') seen.set(ev.content.text, performance.now());
    return original(by, ev);
  };
  cpu0 = process.cpuUsage();
  t0 = performance.now();
  for (let i = 0; i < MESSAGES; i += 50) {
    const events = [];
    for (let j = i; j < Math.min(MESSAGES, i + 50); j++) {
      events.push({ type: 'm.room.message', room_id: rooms[j % rooms.length], sender: ALICE, event_id: `$b${j}`, origin_server_ts: Date.now(), content: { msgtype: 'm.text', body: `m${j}` } });
    }
    engine.handleTransaction(`bench${portals}-${i}`, events);
    await new Promise((r) => setImmediate(r));
  }
  await engine.idle();
  wall = performance.now() - t0;
  cpu = process.cpuUsage(cpu0);
  const latOut: number[] = [];
  for (let i = 0; i < LATENCY_SAMPLES; i++) {
    const at = performance.now();
    engine.handleTransaction(`lat${portals}-${i}`, [{ type: 'm.room.message', room_id: rooms[i % rooms.length], sender: ALICE, event_id: `$l${i}`, origin_server_ts: Date.now(), content: { msgtype: 'm.text', body: `o${i}` } }]);
    await engine.idle();
    latOut.push(seen.get(`o${i}`)! - at);
  }
  rows.push({ direction: 'Matrix -> remote', portals, messages: MESSAGES, perSecond: Math.round(MESSAGES / (wall / 1000)), cpuUsPerMessage: Math.round((cpu.user + cpu.system) / MESSAGES), p50Ms: +pct(latOut, 50).toFixed(2), p99Ms: +pct(latOut, 99).toFixed(2) });

  await engine.stop();
  await store.close();
  tmp.remove();
  return rows;
}

async function main(): Promise<void> {
  const rows: Row[] = [];
  // BENCH_PORTALS=1000 runs one size only (profiling).
  const sizes = process.env.BENCH_PORTALS ? process.env.BENCH_PORTALS.split(',').map(Number) : [1, 100, 1000];
  try {
    for (const portals of sizes) rows.push(...(await run(portals)));
  } finally {
    await cluster?.stop();
  }
  const storeName = STORE === 'sqlite' ? 'SQLite WAL in a temp file' : 'PostgreSQL 15 on loopback';
  console.log(`Core pipeline (loopback + engine + ${storeName} + recording Matrix side), ${MESSAGES} messages per run, Node ${process.version}`);
  console.log('  direction          portals   msg/s   CPU µs/msg   p50 ms   p99 ms');
  for (const r of rows) console.log(`  ${r.direction.padEnd(18)} ${String(r.portals).padStart(7)} ${String(r.perSecond).padStart(7)} ${String(r.cpuUsPerMessage).padStart(12)} ${String(r.p50Ms).padStart(8)} ${String(r.p99Ms).padStart(8)}`);
  mkdirSync('bench/results', { recursive: true });
  writeFileSync(`bench/results/pipeline${STORE === 'sqlite' ? '' : '-postgres'}.json`, JSON.stringify({ date: new Date().toISOString(), node: process.version, store: STORE, messages: MESSAGES, rows }, null, 2));
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
