/**
 * XMPP end to end (issue 8, item 3): an XMPP client -> Prosody (MUC) -> bridge -> Synapse
 * -> a syncing Matrix client, against Prosody alone: a second XMPP client in the same
 * MUC. Both consumers receive the very same stanzas, so the baseline and the bridge path
 * are measured on one stream at once. Throughput (N messages sent one after another,
 * until the last arrives) and one-in-flight latency. Against the homeserver too (issue 24,
 * the one busy room): the same ghost posting N messages into the same room with the
 * appservice token, one after another (the order a room needs), and the requests the
 * bridge made to Synapse per message (Synapse's access log). Writes bench/results/xmpp-e2e.json.
 */
import { mkdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { randomUUID } from 'node:crypto';
import { parse as parseYaml } from 'yaml';
import { performance } from 'node:perf_hooks';
import type { Element } from '@xmpp/xml';
import { Stack } from '../test/harness/stack.js';
import { XmppPerson } from '../test/harness/xmpp-person.js';

const N = Number(process.env.BENCH_E2E_MESSAGES ?? 500);
const SAMPLES = Number(process.env.BENCH_E2E_SAMPLES ?? 50);
const ROUNDS = Number(process.env.BENCH_E2E_ROUNDS ?? 3);
const MUC = 'bench@conference.xmpp.test';
const pct = (xs: number[], p: number) => [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.floor((xs.length * p) / 100))]!;
const body = (st: Element) => st.getChildText('body') ?? '';

