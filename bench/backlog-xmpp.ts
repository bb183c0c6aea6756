/**
 * The backlog of an outage, remote -> Matrix (issue 24, target 3): BENCH_CONTACTS XMPP
 * contacts (default 100) each in a direct chat with alice's XMPP account, bridged to alice on
 * Matrix (one portal each). The bridge is stopped while contacts 1..N-1 write BENCH_BACKLOG
 * messages (default 5,000) to alice; Prosody keeps them in alice's archive (XEP-0313). Then
 * the bridge starts, its login reads the archive, and contact 0 (the quiet portal) writes
 * every BENCH_QUIET_EVERY_MS while the backlog drains. Times from the bridge's spawn to
 * alice's Matrix sync; order within each portal; a quiet message's latency, to alice's sync
 * and to the homeserver (the event's origin_server_ts: the part the bridge answers for;
 * under the drain Synapse is slower to hand alice's sync what it has stored).
 * Writes bench/results/backlog-xmpp.json. Not an assertion anywhere: see docs/performance.md.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { performance } from 'node:perf_hooks';
import { Stack } from '../test/harness/stack.js';
import { XmppPerson } from '../test/harness/xmpp-person.js';
import { cpuSeconds, outOfOrder, pct } from './lib/measure.js';
import { patiently, unlimited } from './lib/portals.js';
import { deriveKeys, storeLogins } from './lib/xmpp.js';

const CONTACTS = Number(process.env.BENCH_CONTACTS ?? 100);
const BACKLOG = Number(process.env.BENCH_BACKLOG ?? 5_000);
const QUIET_EVERY_MS = Number(process.env.BENCH_QUIET_EVERY_MS ?? 5_000);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function main(): Promise<void> {
  const stack = await Stack.start({ xmpp: true, bridge: { logLevel: process.env.BENCH_LOG_LEVEL ?? 'info' } });
  const prosody = stack.prosody!;
  const result: Record<string, unknown> = { date: new Date().toISOString(), node: process.version, contacts: CONTACTS, backlog: BACKLOG };
  const people: XmppPerson[] = [];
  try {
    const me = { user: 'alice', password: 'alice-xmpp-pw' };
    const contacts = Array.from({ length: CONTACTS }, (_, i) => ({ user: `c${i}`, password: `c${i}-pw` }));
    prosody.registerMany([me, ...contacts]);
    const alice = await stack.user('alice');
    await unlimited(stack, [alice.userId]); // her joins too: 100 rooms would otherwise take 15 minutes of join rate limit
    const keys = await deriveKeys(stack, [me]);
    await stack.bridge.stop();
    await storeLogins(stack, [me], keys);
    await stack.bridge.start();
    for (const c of contacts) people.push(await XmppPerson.connect(prosody, c.user, c.password, { streamManagement: false }));
    const to = `alice@${prosody.domain}`;

    // One portal per contact: a first message, and alice joins.
    let t = performance.now();
    const roomOf = new Map<string, string>();
    for (const [i, p] of people.entries()) {
      await p.say(to, `hello ${i}`);
      const room = await alice.waitForInvite((id) => ![...roomOf.values()].includes(id), 60_000);
      await patiently(() => alice.join(room));
      await alice.waitFor((e) => e.room_id === room && e.content?.body === `hello ${i}`, `hello ${i}`, 60_000);
      roomOf.set(`c${i}`, room);
    }
    console.log(`${CONTACTS} direct-chat portals in ${Math.round((performance.now() - t) / 1000)} s`);

    // The outage: Prosody archives what the contacts write.
    await stack.bridge.stop();
    const busy = CONTACTS - 1;
    const perContact = Array.from({ length: busy }, (_, i) => Math.floor(BACKLOG / busy) + (i < BACKLOG % busy ? 1 : 0));
    t = performance.now();
    await Promise.all(perContact.map(async (n, i) => {
      for (let k = 0; k < n; k++) await people[i + 1]!.say(to, `b:${i + 1}:${k}`);
    }));
    await sleep(2_000); // the last stanzas archived
    console.log(`${BACKLOG} messages written while the bridge was down, in ${((performance.now() - t) / 1000).toFixed(1)} s`);

    const arrived = new Map<string, number>();
    /** When the homeserver made each event (its origin_server_ts: the bridge sets no timestamp), wall clock. */
    const created = new Map<string, number>();
    let scanned = alice.events.length;
    const scan = () => {
      const now = performance.now();
      for (; scanned < alice.events.length; scanned++) {
        const e = alice.events[scanned]!;
        const body = e.content?.body;
        if (typeof body === 'string' && (body.startsWith('b:') || body.startsWith('q:')) && !arrived.has(body)) {
          arrived.set(body, now);
          created.set(body, Number((e as { origin_server_ts?: number }).origin_server_ts));
        }
      }
    };
    const synapseCpu0 = cpuSeconds(stack.synapse.process!.pid);
    const spawnedAt = performance.now();
    await stack.bridge.start({ waitReady: false });
    const quietSent = new Map<string, number>();
    const quietSentWall = new Map<string, number>();
    let draining = true;
    const quiet = (async () => {
      for (let k = 0; draining; k++) {
        quietSent.set(`q:${k}`, performance.now());
        quietSentWall.set(`q:${k}`, Date.now());
        await people[0]!.say(to, `q:${k}`);
        await sleep(QUIET_EVERY_MS);
      }
    })();
    const backlogSeen = () => [...arrived.keys()].filter((b) => b.startsWith('b:')).length;
    const done = await alice.waitUntil(() => {
      scan();
      if (backlogSeen() >= BACKLOG) draining = false;
      return !draining && [...quietSent.keys()].every((q) => arrived.has(q)) ? true : undefined;
    }, 1_800_000);
    draining = false;
    await quiet;
    if (!done) throw new Error(`${backlogSeen()} of ${BACKLOG} backlog messages in Matrix after 30 minutes`);
    const synapseCpu = cpuSeconds(stack.synapse.process!.pid) - synapseCpu0;
    const bridgeCpu = cpuSeconds(stack.bridge.process!.pid);

    // Order within each portal, as alice's sync saw it.
    const order = alice.events.map((e) => e.content?.body).filter((b): b is string => typeof b === 'string' && b.startsWith('b:'));
    const times = [...arrived].filter(([b]) => b.startsWith('b:')).map(([, at]) => at - spawnedAt);
    const first = Math.min(...times);
    const last = Math.max(...times);
    const duringDrain = [...quietSent].filter(([, at]) => at - spawnedAt < last).map(([body]) => body);
    const quietDuringDrain = duringDrain.map((body) => arrived.get(body)! - quietSent.get(body)!);
    // The part up to the homeserver (the bridge's), apart from the homeserver's own delay in alice's sync while it drains.
    const quietToHomeserver = duringDrain.map((body) => created.get(body)! - quietSentWall.get(body)!);
    result.drain = {
      firstArrivalMs: Math.round(first), lastArrivalMs: Math.round(last),
      perSecond: Math.round(BACKLOG / ((last - first) / 1000)), perSecondFromSpawn: Math.round(BACKLOG / (last / 1000)),
      outOfOrder: outOfOrder(new Set(order)), duplicates: order.length - new Set(order).size, synapseCpuS: +synapseCpu.toFixed(1), bridgeCpuS: +bridgeCpu.toFixed(1),
    };
    result.quiet = quietDuringDrain.length
      ? {
        sentDuringDrain: quietDuringDrain.length, eachMs: quietDuringDrain.map(Math.round), p50Ms: Math.round(pct(quietDuringDrain, 50)), p99Ms: Math.round(pct(quietDuringDrain, 99)), maxMs: Math.round(Math.max(...quietDuringDrain)),
        toHomeserver: { eachMs: quietToHomeserver, p50Ms: pct(quietToHomeserver, 50), maxMs: Math.max(...quietToHomeserver) },
      }
      : { sentDuringDrain: 0 };
    console.log(JSON.stringify(result, null, 2));
  } finally {
    for (const p of people) await p.stop().catch(() => undefined);
    await stack.stop({ keepDir: process.env.BENCH_KEEP === '1' });
    if (process.env.BENCH_KEEP === '1') console.log(`logs kept in ${stack.dir}`);
  }
  mkdirSync('bench/results', { recursive: true });
  writeFileSync('bench/results/backlog-xmpp.json', JSON.stringify(result, null, 2));
}

main().then(() => process.exit(0), (err: unknown) => {
  console.error(err);
  process.exit(1);
});
