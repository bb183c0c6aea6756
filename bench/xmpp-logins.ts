/**
 * Many XMPP logins on one bridge (issue 24, target 4), against the harness's Prosody and
 * Synapse on 127.0.0.1: BENCH_LOGINS accounts (default 1,000) made through Prosody's admin
 * console, each logged in once with the bridge's own SCRAM (what `login xmpp` does, to get
 * the keys it stores), then written to the bridge's store as `login xmpp` would leave them.
 *
 * Measured:
 * - idle RSS of the bridge process with its relay login only, and with every login
 *   connected, after the same settling time: the difference per login;
 * - start (SIGTERM before) and restart after a SIGKILL: time from spawn until every login is
 *   connected (from the bridge's metrics), connection attempts that failed (the bridge's
 *   `connect failed` lines) and what Prosody logged as refused or errored;
 * - during the SIGKILL storm, a contact writes to the last login (the one connected last):
 *   when the message reaches its owner in Matrix.
 * Writes bench/results/xmpp-logins.json. Not an assertion anywhere: see docs/performance.md.
 */
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { Stack } from '../test/harness/stack.js';
import { XmppPerson } from '../test/harness/xmpp-person.js';
import { cpuSeconds, median } from './lib/measure.js';
import { deriveKeys, storeLogins } from './lib/xmpp.js';

const LOGINS = Number(process.env.BENCH_LOGINS ?? 1000);
/** How long an idle bridge is left before its RSS is read, and over how many samples (1 s apart) the median is taken. */
const SETTLE_MS = Number(process.env.BENCH_SETTLE_MS ?? 20_000);
const SAMPLES = 5;

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function rssKb(pid: number): number {
  const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  if (!m) throw new Error(`no VmRSS for ${pid}`);
  return Number(m[1]);
}

/** A gauge of the bridge's own process metrics (prom-client's defaults), in kB. */
async function gaugeKb(metricsUrl: string, name: string): Promise<number> {
  const text = await (await fetch(metricsUrl)).text();
  const m = new RegExp(`^switchboard_${name} (\\S+)`, 'm').exec(text);
  return m ? Math.round(Number(m[1]) / 1024) : NaN;
}

interface Memory { rssKb: number; heapUsedKb: number; externalKb: number }

/** The median of SAMPLES readings, 1 s apart, after SETTLE_MS of idling. */
async function idleMemory(pid: number, metricsUrl: string): Promise<Memory> {
  await sleep(SETTLE_MS);
  const xs: Memory[] = [];
  for (let i = 0; i < SAMPLES; i++) {
    xs.push({ rssKb: rssKb(pid), heapUsedKb: await gaugeKb(metricsUrl, 'nodejs_heap_size_used_bytes'), externalKb: await gaugeKb(metricsUrl, 'nodejs_external_memory_bytes') });
    await sleep(1_000);
  }
  return { rssKb: median(xs.map((x) => x.rssKb)), heapUsedKb: median(xs.map((x) => x.heapUsedKb)), externalKb: median(xs.map((x) => x.externalKb)) };
}

/** Connected xmpp logins as the bridge's metrics count them (the relay included). */
async function connectedLogins(metricsUrl: string): Promise<number> {
  try {
    const text = await (await fetch(metricsUrl)).text();
    const m = /^switchboard_logins\{network="xmpp",state="connected"\} (\d+)/m.exec(text);
    return m ? Number(m[1]) : 0;
  } catch {
    return 0; // not listening yet
  }
}

const countOf = (text: string, needle: string) => text.split(needle).length - 1;

