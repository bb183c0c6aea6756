/**
 * Fault injection with an encrypted portal (issue 25): a numbered stream both ways
 * through an encrypted group portal while the bridge is SIGKILLed and restarted, the
 * Matrix side an independent E2EE client (matrix-nio with libolm) that encrypts what it
 * sends and decrypts what it gets. Then: every message arrived, exactly once, in order,
 * and decrypted, or (Matrix -> remote only) was announced to its sender as not decryptable.
 *
 * Why that second case exists: Synapse drops to-device messages for an appservice while it
 * is down (synapse#14710; `_TransactionController.send` returns early "in recovery mode",
 * and a retried transaction carries its events only). A room key the client shares while
 * the bridge is dead never reaches it, and an appservice may not /sync (Synapse refuses it).
 * The bridge then asks the sender's devices for the key (m.room_key_request; clients on
 * matrix-rust-sdk answer a device they had shared the session with, matrix-nio does not),
 * and after `key_wait_s` tells the sender. Those are counted apart: never lost in silence.
 */
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { E2eeClient, ensureE2eeClient } from '../harness/e2ee-client.js';
import { Stack } from '../harness/stack.js';
import { marker, parseMarker, retrying, sleep, Streams, table, type Direction, type Row } from './stream.js';

const PORTAL = 'enc';
const SCALE = Number(process.env.FAULTS_SCALE ?? 1);
const PHASES = [
  { name: 'steady (no fault)', count: 60, kills: 0 },
  { name: 'bridge SIGKILL x2', count: 160, kills: 2 },
].map((p) => ({ ...p, count: Math.round(p.count * SCALE) }));
const PACE_MS = 30;
/** Short: a key the homeserver dropped never comes (nio does not answer key requests). */
const KEY_WAIT_S = 10;

