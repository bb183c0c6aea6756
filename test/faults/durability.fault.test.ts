/**
 * Fault injection (issue 7): a numbered stream of messages both ways through five
 * portals (three loopback groups, one XMPP MUC and one IRC channel, all relayed) while
 * the bridge is SIGKILLed and restarted, Synapse is stopped for 30 s, Prosody is
 * restarted, the IRC server (InspIRCd) is restarted, and appservice transactions are
 * delivered twice and replayed. Real Synapse, real Prosody,
 * the bridge as a child process. Then, per portal: every message arrived, exactly once,
 * in order. The table of the run is printed as diagnostics.
 *
 * The drivers behave like careful clients, so that what is measured is the bridge: the
 * Matrix sender retries with the same transaction id, the loopback sender with the same
 * client key, and the XMPP person stops typing while its own server restarts.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { after, before, describe, it } from 'node:test';
import { parse } from 'yaml';
import type { MatrixTestClient } from '../harness/matrix-client.js';
import { Stack } from '../harness/stack.js';
import { XmppPerson } from '../harness/xmpp-person.js';
import { IrcPerson } from '../harness/irc-person.js';
import { marker, matrixStream, parseMarker, retrying, sleep, Streams, table, type Direction, type Row } from './stream.js';

const LOOPBACK = ['g1', 'g2', 'g3'];
const MUC_PORTAL = 'muc';
const IRC_PORTAL = 'irc';
const CHANNEL = '#faults';
const PORTALS = [...LOOPBACK, MUC_PORTAL, IRC_PORTAL];
const MUC = 'faults@conference.xmpp.test';
/** Messages per direction in each scenario (2,300 per direction in all; FAULTS_SCALE shrinks it for debugging). */
const SCALE = Number(process.env.FAULTS_SCALE ?? 1);
const PHASES: { name: string; count: number }[] = [
  { name: 'steady (no fault)', count: 200 },
  { name: 'bridge SIGKILL x3', count: 800 },
  { name: 'Synapse down 30 s', count: 400 },
  { name: 'Prosody restart', count: 300 },
  { name: 'IRC server restart', count: 300 },
  { name: 'transaction replays', count: 300 },
].map((p) => ({ ...p, count: Math.round(p.count * SCALE) }));
/** Pause between two sends of one driver: about 35 messages a second each way (under Synapse's 50/s per user). */
const PACE_MS = 28;

const random = (lo: number, hi: number) => lo + Math.random() * (hi - lo);