async function main(): Promise<void> {
  const stack = await Stack.start({ xmpp: true, bridge: { logLevel: 'info' } });
  try {
    stack.prosody!.register('xena', 'xena-pw');
    stack.prosody!.register('yuri', 'yuri-pw');
    const xena = await XmppPerson.connect(stack.prosody!, 'xena', 'xena-pw', { streamManagement: false });
    const yuri = await XmppPerson.connect(stack.prosody!, 'yuri', 'yuri-pw', { streamManagement: false });
    await xena.joinMuc(MUC, 'xena');
    await yuri.joinMuc(MUC, 'yuri');
    const alice = await stack.user('alice');
    const room = await alice.createRoom({ name: 'Bench', invite: [stack.botUserId] });
    await alice.waitFor((e) => e.room_id === room && e.state_key === stack.botUserId && e.content.membership === 'join', 'the bot joining');
    await alice.sendText(room, `link xmpp ${MUC}`);
    await alice.waitFor((e) => e.room_id === room && e.sender === stack.botUserId && String(e.content.body).startsWith('Linked'), 'the link', 60_000);
    await xena.say(MUC, 'warm-up', { type: 'groupchat' });
    await alice.waitFor((e) => e.room_id === room && e.content.body === 'warm-up', 'the warm-up on Matrix', 60_000);

    const inMuc = (text: string) => (st: Element) => st.attrs.type === 'groupchat' && body(st) === text;
    /** When each consumer saw `text`, measured from `t0`. */
    const arrivals = (text: string, t0: number) => Promise.all([
      yuri.waitFor(inMuc(text), text, 300_000).then(() => performance.now() - t0),
      alice.waitFor((e) => e.room_id === room && e.content?.body === text, text, 300_000).then(() => performance.now() - t0),
    ]);

    // The homeserver alone: xena's ghost posting with the appservice token, as the bridge does.
    const ghost = alice.events.find((e) => e.room_id === room && e.content?.body === 'warm-up')!.sender;
    const asToken = (parseYaml(readFileSync(stack.bridge.registrationFile, 'utf8')) as { as_token: string }).as_token;
    const direct = async (text: string) => {
      const url = `${stack.synapse.url}/_matrix/client/v3/rooms/${encodeURIComponent(room)}/send/m.room.message/${randomUUID()}?user_id=${encodeURIComponent(ghost)}`;
      const res = await fetch(url, { method: 'PUT', headers: { authorization: `Bearer ${asToken}`, 'content-type': 'application/json' }, body: JSON.stringify({ msgtype: 'm.text', body: text }) });
      if (!res.ok) throw new Error(`homeserver-alone send failed: ${res.status} ${await res.text()}`);
    };
    const requestLines = (from: number) => readFileSync(stack.synapse.logFile, 'utf8').slice(from).split('\n').filter((l) => l.includes('Processed request'));

    const ms: { prosody: number[]; bridge: number[]; synapse: number[] } = { prosody: [], bridge: [], synapse: [] };
    const lat: { prosody: number[]; bridge: number[] } = { prosody: [], bridge: [] };
    const perMessage: Record<string, number>[] = [];
    for (let r = 0; r < ROUNDS; r++) {
      let t0 = performance.now();
      for (let i = 0; i < N; i++) await direct(`r${r}-s-${i}`);
      await alice.waitFor((e) => e.room_id === room && e.content?.body === `r${r}-s-${N - 1}`, 'the homeserver-alone burst', 300_000);
      ms.synapse.push(performance.now() - t0);
      const logFrom = statSync(stack.synapse.logFile).size;
      t0 = performance.now();
      for (let i = 0; i < N; i++) await xena.say(MUC, `r${r}-t-${i}`, { type: 'groupchat' });
      const [p, b] = await arrivals(`r${r}-t-${N - 1}`, t0);
      ms.prosody.push(p);
      ms.bridge.push(b);
      // What reached Synapse during the bridged burst, by kind (alice's syncs are hers, not the bridge's).
      const kinds: Record<string, number> = {};
      for (const line of requestLines(logFrom)) {
        const m = /"(GET|PUT|POST|DELETE) ([^ ?"]+)/.exec(line);
        const kind = m ? `${m[1]} ${m[2]!.replace(/\/rooms\/[^/]+/, '/rooms/…').replace(/\/send\/([^/]+)\/[^/]+$/, '/send/$1/…').replace(/\/(profile|join|register)\/[^/]+/, '/$1/…')}` : 'other';
        kinds[kind] = (kinds[kind] ?? 0) + 1;
      }
      perMessage.push(Object.fromEntries(Object.entries(kinds).map(([k, n]) => [k, +(n / N).toFixed(2)])));
      for (let i = 0; i < SAMPLES; i++) {
        const text = `r${r}-l-${i}`;
        const start = performance.now();
        const seen = arrivals(text, start);
        await xena.say(MUC, text, { type: 'groupchat' });
        const [lp, lb] = await seen;
        lat.prosody.push(lp);
        lat.bridge.push(lb);
      }
    }
    await Promise.all([xena.stop(), yuri.stop(), alice.stop()]);

    // The median round's throughput; percentiles over every round's latency samples.
    const row = (path: string, rounds: number[], xs: number[]) => ({ path, perSecond: Math.round(N / (pct(rounds, 50) / 1000)), p50Ms: Math.round(pct(xs, 50)), p95Ms: Math.round(pct(xs, 95)), p99Ms: Math.round(pct(xs, 99)) });
    const rows = [row('XMPP client -> Prosody MUC -> XMPP client', ms.prosody, lat.prosody), row('XMPP client -> Prosody -> bridge -> Synapse -> Matrix client', ms.bridge, lat.bridge)];
    const alone = { path: 'Synapse alone: the same ghost, appservice token, one after another', perSecond: Math.round(N / (pct(ms.synapse, 50) / 1000)) };
    console.log(`XMPP end to end, ${N} messages into one MUC, ${SAMPLES} latency samples, ${ROUNDS} rounds (Prosody and Synapse on 127.0.0.1)`);
    for (const r of rows) console.log(`  ${r.path.padEnd(62)} ${String(r.perSecond).padStart(6)} msg/s   p50 ${r.p50Ms} ms   p95 ${r.p95Ms} ms   p99 ${r.p99Ms} ms`);
    console.log(`  ratio: ${(rows[1]!.perSecond / rows[0]!.perSecond * 100).toFixed(0)}% of Prosody-alone throughput; added latency p50 ${rows[1]!.p50Ms - rows[0]!.p50Ms} ms, p99 ${rows[1]!.p99Ms - rows[0]!.p99Ms} ms`);
    console.log(`  ${alone.path.padEnd(62)} ${String(alone.perSecond).padStart(6)} msg/s`);
    console.log(`  the burst through the bridge: ${(rows[1]!.perSecond / alone.perSecond * 100).toFixed(0)}% of the homeserver alone (rounds: bridge ${ms.bridge.map((t) => Math.round(N / (t / 1000))).join(', ')}; alone ${ms.synapse.map((t) => Math.round(N / (t / 1000))).join(', ')} msg/s)`);
    console.log(`  requests to Synapse per bridged message, by kind (each round): ${JSON.stringify(perMessage)}`);
    mkdirSync('bench/results', { recursive: true });
    writeFileSync('bench/results/xmpp-e2e.json', JSON.stringify({ date: new Date().toISOString(), node: process.version, messages: N, samples: SAMPLES, rounds: ROUNDS, rows, homeserverAlone: alone, requestsPerMessage: perMessage }, null, 2));
  } finally {
    await stack.stop();
  }
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
