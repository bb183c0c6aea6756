/**
 * Fault injection for the XMPP federation gateway (issue 22): a numbered stream of
 * messages both ways through a direct chat (an XMPP person and a Matrix user's gateway
 * address) and a hosted MUC (a public Matrix room), while the bridge is SIGKILLed and
 * restarted, stopped and started cleanly, and Prosody (whose components the gateway is)
 * restarts. Real Synapse, real Prosody, the bridge as a child process. Then, per portal:
 * every message arrived, exactly once, in order. The table is printed as diagnostics.
 *
 * The XMPP person behaves as a careful client does, so that what is measured is the
 * bridge: a message answered with an error (the component is down, or the bridge could
 * not take it) is sent again with the same id; she stops typing while her own server
 * restarts; after reconnecting, or when the room tells her she is out (her server ends
 * her presence there when the component goes away cleanly), she joins again asking for the
 * room's recent history, and counts a room message once per stanza id (XEP-0359), as
 * clients do. Direct messages are read from her own
 * archive (MAM).
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { Element } from '@xmpp/xml';
import { xml } from '@xmpp/client';
import { localpartOfAlias, localpartOfMatrixUser } from '../../bridges/xmppgw/addresses.js';
import type { MatrixTestClient } from '../harness/matrix-client.js';
import { Stack } from '../harness/stack.js';
import { XmppPerson } from '../harness/xmpp-person.js';
import { marker, matrixStream, parseMarker, sleep, Streams, table, type Direction, type Row } from './stream.js';

const PORTALS = ['dm', 'muc'];
const SCALE = Number(process.env.FAULTS_SCALE ?? 1);
const PHASES = [
  { name: 'steady (no fault)', count: 60 },
  { name: 'bridge SIGKILL x2', count: 200 },
  { name: 'bridge clean restart', count: 80 },
  { name: 'Prosody restart', count: 100 },
].map((p) => ({ ...p, count: Math.round(p.count * SCALE) }))
  // FAULTS_ONLY=steady,clean runs the phases whose names contain one of those words (debugging).
  .filter((p) => !process.env.FAULTS_ONLY || process.env.FAULTS_ONLY.split(',').some((w) => p.name.includes(w)));
const PACE_MS = 40;
const random = (lo: number, hi: number) => lo + Math.random() * (hi - lo);

describe('fault injection, XMPP federation gateway: nothing lost, nothing twice, in order', { timeout: 600_000 }, () => {
  let stack: Stack;
  let alice: MatrixTestClient;
  let dave: MatrixTestClient;
  let xena: XmppPerson;
  let aliceAddr: string;
  let muc: string;
  let xenaReady: Promise<void> = Promise.resolve();
  /** Her messages not yet acknowledged (a XEP-0184 receipt in the DM, the reflection in the room), in the order she sent them. */
  const pending: { id: string; send: () => Promise<void>; sentAt: number }[] = [];
  let recovering = false;
  /** How often she had to send messages again, and why. */
  const resent = { afterError: 0, afterSilence: 0 };
  /** Room messages she has seen, by stanza id (what a client keeps), in arrival order. */
  const roomSeen = new Map<string, string>();
  const rooms = new Map<string, string>();
  const streams = new Streams();
  const rows: Row[] = [];
  let watcher: NodeJS.Timeout | undefined;
  /** Set while her own client is going offline (her server restarts): no rejoining then. */
  let leaving = false;

  const acked = (id: string) => {
    const i = pending.findIndex((p) => p.id === id);
    if (i >= 0) pending.splice(i, 1);
  };

  /**
   * What a careful client does when its messages are not getting through: stop sending new
   * ones, send the unacknowledged ones again in their order (same ids), each until it is
   * acknowledged, then go on. Order is kept, as long as nothing vanished silently.
   */
  async function recover(why: 'afterError' | 'afterSilence'): Promise<void> {
    if (recovering) return;
    recovering = true;
    let resume!: () => void;
    const ready = xenaReady;
    xenaReady = new Promise((r) => { resume = r; });
    try {
      await ready;
      while (pending.length) {
        const first = pending[0]!;
        resent[why]++;
        await first.send().catch(() => undefined);
        first.sentAt = Date.now();
        for (let i = 0; i < 30 && pending[0] === first; i++) await sleep(100);
      }
    } finally {
      recovering = false;
      resume();
    }
  }

  function watch(person: XmppPerson): void {
    let next = 0;
    const collect = () => {
      for (const st of person.stanzas.slice(next)) {
        next++;
        const from = st.attrs.from ?? '';
        if (st.is('message') && st.attrs.type === 'groupchat' && from.startsWith(`${muc}/`)) {
          const sid = st.getChildren('stanza-id', 'urn:xmpp:sid:0').find((x) => x.attrs.by === muc)?.attrs.id;
          const text = st.getChildText('body');
          if (sid && text !== null && !roomSeen.has(sid)) roomSeen.set(sid, text);
          if (from === `${muc}/xena`) acked(st.getChild('origin-id', 'urn:xmpp:sid:0')?.attrs.id ?? st.attrs.id ?? '');
        }
        const self = st.getChild('x', 'http://jabber.org/protocol/muc#user')?.getChildren('status').some((c) => c.attrs.code === '110');
        if (st.is('presence') && st.attrs.type === 'unavailable' && from === `${muc}/xena` && self && !leaving) rejoin();
        const receipt = st.getChild('received', 'urn:xmpp:receipts')?.attrs.id;
        if (receipt && from.startsWith(aliceAddr)) acked(receipt);
        if (st.attrs.type === 'error' && st.attrs.id && pending.some((p) => p.id === st.attrs.id)) void recover('afterError');
      }
      // Nothing back for a while, not even an error: it may have vanished on the way.
      if (pending[0] && Date.now() - pending[0].sentAt > 5_000) void recover('afterSilence');
    };
    watcher = setInterval(collect, 100);
  }

  /**
   * Join (again); a rejoin asks for the room's recent history and keeps what it had not seen
   * (by stanza id), as clients do. Rejects at once when the join is refused (the component is down).
   */
  async function joinRoom(person: XmppPerson, again = false): Promise<void> {
    const from = person.stanzas.length;
    await person.send(xml('presence', { to: `${muc}/xena` }, xml('x', { xmlns: 'http://jabber.org/protocol/muc' }, xml('history', { maxstanzas: again ? '200' : '0' }))));
    const answer = await person.waitFor((s) => person.stanzas.indexOf(s) >= from && ((s.attrs.from === muc && s.getChildText('subject') !== null) || (s.is('presence') && s.attrs.type === 'error' && s.attrs.from === `${muc}/xena`)), 'the answer to joining');
    if (answer.is('presence')) throw new Error('join refused');
  }

  /** Her client saw itself leave the room without asking to (her server ended her presence there): it joins again. */
  let rejoining: Promise<void> | undefined;
  function rejoin(): void {
    rejoining ??= (async () => {
      for (let i = 0; i < 120; i++) {
        if (await joinRoom(xena, true).then(() => true, () => false)) break;
        await sleep(250);
      }
    })().finally(() => { rejoining = undefined; });
  }

  before(async () => {
    stack = await Stack.start({
      xmppGateway: { muc: { component: 'muc.matrix.xmpp.test', history: 1000 }, rate_limits: { per_jid: { stanzas: 100_000 }, per_server: { stanzas: 100_000 } } },
      bridge: { logLevel: process.env.FAULTS_DIR ? 'debug' : 'info' },
      ...(process.env.FAULTS_DIR && { dir: process.env.FAULTS_DIR }),
    });
    stack.prosody!.register('xena', 'xena-pw');
    alice = await stack.user('alice');
    dave = await stack.user('dave');
    aliceAddr = `${localpartOfMatrixUser(alice.userId)}@${stack.prosody!.gatewayDomain}`;
    muc = `${localpartOfAlias(`#faults:${stack.synapse.serverName}`)}@${stack.prosody!.gatewayMucDomain}`;
    // alice opts in, accepting contacts from anyone.
    const mgmt = await alice.createRoom({ is_direct: true, invite: [stack.botUserId], preset: 'trusted_private_chat' });
    await alice.waitFor((e) => e.room_id === mgmt && e.state_key === stack.botUserId && e.content.membership === 'join', 'the bot joining');
    for (const text of ['login xmppgw', 'anyone']) {
      const sent = await alice.sendText(mgmt, text);
      const own = await alice.waitFor((e) => e.event_id === sent, 'our message');
      await alice.waitFor((e) => e.room_id === mgmt && e.sender === stack.botUserId && alice.events.indexOf(e) > alice.events.indexOf(own), `the answer to ${text}`);
    }
    const room = await dave.createRoom({ room_alias_name: 'faults', preset: 'public_chat', name: 'faults' });
    await alice.join(room);
    rooms.set('muc', room);
    xena = await XmppPerson.connect(stack.prosody!, 'xena', 'xena-pw', { streamManagement: false });
    await joinRoom(xena);
    // The direct chat: xena writes first (until alice's login is connected), alice accepts.
    let dm: string | undefined;
    for (let i = 0; i < 30 && !dm; i++) {
      await xena.say(aliceAddr, 'hello alice');
      dm = await alice.waitForInvite(() => true, 1000).catch(() => undefined);
    }
    assert.ok(dm, 'the direct chat opened');
    await alice.join(dm);
    rooms.set('dm', dm);
    watch(xena);
  });

  after(async () => {
    clearInterval(watcher);
    await xena?.stop();
    await alice?.stop();
    await dave?.stop();
    await stack?.stop();
  });

  async function remoteDriver(phase: string, count: number): Promise<void> {
    for (let i = 0; i < count; i++) {
      const portal = PORTALS[i % PORTALS.length]!;
      await xenaReady;
      const n = streams.take('r2m', portal, phase);
      const id = `r2m-${portal}-${n}`;
      const send = () => (portal === 'dm'
        ? xena.say(aliceAddr, marker('r2m', portal, n), { id, children: [xml('request', { xmlns: 'urn:xmpp:receipts' })] })
        : xena.say(muc, marker('r2m', portal, n), { type: 'groupchat', id })).then(() => undefined);
      pending.push({ id, send, sentAt: Date.now() });
      await send();
      await sleep(PACE_MS);
    }
  }

  const faults: Record<string, () => Promise<void>> = {
    'steady (no fault)': async () => undefined,
    'bridge SIGKILL x2': async () => {
      for (let k = 0; k < 2; k++) {
        await sleep(random(1500, 4000));
        await stack.bridge.stop('SIGKILL');
        await stack.bridge.start();
      }
    },
    'bridge clean restart': async () => {
      await sleep(random(1000, 2500));
      await stack.bridge.stop();
      await stack.bridge.start();
    },
    'Prosody restart': async () => {
      await sleep(random(1000, 2500));
      let resume!: () => void;
      xenaReady = new Promise((r) => { resume = r; });
      await sleep(500); // her last message reaches her server
      leaving = true;
      await xena.stop();
      await stack.prosody!.stop();
      await stack.prosody!.start();
      xena = await XmppPerson.connect(stack.prosody!, 'xena', 'xena-pw', { streamManagement: false });
      clearInterval(watcher);
      watch(xena);
      leaving = false;
      // Back in the room as a client does after a reconnect, with the recent history.
      rejoin();
      await rejoining;
      resume();
    },
  };

  async function received(dir: Direction, portal: string): Promise<number[]> {
    const pick = (texts: string[]) => texts.map(parseMarker).filter((m) => m?.dir === dir && m.portal === portal).map((m) => m!.n);
    if (dir === 'r2m') return pick((await alice.history(rooms.get(portal)!)).filter((e) => e.type === 'm.room.message').map((e) => String(e.content.body ?? '')));
    if (portal === 'muc') return pick([...roomSeen.values()]);
    return pick((await xena.archive(`xena@${stack.prosody!.domain}`)).filter((m) => m.attrs.from?.startsWith(aliceAddr)).map((m) => m.getChildText('body') ?? ''));
  }

  async function converge(deadlineMs: number): Promise<void> {
    const end = Date.now() + deadlineMs;
    while (Date.now() < end) {
      let done = true;
      for (const { dir, portal } of streams.keys()) if (!streams.complete(dir, portal, await received(dir, portal).catch(() => []))) done = false;
      if (done) return;
      await sleep(2000);
    }
  }

  it(`messages both ways through a gateway DM and a hosted MUC, through bridge kills, a clean restart and a Prosody restart`, async (t) => {
    const started = Date.now();
    for (const { name, count } of PHASES) {
      const phaseStart = Date.now();
      await Promise.all([matrixStream({ streams, sender: alice, rooms, portals: PORTALS, phase: name, count, paceMs: PACE_MS }), remoteDriver(name, count), faults[name]!()]);
      t.diagnostic(`${name}: ${Math.round((Date.now() - phaseStart) / 1000)} s`);
    }
    await converge(120_000);
    for (const { dir, portal } of streams.keys()) rows.push(...streams.verdict(dir, portal, await received(dir, portal)));
    t.diagnostic(`\n${table(rows)}\n`);
    t.diagnostic(`the hosted MUC alone:\n${table(rows.filter((r) => r.portal === 'muc'))}\n`);
    t.diagnostic(`sent: ${streams.count('m2r')} Matrix → XMPP, ${streams.count('r2m')} XMPP → Matrix; suite ran ${Math.round((Date.now() - started) / 1000)} s`);
    t.diagnostic(`xena sent again: ${resent.afterError} after an error, ${resent.afterSilence} after 5 s without an acknowledgement`);
    for (const { dir, portal } of streams.keys()) {
      const missing = streams.missing(dir, portal, await received(dir, portal));
      if (missing.length) t.diagnostic(`never arrived, ${dir} ${portal}: ${missing.join(' ')}`);
    }
    const bad = rows.filter((r) => r.lost || r.duplicated || r.reordered);
    assert.deepEqual(bad, [], 'every message arrived exactly once, in order, in both portals and every scenario');
  });
});
