/**
 * CPU per XMPP login against the harness's Prosody (127.0.0.1): @xmpp/client's own
 * SCRAM-SHA-1, the bridge's SCRAM with the password (first login), and with the keys
 * it stored (every login after). CPU is this process's user+system time around one
 * login, TLS handshake included. Prints a table; writes bench/results/xmpp-login.json.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { client } from '@xmpp/client';
import { createConnection } from '../bridges/xmpp/connection.js';
import type { ScramKeys } from '../bridges/xmpp/scram.js';
import { Prosody } from '../test/harness/prosody.js';
import { tempDir } from '../test/harness/proc.js';
import { trustForHost } from '../test/harness/xmpp-person.js';

const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 5);

async function cpuOf(run: () => Promise<void>): Promise<number> {
  const before = process.cpuUsage();
  await run();
  const used = process.cpuUsage(before);
  return (used.user + used.system) / 1000;
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

async function main(): Promise<void> {
  const tmp = tempDir('bench-xmpp');
  const prosody = await Prosody.create({ dir: tmp.path });
  await prosody.start();
  prosody.register('bench', 'bench-password');
  trustForHost(prosody.domain, prosody.certFile);
  const service = `xmpp://127.0.0.1:${prosody.c2sPort}`;
  let keys: ScramKeys | undefined;
  const ours = (useKeys: boolean) => async () => {
    const { client: c } = createConnection({
      service, domain: prosody.domain, resource: 'bench', caFile: prosody.certFile,
      credentials: { username: 'bench', ...(useKeys ? { keys } : { password: 'bench-password' }), onKeys: (k) => { keys = k; } },
    });
    c.on('error', () => undefined);
    await c.start();
    await c.stop();
  };
  const theirs = async () => {
    const c = client({ service, domain: prosody.domain, resource: 'bench', username: 'bench', password: 'bench-password' });
    c.reconnect.stop();
    c.on('error', () => undefined);
    await c.start();
    await c.stop();
  };
  const rows: { case: string; medianCpuMs: number; samples: number[] }[] = [];
  try {
    for (const [name, run] of [
      ['@xmpp/client 0.14 SCRAM-SHA-1 (password)', theirs],
      ['Switchboard SCRAM-SHA-1, password (first login)', ours(false)],
      ['Switchboard SCRAM-SHA-1, stored keys (every later login)', ours(true)],
    ] as const) {
      await run(); // warm-up: module loading and JIT are not a login's cost
      const samples: number[] = [];
      for (let i = 0; i < ROUNDS; i++) samples.push(await cpuOf(run));
      rows.push({ case: name, medianCpuMs: Number(median(samples).toFixed(1)), samples: samples.map((s) => Number(s.toFixed(1))) });
    }
  } finally {
    await prosody.stop();
    tmp.remove();
  }
  console.log(`XMPP login CPU (median of ${ROUNDS}, Node ${process.version}, Prosody on 127.0.0.1)`);
  for (const r of rows) console.log(`  ${r.case.padEnd(58)} ${String(r.medianCpuMs).padStart(8)} ms`);
  mkdirSync('bench/results', { recursive: true });
  writeFileSync('bench/results/xmpp-login.json', JSON.stringify({ date: new Date().toISOString(), node: process.version, rounds: ROUNDS, rows }, null, 2));
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
