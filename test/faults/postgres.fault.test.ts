/**
 * Fault injection on the PostgreSQL store with a hot standby (issue 20): two bridge
 * processes on one PostgreSQL 15 store and one registration, HAProxy in front of them
 * (its health check, `/ready`, finds the leader), and a numbered stream of messages both
 * ways through two XMPP MUC portals, while the leader is SIGKILLed (the standby takes
 * over), PostgreSQL is killed (SIGKILL) and restarted, and PostgreSQL is restarted cleanly.
 * Real Synapse, real Prosody, real PostgreSQL, real HAProxy.
 *
 * A process that ends itself (exit 75: its PostgreSQL transaction or its leader lock was
 * lost) is started again by the test, as systemd's `Restart=on-failure` would; it comes
 * back as the standby or, if the lock is free, the leader. Then, per portal: every message
 * arrived, exactly once, in order. The table and the take-over time are printed.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { BridgeProcess } from '../harness/bridge.js';
import type { MatrixTestClient } from '../harness/matrix-client.js';
import type { ServerProcess } from '../harness/proc.js';
import { Stack } from '../harness/stack.js';
import { XmppPerson } from '../harness/xmpp-person.js';
import { marker, matrixStream, parseMarker, sleep, Streams, table, type Direction, type Row } from './stream.js';

const PORTALS = ['mucone', 'muctwo'];
const mucOf = (portal: string) => `${portal}@conference.xmpp.test`;
const SCALE = Number(process.env.FAULTS_SCALE ?? 1);
const PHASES = [
  { name: 'steady on PostgreSQL', count: 100 },
  { name: 'leader SIGKILL, standby takes over', count: 200 },
  { name: 'PostgreSQL SIGKILL', count: 200 },
  { name: 'PostgreSQL restart', count: 150 },
].map((p) => ({ ...p, count: Math.round(p.count * SCALE) }));
const PACE_MS = 28;

const random = (lo: number, hi: number) => lo + Math.random() * (hi - lo);

describe('fault injection on PostgreSQL with a hot standby: nothing lost, nothing twice, in order', { timeout: 900_000 }, () => {
  let stack: Stack;
  let alice: MatrixTestClient;
  let xena: XmppPerson;
  const rooms = new Map<string, string>();
  const streams = new Streams();
  const rows: Row[] = [];
  /** Processes that ended themselves, with their exit codes; the test started each again. */
  const exits: string[] = [];
  const takeOvers: number[] = [];
  /** Processes the test itself is stopping: not to be restarted by the supervisor. */
  const stopping = new Set<BridgeProcess>();
  let watching = true;

  before(async () => {
    stack = await Stack.start({ xmpp: true, standby: true, bridge: { logLevel: process.env.FAULTS_DIR ? 'debug' : 'info' }, ...(process.env.FAULTS_DIR && { dir: process.env.FAULTS_DIR }) });
    stack.prosody!.register('xena', 'xena-pw');
    alice = await stack.user('alice');
    xena = await XmppPerson.connect(stack.prosody!, 'xena', 'xena-pw', { streamManagement: false });
    for (const portal of PORTALS) {
      await xena.joinMuc(mucOf(portal), 'xena');
      const room = await alice.createRoom({ name: `pg ${portal}`, preset: 'public_chat', invite: [stack.botUserId] });
      await alice.waitFor((e) => e.room_id === room && e.state_key === stack.botUserId && e.content.membership === 'join', 'the bot joining');
      await alice.sendText(room, `link xmpp ${mucOf(portal)}`);
      await alice.waitFor((e) => e.room_id === room && e.sender === stack.botUserId && /^Linked/.test(String(e.content.body)), `the link answer for ${portal}`, 60_000);
      rooms.set(portal, room);
    }
    for (const b of bridges()) void supervise(b);
  });

  after(async () => {
    watching = false;
    await xena?.stop();
    await alice?.stop();
    await stack?.stop();
  });

  const bridges = () => [stack.bridge, stack.standby!];

  /** What a service manager does: a bridge process that ends on its own is started again. */
  async function supervise(b: BridgeProcess): Promise<void> {
    let ended: ServerProcess | undefined;
    while (watching) {
      const proc = b.process;
      if (!proc || proc === ended || stopping.has(b)) {
        await sleep(500);
        continue;
      }
      const code = await Promise.race([proc.exited, sleep(500).then(() => undefined)]);
      if (code === undefined) continue;
      ended = proc;
      if (!watching || stopping.has(b) || b.process !== proc) continue;
      exits.push(`${b === stack.bridge ? 'first' : 'second'} process: ${code}`);
      await sleep(1000); // RestartSec, shortened
      if (watching && !stopping.has(b)) await b.start({ waitReady: false });
    }
  }

  async function isLeader(b: BridgeProcess): Promise<boolean> {
    if (!b.process?.isRunning()) return false;
    const res = await fetch(`${b.url}/ready`, { signal: AbortSignal.timeout(2000) }).catch(() => undefined);
    return res?.status === 200;
  }

  async function matrixDriver(phase: string, count: number): Promise<void> {
    await matrixStream({ streams, sender: alice, rooms, portals: PORTALS, phase, count, paceMs: PACE_MS });
  }

  async function remoteDriver(phase: string, count: number): Promise<void> {
    for (let i = 0; i < count; i++) {
      const portal = PORTALS[i % PORTALS.length]!;
      const n = streams.take('r2m', portal, phase);
      await xena.say(mucOf(portal), marker('r2m', portal, n), { type: 'groupchat', id: `r2m-${portal}-${n}` });
      await sleep(PACE_MS);
    }
  }

  async function received(dir: Direction, portal: string, reader: XmppPerson = xena): Promise<number[]> {
    const pick = (texts: string[]) => texts.map(parseMarker).filter((m) => m?.dir === dir && m.portal === portal).map((m) => m!.n);
    if (dir === 'r2m') return pick((await alice.history(rooms.get(portal)!)).filter((e) => e.type === 'm.room.message').map((e) => String(e.content.body ?? '')));
    return pick((await reader.archive(mucOf(portal))).map((m) => m.getChildText('body') ?? ''));
  }

  async function converge(deadlineMs: number): Promise<void> {
    const end = Date.now() + deadlineMs;
    while (Date.now() < end) {
      let done = true;
      for (const { dir, portal } of streams.keys()) {
        if (!streams.complete(dir, portal, await received(dir, portal).catch(() => []))) { done = false; break; }
      }
      if (done) return;
      await sleep(2000);
    }
  }

  const faults: Record<string, () => Promise<void>> = {
    'steady on PostgreSQL': async () => undefined,
    'leader SIGKILL, standby takes over': async () => {
      await sleep(random(1500, 4000));
      const leader = (await isLeader(stack.bridge)) ? stack.bridge : stack.standby!;
      const other = leader === stack.bridge ? stack.standby! : stack.bridge;
      const killed = Date.now();
      stopping.add(leader);
      await leader.stop('SIGKILL');
      // Taken over: the other process is ready, and HAProxy's health check sends requests to it.
      await other.ready(60_000);
      while (!(await isLeader(other))) await sleep(100);
      takeOvers.push(Date.now() - killed);
      await leader.start({ waitReady: false }); // the killed one comes back as the standby
      stopping.delete(leader);
    },
    'PostgreSQL SIGKILL': async () => {
      await sleep(random(1500, 4000));
      await stack.postgres!.kill();
      await sleep(5000);
      await stack.postgres!.start();
    },
    'PostgreSQL restart': async () => {
      await sleep(random(1500, 4000));
      await stack.postgres!.stop({ keepDir: true });
      await sleep(3000);
      await stack.postgres!.start();
    },
  };

  it('messages each way through a leader kill with a standby, a PostgreSQL crash and a PostgreSQL restart', async (t) => {
    for (const { name, count } of PHASES) {
      const began = Date.now();
      await Promise.all([matrixDriver(name, count), remoteDriver(name, count), faults[name]!()]);
      t.diagnostic(`${name}: ${Math.round((Date.now() - began) / 1000)} s`);
    }
    await converge(180_000);
    const reader = await XmppPerson.connect(stack.prosody!, 'xena', 'xena-pw', { streamManagement: false });
    try {
      for (const { dir, portal } of streams.keys()) {
        const got = await received(dir, portal, reader);
        rows.push(...streams.verdict(dir, portal, got));
        // Where a stream went out of order, what arrived around it (for the post-mortem).
        got.forEach((n, i) => { if (i > 0 && n < Math.max(...got.slice(0, i))) t.diagnostic(`${dir} ${portal}: out of order at ${i}: ${got.slice(Math.max(0, i - 4), i + 4).join(' ')}`); });
      }
    } finally {
      await reader.stop();
    }
    const leaders = (await Promise.all(bridges().map(isLeader))).filter(Boolean).length;
    t.diagnostic(`\n${table(rows)}\n`);
    t.diagnostic(`take-over after the leader's SIGKILL: ${takeOvers.map((ms) => `${(ms / 1000).toFixed(1)} s`).join(', ')} (from the kill until the standby answered /ready 200)`);
    t.diagnostic(`processes that ended themselves and were started again: ${exits.length ? exits.join('; ') : 'none'}; sent ${streams.count('m2r')} Matrix → remote, ${streams.count('r2m')} remote → Matrix`);
    const bad = rows.filter((r) => r.lost || r.duplicated || r.reordered);
    assert.deepEqual(bad, [], 'every message arrived exactly once, in order, in every portal and scenario');
    assert.equal(takeOvers.length, 1);
    assert.equal(leaders, 1, 'exactly one process leads at the end');
    assert.ok(exits.every((e) => e.endsWith(': 75')), `a process only ever ended itself for a lost transaction or lock (75): ${exits.join('; ')}`);
  });
});