async function main(): Promise<void> {
  const stack = await Stack.start({ xmpp: true, bridge: { logLevel: 'info', extra: { metrics: { enabled: true } } } });
  const prosody = stack.prosody!;
  const result: Record<string, unknown> = { date: new Date().toISOString(), node: process.version, logins: LOGINS };
  try {
    const accounts = Array.from({ length: LOGINS }, (_, i) => ({ user: `u${i}`, password: `pw-${i}-${Math.random().toString(36).slice(2)}` }));
    let t = performance.now();
    prosody.registerMany([...accounts, { user: 'contact', password: 'contact-pw' }]);
    console.log(`${LOGINS + 1} Prosody accounts in ${Math.round(performance.now() - t)} ms`);
    const metricsUrl = `${stack.bridge.url}/metrics`;
    const bridgePid = () => stack.bridge.process!.pid;

    // The bridge with its relay login only.
    const empty = await idleMemory(bridgePid(), metricsUrl);
    console.log(`idle, relay login only: ${JSON.stringify(empty)}`);

    // What `login xmpp` stores: the SCRAM keys of one successful login.
    t = performance.now();
    const keys = await deriveKeys(stack, accounts);
    console.log(`${keys.size} first logins (keys derived) in ${Math.round(performance.now() - t)} ms`);
    await stack.bridge.stop();
    await storeLogins(stack, accounts, keys);

    /** Spawn the bridge; resolves with the ms from spawn until every login is connected. */
    const startAndCount = async (label: string, during?: () => Promise<void>) => {
      const prosodyLogBefore = readFileSync(join(prosody.dir, 'prosody.log'), 'utf8').length;
      const prosodyCpu0 = cpuSeconds(prosody.process!.pid);
      const t0 = performance.now();
      await stack.bridge.start({ waitReady: false });
      const side = during?.();
      let connected = 0;
      while ((connected = await connectedLogins(metricsUrl)) < LOGINS + 1) {
        if (performance.now() - t0 > 600_000) throw new Error(`${label}: ${connected} of ${LOGINS + 1} logins connected after 600 s`);
        await sleep(100);
      }
      const allMs = Math.round(performance.now() - t0);
      const cpu = { bridgeS: cpuSeconds(bridgePid()), prosodyS: +(cpuSeconds(prosody.process!.pid) - prosodyCpu0).toFixed(2) };
      await side;
      const out = stack.bridge.process!.output();
      const prosodyLog = readFileSync(join(prosody.dir, 'prosody.log'), 'utf8').slice(prosodyLogBefore);
      const row = {
        allConnectedMs: allMs,
        cpu,
        failedAttempts: countOf(out, 'connect failed; retrying'),
        prosodyErrors: prosodyLog.split('\n').filter((l) => /\b(error|warn)\b/i.test(l)).length,
      };
      console.log(`${label}: all ${LOGINS} logins connected ${allMs} ms after spawn; failed attempts ${row.failedAttempts}; Prosody warnings/errors ${row.prosodyErrors}; CPU s bridge ${cpu.bridgeS} Prosody ${cpu.prosodyS}`);
      return row;
    };

    result.start = await startAndCount('start after SIGTERM');
    const full = await idleMemory(bridgePid(), metricsUrl);
    const perLogin = (k: keyof Memory) => Math.round(((full[k] - empty[k]) / LOGINS) * 10) / 10;
    result.memory = { empty, full, perLoginKb: { rss: perLogin('rssKb'), heapUsed: perLogin('heapUsedKb'), external: perLogin('externalKb') } };
    console.log(`idle, ${LOGINS} logins connected: ${JSON.stringify(full)}; per login kB ${JSON.stringify((result.memory as { perLoginKb: unknown }).perLoginKb)}`);

    // The storm: SIGKILL, start again; a contact writes to the last login meanwhile.
    const last = accounts[LOGINS - 1]!;
    const owner = await stack.user(last.user);
    const contact = await XmppPerson.connect(prosody, 'contact', 'contact-pw');
    await stack.bridge.stop('SIGKILL');
    let arrivedMs: number | undefined;
    result.restart = await startAndCount('restart after SIGKILL', async () => {
      const sentAt = performance.now();
      await contact.say(`${last.user}@${prosody.domain}`, 'written during the storm');
      const room = await owner.waitForInvite(() => true, 600_000);
      await owner.join(room);
      await owner.waitFor((e) => e.content?.body === 'written during the storm', 'the message written during the storm', 600_000);
      arrivedMs = Math.round(performance.now() - sentAt);
    });
    (result.restart as Record<string, unknown>).messageToLastLoginMs = arrivedMs;
    console.log(`message to the last login (u${LOGINS - 1}) reached its owner's Matrix client ${arrivedMs} ms after it was sent`);
  } finally {
    await stack.stop({ keepDir: process.env.BENCH_KEEP === '1' });
    if (process.env.BENCH_KEEP === '1') console.log(`logs kept in ${stack.dir}`);
  }
  mkdirSync('bench/results', { recursive: true });
  writeFileSync('bench/results/xmpp-logins.json', JSON.stringify(result, null, 2));
}

main().then(() => process.exit(0), (err: unknown) => {
  console.error(err);
  process.exit(1);
});