describe('fault injection with an encrypted portal: nothing lost, nothing twice, in order, all decrypted', { timeout: 600_000 }, () => {
  let stack: Stack;
  let alice: E2eeClient;
  let room: string;
  const streams = new Streams();
  /** Matrix event id of each numbered message nio sent (a notice answers the event). */
  const sentEvent = new Map<string, number>();
  const rows: Row[] = [];

  before(async () => {
    ensureE2eeClient();
    stack = await Stack.start({
      bridge: {
        logLevel: 'info',
        loopback: { puppets: [{ owner: '@alice:switchboard.test', user: 'alice' }] },
        extra: { encryption: { allow: true, default: true, key_wait_s: KEY_WAIT_S } },
      },
      ...(process.env.FAULTS_DIR && { dir: process.env.FAULTS_DIR }),
    });
    await stack.synapse.register('alice');
    alice = new E2eeClient(stack.synapse.url, '@alice:switchboard.test', 'alice-pass', join(stack.dir, 'nio-alice'));
    await alice.login();
    await stack.loopback.addUser('bob', 'Bob');
    await stack.loopback.addGroup(PORTAL, { name: 'Encrypted faults', members: ['alice', 'bob'] });
    await stack.loopback.say('bob', PORTAL, 'opening the portal');
    room = await alice.waitForInvite();
    await alice.join(room);
    await alice.waitFor((e) => e.room_id === room && e.content?.body === 'opening the portal', 30_000);
  });

  after(async () => {
    await alice?.close();
    await stack?.stop();
  });

  async function matrixDriver(phase: string, count: number): Promise<void> {
    for (let i = 0; i < count; i++) {
      const n = streams.take('m2r', PORTAL, phase);
      // Synapse stays up: nio's send is taken once; what the bridge does with it is measured.
      sentEvent.set(await alice.send(room, { msgtype: 'm.text', body: marker('m2r', PORTAL, n) }), n);
      await sleep(PACE_MS);
    }
  }

  async function remoteDriver(phase: string, count: number): Promise<void> {
    for (let i = 0; i < count; i++) {
      const n = streams.take('r2m', PORTAL, phase);
      // The loopback network is down with the bridge: bob's app retries with the same key.
      await retrying(() => stack.loopback.call('POST', '/messages', { from: 'bob', chat: PORTAL, text: marker('r2m', PORTAL, n), txn: `r2m-${n}` }));
      await sleep(PACE_MS);
    }
  }

  async function received(dir: Direction): Promise<number[]> {
    const pick = (texts: string[]) => texts.map(parseMarker).filter((m) => m?.dir === dir && m.portal === PORTAL).map((m) => m!.n);
    if (dir === 'r2m') {
      const events = (await alice.events()).filter((e) => e.room_id === room && e.sender === stack.ghost('bob'));
      return pick(events.filter((e) => e.decrypted).map((e) => String(e.content?.body ?? '')));
    }
    const { messages } = await stack.loopback.call<{ messages: { text: string }[] }>('GET', `/chats/${PORTAL}/messages`);
    return pick(messages.map((m) => m.text));
  }

  /** Numbered messages the bridge told nio it could not decrypt. */
  async function announced(): Promise<number[]> {
    return (await alice.events())
      .filter((e) => e.room_id === room && /could not be decrypted/.test(String(e.content?.body)))
      .map((e) => sentEvent.get(String((e.content['m.relates_to'] as { 'm.in_reply_to'?: { event_id?: string } } | undefined)?.['m.in_reply_to']?.event_id)))
      .filter((n): n is number => n !== undefined);
  }

  async function converge(deadlineMs: number): Promise<void> {
    const end = Date.now() + deadlineMs;
    while (Date.now() < end) {
      const told = await announced();
      const done = await Promise.all((['m2r', 'r2m'] as const).map(async (dir) => streams.complete(dir, PORTAL, [...(await received(dir).catch(() => [])), ...(dir === 'm2r' ? told : [])])));
      if (done.every(Boolean)) return;
      await sleep(1000);
    }
  }

  it('both ways through bridge kills', async (t) => {
    for (const phase of PHASES) {
      const kills = (async () => {
        for (let k = 0; k < phase.kills; k++) {
          await sleep(1500 + Math.random() * 3500);
          await stack.bridge.stop('SIGKILL');
          await stack.bridge.start();
        }
      })();
      await Promise.all([matrixDriver(phase.name, phase.count), remoteDriver(phase.name, phase.count), kills]);
      // Generous: the messages of a session whose key the homeserver dropped each wait for it
      // (holding the portal, both ways) before their senders are told.
      await converge(300_000);
    }
    const told = new Set(await announced());
    for (const dir of ['m2r', 'r2m'] as const) {
      const got = await received(dir);
      const verdict = streams.verdict(dir, PORTAL, got);
      // An announced message is not lost: it is taken off `lost` and counted apart.
      const toldHere = dir === 'm2r' ? streams.missing(dir, PORTAL, got).filter((n) => told.has(n)) : [];
      for (const n of toldHere) verdict.find((r) => r.phase === streams.phaseOf(dir, PORTAL, n))!.lost--;
      if (toldHere.length) t.diagnostic(`${dir}: announced to the sender as not decryptable (key dropped while the bridge was down): ${JSON.stringify(toldHere)}`);
      rows.push(...verdict);
      // Where order broke, what arrived around it (for a post-mortem).
      got.forEach((n, i) => { if (i > 0 && n < Math.max(...got.slice(0, i))) t.diagnostic(`${dir}: ${n} arrived after ${JSON.stringify(got.slice(Math.max(0, i - 5), i))}`); });
    }
    t.diagnostic(`\n${table(rows)}\n`);
    const events = await alice.events();
    const undecryptable = events.filter((e) => e.room_id === room && e.undecryptable).length;
    const notices = events.filter((e) => e.room_id === room && /could not be decrypted/.test(String(e.content?.body))).length;
    t.diagnostic(`events nio could not decrypt: ${undecryptable}; "could not be decrypted" notices: ${notices} (for ${told.size} numbered messages)`);
    for (const r of rows) assert.deepEqual([r.phase, r.dir, r.lost, r.duplicated, r.reordered], [r.phase, r.dir, 0, 0, 0]);
    assert.equal(undecryptable, 0, 'every message the bridge sent decrypted in the client');
    // A key the bridge had received is never lost: every notice is for a session whose key
    // Synapse dropped, so no notice falls in the steady phase (no outage there).
    assert.ok([...told].every((n) => streams.phaseOf('m2r', PORTAL, n) !== 'steady (no fault)'), 'no notice without an outage');
  });
});
