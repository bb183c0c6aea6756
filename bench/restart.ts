/**
 * Start-up of the bridge process: after a SIGKILL, how long until it logs "bridge ready"
 * and until a message sent on the network right at the kill is in the Matrix room, with
 * real Synapse; and the idle RSS of the process. The bundle with V8's code cache (what `bin/`
 * and `npm start` run), the bundle without it, the compiled files one by one (dist/core/)
 * and the TypeScript sources through tsx (what they ran before); and `node -e 0`, the floor
 * of this machine in the same run.
 * BENCH_RESTART_ROUNDS rounds each (default 5), alternating; medians reported.
 * Writes bench/results/restart.json. Not an assertion anywhere: see docs/performance.md.
 */
import { spawnSync } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { REPO_ROOT } from '../test/harness/bridge.js';
import { Stack } from '../test/harness/stack.js';

const ROUNDS = Number(process.env.BENCH_RESTART_ROUNDS ?? 5);
const VARIANTS: Record<string, string[] | undefined> = {
  'bundle + code cache (bin/)': undefined,
  'bundle, no code cache': [join(REPO_ROOT, 'dist', 'bundle', 'main.cjs')],
  'compiled, file by file (dist/core/)': [join(REPO_ROOT, 'dist', 'core', 'cli', 'main.js')],
  'TypeScript through tsx': ['--import', 'tsx', join(REPO_ROOT, 'core', 'cli', 'main.ts')],
};
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
const rssMb = (pid: number) => Number(/VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))![1]) / 1024;

async function main(): Promise<void> {
  const stack = await Stack.start({ prosody: false, bridge: { logLevel: 'info', loopback: { puppets: [{ owner: '@alice:switchboard.test', user: 'alice' }] } } });
  const samples: Record<string, { firstLogMs: number[]; listeningMs: number[]; readyMs: number[]; firstMessageMs: number[]; rssMb: number[] }> = {};
  try {
    const alice = await stack.user('alice');
    await stack.loopback.addUser('bob', 'Bob');
    await stack.loopback.addGroup('restart', { name: 'Restart', members: ['alice', 'bob'] });
    await stack.loopback.say('bob', 'restart', 'warm-up');
    const room = await alice.waitForInvite();
    await alice.join(room);
    await alice.waitFor((e) => e.room_id === room && e.content.body === 'warm-up', 'the warm-up message');
    let n = 0;
    for (let round = 0; round < ROUNDS; round++) {
      for (const [name, entry] of Object.entries(VARIANTS)) {
        const s = (samples[name] ??= { firstLogMs: [], listeningMs: [], readyMs: [], firstMessageMs: [], rssMb: [] });
        await stack.bridge.stop('SIGKILL');
        const t0 = performance.now();
        const wall0 = Date.now();
        await stack.bridge.start({ waitReady: false, ...(entry && { entry }) });
        // The loopback network lives in the bridge process: its control API answers once loaded.
        const body = `after restart ${++n}`;
        const sent = (async () => {
          for (;;) {
            try {
              return await stack.loopback.say('bob', 'restart', body);
            } catch {
              await new Promise((r) => setTimeout(r, 5));
            }
          }
        })();
        await stack.bridge.ready();
        // ready() polls the log; the lines' own time stamps say when they were written.
        const output = stack.bridge.process!.output();
        s.readyMs.push(loggedAt(output, 'bridge ready') - wall0);
        s.firstLogMs.push(loggedAt(output) - wall0);
        s.listeningMs.push(loggedAt(output, 'appservice listening') - wall0);
        await sent;
        await alice.waitFor((e) => e.room_id === room && e.content?.body === body, body, 60_000);
        s.firstMessageMs.push(performance.now() - t0);
        await new Promise((r) => setTimeout(r, 2_000));
        s.rssMb.push(rssMb(stack.bridge.process!.pid));
      }
    }
  } finally {
    await stack.stop();
  }
  const rows = Object.entries(samples).map(([variant, s]) => ({
    variant, firstLogMs: Math.round(median(s.firstLogMs)), listeningMs: Math.round(median(s.listeningMs)), readyMs: Math.round(median(s.readyMs)),
    firstMessageMs: Math.round(median(s.firstMessageMs)), rssMb: Math.round(median(s.rssMb)), samples: s,
  }));
  console.log(`Bridge restart after SIGKILL (loopback network, Synapse on 127.0.0.1), ms from spawn, median of ${ROUNDS}, Node ${process.version}`);
  console.log('  variant                              first log line   listening   ready   first message   idle RSS MB');
  for (const r of rows) console.log(`  ${r.variant.padEnd(36)} ${String(r.firstLogMs).padStart(14)} ${String(r.listeningMs).padStart(11)} ${String(r.readyMs).padStart(7)} ${String(r.firstMessageMs).padStart(15)} ${String(r.rssMb).padStart(13)}`);
  // The floor on this machine in this run: Node starting and exiting with no code at all
  // (how fast the VM is today moves every figure above; this moves with them).
  const floorMs = Math.round(median(Array.from({ length: 11 }, () => {
    const t0 = performance.now();
    spawnSync(process.execPath, ['-e', '0']);
    return performance.now() - t0;
  })));
  console.log(`  node -e 0 (no code: the floor)  ${floorMs} ms`);
  mkdirSync('bench/results', { recursive: true });
  writeFileSync('bench/results/restart.json', JSON.stringify({ date: new Date().toISOString(), node: process.version, rounds: ROUNDS, floorMs, rows }, null, 2));
}

/** When (ms since the epoch) the process's first log line, or its line with message `msg`, was written (pino JSON). */
function loggedAt(log: string, msg?: string): number {
  const lines = log.split('\n').filter((l) => l.startsWith('{'));
  const line = msg ? lines.find((l) => l.includes(`"msg":"${msg}"`))! : lines[0]!;
  return (JSON.parse(line) as { time: number }).time;
}

main().then(() => process.exit(0), (err: unknown) => {
  console.error(err);
  process.exit(1);
});