describe('fault injection: nothing lost, nothing twice, in order', { timeout: 900_000 }, () => {
  let stack: Stack;
  let alice: MatrixTestClient;
  let xena: XmppPerson;
  /** Resolves while xena may type; replaced by a pending promise while Prosody restarts. */
  let xenaReady: Promise<void> = Promise.resolve();
  let lastXenaId: string | undefined;
  /** ivy on IRC; and, like xena, she stops typing while her server restarts. */
  let ivy: IrcPerson;
  let ivyReady: Promise<void> = Promise.resolve();
  /**
   * Pending while the IRC server shuts down. A line the server has echoed to the bridge
   * (so the send is done, exactly once) can still die with the server before it reaches
   * ivy: the server's loss, not the bridge's. So nothing is sent to the channel from a
   * moment before the stop until the server is down; lines sent while it is down wait in
   * the bridge, which is what is measured.
   */
  let ircQuiet: Promise<void> = Promise.resolve();
  /** What ivy read in the channel before the server restart (its history is gone with it). */
  const ivyBefore: string[] = [];
  const ivyHeard = () => [...ivyBefore, ...ivy.heard.filter((h) => h.command === 'privmsg' && h.target === CHANNEL).map((h) => h.message ?? '')];
  const rooms = new Map<string, string>();
  const streams = new Streams();
  const rows: Row[] = [];

  before(async () => {
    // FAULTS_DIR keeps every server's files and logs there for a post-mortem.
    stack = await Stack.start({ xmpp: true, irc: true, bridge: { logLevel: 'info' }, ...(process.env.FAULTS_DIR && { dir: process.env.FAULTS_DIR }) });
    stack.prosody!.register('xena', 'xena-pw');
    await stack.loopback.call('POST', '/users', { id: 'bob', name: 'Bob' });
    for (const g of LOOPBACK) await stack.loopback.call('POST', '/groups', { id: g, name: g, members: ['bob', 'relaybot'] });
    alice = await stack.user('alice');
    xena = await XmppPerson.connect(stack.prosody!, 'xena', 'xena-pw', { streamManagement: false });
    await xena.joinMuc(MUC, 'xena');
    ivy = await IrcPerson.connect(stack.ircd!.port, 'ivy');
    await ivy.join(CHANNEL);
    for (const portal of PORTALS) {
      const room = await alice.createRoom({ name: `faults ${portal}`, preset: 'public_chat', invite: [stack.botUserId] });
      await alice.waitFor((e) => e.room_id === room && e.state_key === stack.botUserId && e.content.membership === 'join', 'the bot joining');
      await alice.sendText(room, portal === MUC_PORTAL ? `link xmpp ${MUC}` : portal === IRC_PORTAL ? `link irc ${CHANNEL}` : `link loopback ${portal}`);
      await alice.waitFor((e) => e.room_id === room && e.sender === stack.botUserId && /^Linked/.test(String(e.content.body)), `the link answer for ${portal}`, 60_000);
      rooms.set(portal, room);
    }
  });

  after(async () => {
    await ivy?.stop();
    await xena?.stop();
    await alice?.stop();
    await stack?.stop();
  });

  // ------------------------------------------------------------------ drivers

  /** Alice sends `count` numbered messages round-robin over the portals, retrying each with its transaction id. */
  async function matrixDriver(phase: string, count: number): Promise<void> {
    // While the IRC server shuts down, alice's lines for the channel wait (see the IRC restart below).
    const sender = { send: async (roomId: string, type: string, content: Record<string, unknown>, txn: string) => {
      if (roomId === rooms.get(IRC_PORTAL)) await ircQuiet;
      return alice.send(roomId, type, content, txn);
    } };
    await matrixStream({ streams, sender, rooms, portals: PORTALS, phase, count, paceMs: PACE_MS });
  }

  /** Bob (loopback) and xena (XMPP) send `count` numbered messages round-robin over the portals. */
  async function remoteDriver(phase: string, count: number): Promise<void> {
    for (let i = 0; i < count; i++) {
      const portal = PORTALS[i % PORTALS.length]!;
      if (portal === IRC_PORTAL) {
        await ivyReady;
        const n = streams.take('r2m', portal, phase);
        ivy.say(CHANNEL, marker('r2m', portal, n));
      } else if (portal === MUC_PORTAL) {
        await xenaReady;
        const n = streams.take('r2m', portal, phase);
        lastXenaId = `r2m-${portal}-${n}`;
        await xena.say(MUC, marker('r2m', portal, n), { type: 'groupchat', id: lastXenaId });
      } else {
        const n = streams.take('r2m', portal, phase);
        // While the bridge is down its loopback network is too: bob's app retries with the same key.
        await retrying(() => stack.loopback.call('POST', '/messages', { from: 'bob', chat: portal, text: marker('r2m', portal, n), txn: `r2m-${portal}-${n}` }));
      }
      await sleep(PACE_MS);
    }
  }

  // ------------------------------------------------------------------ what arrived

  async function received(dir: Direction, portal: string, reader?: XmppPerson, ircReplay?: string[]): Promise<number[]> {
    const pick = (texts: string[]) => texts.map(parseMarker).filter((m) => m?.dir === dir && m.portal === portal).map((m) => m!.n);
    // IRC: what ivy read before the server restart, then what she read since (or, at the end,
    // the channel's whole history since the restart, as a fresh reader gets it replayed on join).
    if (dir === 'm2r' && portal === IRC_PORTAL) return pick(ircReplay ? [...ivyBefore, ...ircReplay] : ivyHeard());
    if (dir === 'r2m') return pick((await alice.history(rooms.get(portal)!)).filter((e) => e.type === 'm.room.message').map((e) => String(e.content.body ?? '')));
    if (portal !== MUC_PORTAL) {
      const { messages } = await stack.loopback.call<{ messages: { text: string }[] }>('GET', `/chats/${portal}/messages`);
      return pick(messages.map((m) => m.text));
    }
    return pick((await (reader ?? xena).archive(MUC)).map((m) => m.getChildText('body') ?? ''));
  }

  /**
   * What reached a portal's other sides that is not a numbered message: nothing should
   * (a command, a notice or a message from before the link relayed late would show here).
   */
  async function strays(portal: string, reader: XmppPerson, ircReplay: string[]): Promise<string[]> {
    const unnumbered = (texts: string[]) => texts.filter((t) => t.trim() && !parseMarker(t));
    const ghostTexts = (await alice.history(rooms.get(portal)!))
      .filter((e) => e.type === 'm.room.message' && e.sender !== alice.userId && e.sender !== stack.botUserId)
      .map((e) => `Matrix, ${e.sender}: ${String(e.content.body ?? '')}`);
    if (portal === IRC_PORTAL) return [...unnumbered(ghostTexts), ...unnumbered([...ivyBefore, ...ircReplay]).map((t) => `IRC: ${t}`)];
    if (portal === MUC_PORTAL) {
      const archive = (await reader.archive(MUC)).map((m) => m.getChildText('body') ?? '');
      return [...unnumbered(ghostTexts), ...unnumbered(archive).map((t) => `MUC: ${t}`)];
    }
    const { messages } = await stack.loopback.call<{ messages: { text: string }[] }>('GET', `/chats/${portal}/messages`);
    return [...unnumbered(ghostTexts), ...unnumbered(messages.map((m) => m.text)).map((t) => `loopback: ${t}`)];
  }

  /** Wait until every stream of `dirs` is complete on the receiving side (or the deadline passes). */
  async function converge(dirs: Direction[], deadlineMs: number): Promise<void> {
    const end = Date.now() + deadlineMs;
    while (Date.now() < end) {
      let done = true;
      for (const { dir, portal } of streams.keys()) {
        if (!dirs.includes(dir)) continue;
        const got = await received(dir, portal).catch(() => []);
        if (!streams.complete(dir, portal, got)) { done = false; break; }
      }
      if (done) return;
      await sleep(2000);
    }
  }

  // ------------------------------------------------------------------ faults

  async function killAndRestart(): Promise<void> {
    await stack.bridge.stop('SIGKILL');
    await stack.bridge.start();
  }

  const faults: Record<string, (phase: string) => Promise<void>> = {
    'steady (no fault)': async () => undefined,
    'bridge SIGKILL x3': async () => {
      for (let k = 0; k < 3; k++) {
        await sleep(random(1500, 5000));
        await killAndRestart();
      }
    },
    'Synapse down 30 s': async () => {
      await sleep(random(1000, 3000));
      await stack.synapse.stop();
      await sleep(30_000);
      await stack.synapse.start();
    },
    'Prosody restart': async () => {
      await sleep(random(1000, 3000));
      // xena's own client stops typing while her server restarts (so no message is lost on her side).
      let resume!: () => void;
      xenaReady = new Promise((r) => { resume = r; });
      if (lastXenaId) { const id = lastXenaId; await xena.waitFor((s) => s.attrs.type === 'groupchat' && s.getChild('origin-id', 'urn:xmpp:sid:0')?.attrs.id === id, 'her last message back from the MUC'); }
      await xena.stop();
      await stack.prosody!.stop();
      await stack.prosody!.start();
      xena = await XmppPerson.connect(stack.prosody!, 'xena', 'xena-pw', { streamManagement: false });
      await xena.joinMuc(MUC, 'xena');
      resume();
    },
    'IRC server restart': async () => {
      await sleep(random(1000, 3000));
      // ivy's own client stops typing while her server restarts; what she read so far is kept
      // (the channel's history goes with the server).
      let resume!: () => void;
      ivyReady = new Promise((r) => { resume = r; });
      let loud!: () => void;
      ircQuiet = new Promise((r) => { loud = r; });
      await sleep(500); // her last line reaches the server, and the bridge's last lines reach her
      ivyBefore.push(...ivyHeard().slice(ivyBefore.length));
      await ivy.stop();
      await stack.ircd!.stop();
      loud(); // the server is down: alice's lines for the channel now wait in the bridge
      await stack.ircd!.start();
      ivy = await IrcPerson.connect(stack.ircd!.port, 'ivy');
      await ivy.join(CHANNEL);
      resume();
    },
    'transaction replays': async (phase) => {
      // Injected straight into the appservice API, so the Matrix streams must be settled first (order is per stream).
      await converge(['m2r'], 120_000);
      const reg = parse(readFileSync(stack.bridge.registrationFile, 'utf8')) as { hs_token: string };
      const put = (txn: string, events: unknown[]) => fetch(`${stack.bridge.url}/_matrix/app/v1/transactions/${encodeURIComponent(txn)}`, {
        method: 'PUT', headers: { authorization: `Bearer ${reg.hs_token}`, 'content-type': 'application/json' }, body: JSON.stringify({ events }),
      }).then((r) => assert.equal(r.status, 200, `transaction ${txn} answered ${r.status}`));
      const events = LOOPBACK.flatMap((portal) => Array.from({ length: 10 }, () => {
        const n = streams.take('m2r', portal, phase);
        return { type: 'm.room.message', room_id: rooms.get(portal), sender: alice.userId, event_id: `$replay-${portal}-${n}`, origin_server_ts: Date.now(), content: { msgtype: 'm.text', body: marker('m2r', portal, n) } };
      }));
      await put('fault-replay-1', events);
      await put('fault-replay-1', events); // the same transaction again (a homeserver retrying)
      await put('fault-replay-2', events); // the same events in another transaction
      await killAndRestart();
      await put('fault-replay-1', events); // an old transaction id after a restart
    },
  };

  it('2,300 messages each way through bridge kills, a Synapse outage, Prosody and IRC server restarts, and replays', async (t) => {
    const started = Date.now();
    for (const { name, count } of PHASES) {
      const phaseStart = Date.now();
      const fault = faults[name]!;
      if (name === 'transaction replays') await fault(name);
      await Promise.all([matrixDriver(name, count), remoteDriver(name, count), name === 'transaction replays' ? undefined : fault(name)]);
      t.diagnostic(`${name}: ${Math.round((Date.now() - phaseStart) / 1000)} s`);
    }
    await converge(['m2r', 'r2m'], 180_000);
    // A fresh client reads the MUC archive: xena's own connection has seen a server restart.
    const reader = await XmppPerson.connect(stack.prosody!, 'xena', 'xena-pw', { streamManagement: false });
    // And a fresh IRC client gets the channel's history since the IRC server restarted, replayed on join.
    const ircReader = await IrcPerson.connect(stack.ircd!.port, 'reader');
    await ircReader.join(CHANNEL);
    await sleep(2000);
    const ircReplay = ircReader.heard.filter((h) => h.command === 'privmsg' && h.target === CHANNEL).map((h) => h.message ?? '');
    const stray: string[] = [];
    try {
      for (const { dir, portal } of streams.keys()) rows.push(...streams.verdict(dir, portal, await received(dir, portal, reader, ircReplay)));
      for (const portal of PORTALS) stray.push(...(await strays(portal, reader, ircReplay)));
    } finally {
      await reader.stop();
      await ircReader.stop();
    }
    t.diagnostic(`\n${table(rows)}\n`);
    t.diagnostic(`the IRC channel alone:\n${table(rows.filter((r) => r.portal === IRC_PORTAL))}\n`);
    t.diagnostic(`sent: ${streams.count('m2r')} Matrix → remote, ${streams.count('r2m')} remote → Matrix; suite ran ${Math.round((Date.now() - started) / 1000)} s`);
    t.diagnostic(`messages that are not numbered: ${stray.length}${stray.length ? `\n${stray.slice(0, 20).join('\n')}` : ''}`);
    assert.deepEqual(stray, [], 'nothing but the numbered messages reached the other side (no command, no notice)');
    const bad = rows.filter((r) => r.lost || r.duplicated || r.reordered);
    assert.deepEqual(bad, [], 'every message arrived exactly once, in order, in every portal and scenario');
    assert.ok(streams.count('m2r') >= 2300 * SCALE && streams.count('r2m') >= 2300 * SCALE);
  });
});
