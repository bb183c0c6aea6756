/**
 * Memory and start-up with a big store: 10,000 portals and 100,000 ghosts (and their
 * message map rows), then a fresh engine started on that database, as a restarted bridge
 * would be. Reports RSS idle after start and the time from opening the store to ready.
 * Run in its own process (RSS is per process). Writes bench/results/memory.json.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { LoopbackAdapter, LoopbackWorld } from '../bridges/loopback/index.js';
import { Engine } from '../core/pipeline/engine.js';
import { matrixEventId, matrixRoomId, matrixUserId, networkId, remoteChatId, remoteMessageId, remoteUserId } from '../core/ids.js';
import { silentLogger } from '../core/log.js';
import { SqliteStore } from '../core/store/sqlite.js';
import { testConfig } from '../test/fakes/harness.js';
import { RecordingMatrix } from '../test/fakes/recording-matrix.js';
import { tempDir } from '../test/harness/proc.js';

const PORTALS = Number(process.env.BENCH_PORTALS ?? 10_000);
const GHOSTS = Number(process.env.BENCH_GHOSTS ?? 100_000);
const mb = (n: number) => Math.round(n / 1024 / 1024);

async function main(): Promise<void> {
  const tmp = tempDir('bench-memory');
  const file = join(tmp.path, 'big.db');
  const seed = new SqliteStore({ path: file });
  const t0 = performance.now();
  const net = networkId('loopback');
  seed.transaction(() => {
    for (let p = 0; p < PORTALS; p++) {
      seed.upsertPortal({ portalKey: `loopback/g${p}/`, network: net, chatId: remoteChatId(`g${p}`), kind: 'group', roomId: matrixRoomId(`!r${p}:example.org`), name: `Group ${p}` });
      for (let m = 0; m < 5; m++) seed.addMessagePart(`loopback/g${p}/`, { remoteId: remoteMessageId(`m${p}-${m}`), part: 0, roomId: matrixRoomId(`!r${p}:example.org`), eventId: matrixEventId(`$e${p}-${m}`) });
    }
    for (let g = 0; g < GHOSTS; g++) seed.putGhost({ userId: matrixUserId(`@_loopback_u${g}:example.org`), network: net, remoteId: remoteUserId(`u${g}`), name: `User ${g}`, registered: true });
  });
  seed.close();
  const seeded = performance.now() - t0;

  global.gc?.();
  const rssBefore = process.memoryUsage().rss;
  const startAt = performance.now();
  const store = new SqliteStore({ path: file });
  const engine = new Engine({ config: testConfig(), store, matrix: new RecordingMatrix(), adapters: [new LoopbackAdapter(new LoopbackWorld())], log: silentLogger() });
  await engine.start();
  const readyMs = performance.now() - startAt;
  await new Promise((r) => setTimeout(r, 200));
  global.gc?.();
  const rssIdle = process.memoryUsage().rss;
  const heap = process.memoryUsage().heapUsed;
  await engine.stop();
  store.close();
  tmp.remove();

  const result = { portals: PORTALS, ghosts: GHOSTS, messageRows: PORTALS * 5, seedSeconds: +(seeded / 1000).toFixed(1), startToReadyMs: Math.round(readyMs), rssBeforeMb: mb(rssBefore), rssIdleMb: mb(rssIdle), heapUsedMb: mb(heap) };
  console.log(`Memory and start-up, ${PORTALS} portals, ${GHOSTS} ghosts, ${PORTALS * 5} message rows (Node ${process.version})`);
  console.log(`  store open -> engine ready   ${result.startToReadyMs} ms`);
  console.log(`  RSS idle after start         ${result.rssIdleMb} MB (process before opening the store: ${result.rssBeforeMb} MB; JS heap ${result.heapUsedMb} MB)`);
  mkdirSync('bench/results', { recursive: true });
  writeFileSync('bench/results/memory.json', JSON.stringify({ date: new Date().toISOString(), node: process.version, ...result }, null, 2));
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
