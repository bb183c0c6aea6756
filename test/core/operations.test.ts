/**
 * What an admin sees and does about the bridge's work (issue 20): the metrics the
 * pipeline counts, and the parked events an admin lists, retries and drops.
 */
import assert from 'node:assert/strict';
import { afterEach, beforeEach, describe, it } from 'node:test';
import type { OutboundEvent } from '../../core/events.js';
import { startOf } from '../../core/pipeline/inbox-runner.js';
import { LoopbackAdapter, LoopbackWorld } from '../../bridges/loopback/index.js';
import { ALICE, matrixText, startHarness, testConfig, type Harness } from '../fakes/harness.js';

const ADMIN = '@root:example.org';
const DM = '!mgmt:example.org';

const config = () => testConfig({ bridge: { permissions: { '*': 'relay', 'example.org': 'user', [ADMIN]: 'admin' }, retry: { max_attempts: 3, base_delay_ms: 5, max_delay_ms: 20 } } });

/** The bot's answer to `text` from `sender` in the management room. */
async function say(h: Harness, sender: string, text: string): Promise<string> {
  const before = h.matrix.sends().length;
  await h.fromMatrix(matrixText(DM, sender, text));
  const answers = h.matrix.sends().slice(before).filter((s) => s.sender === h.matrix.botUserId && s.roomId === DM);
  assert.equal(answers.length, 1, `one answer to "${text}"`);
  return String(answers[0]!.content.body);
}

/** A metric's value as the Prometheus text gives it, 0 when the series is absent. */
async function metric(h: Harness, series: string): Promise<number> {
  const text = await h.engine.metrics.text();
  const line = text.split('\n').find((l) => l.startsWith(`${series} `));
  return line ? Number(line.slice(series.length + 1)) : 0;
}

const sent = (world: LoopbackWorld) => world.fromBridge.flatMap((s) => (s.event.type === 'message' ? [s.event.content.text] : []));

describe('operations: metrics and parked events', () => {
  let h: Harness;
  let adapter: LoopbackAdapter;
  let refuse: Set<string>;
  let roomId: string;

  beforeEach(async () => {
    const world = new LoopbackWorld();
    adapter = new LoopbackAdapter(world);
    h = await startHarness({ config: config(), world, adapters: [adapter] });
    refuse = new Set();
    const original = world.fromSession.bind(world);
    world.fromSession = async (by, ev: OutboundEvent, key?: string) => {
      if (ev.type === 'message' && refuse.has(ev.content.text)) throw new Error(`the network refuses "${ev.content.text}"`);
      return original(by, ev, key);
    };
    world.addUser('bob');
    world.addGroup('general', { members: ['alice', 'bob', 'relaybot'] });
    await world.say('bob', 'general', 'hi');
    await h.engine.idle();
    roomId = h.matrix.sends()[0]!.roomId;
  });
  afterEach(() => h.stop());

  it('counts messages by network, direction and outcome, failed attempts, the inbox and logins', async () => {
    refuse.add('poison');
    await h.fromMatrix(matrixText(roomId, ALICE, 'one'), matrixText(roomId, ALICE, 'poison'), matrixText(roomId, ALICE, 'two'));
    const labels = (direction: string, outcome: string) => `switchboard_messages_total{network="loopback",direction="${direction}",outcome="${outcome}"}`;
    assert.equal(await metric(h, labels('matrix_to_remote', 'sent')), 2);
    assert.equal(await metric(h, labels('matrix_to_remote', 'parked')), 1);
    assert.equal(await metric(h, labels('remote_to_matrix', 'sent')), 1, 'bob\'s "hi"');
    assert.equal(await metric(h, 'switchboard_delivery_failures_total{network="loopback",direction="matrix_to_remote",kind="retry"}'), 3);
    assert.equal(await metric(h, 'switchboard_inbox_rows{state="parked"}'), 1);
    assert.equal(await metric(h, 'switchboard_inbox_rows{state="pending"}'), 0);
    assert.equal(await metric(h, 'switchboard_portal_queue_depth{stat="sum"}'), 0);
    assert.equal(await metric(h, 'switchboard_logins{network="loopback",state="connected"}'), 2, 'alice\'s puppet and the relay');
    assert.equal(await metric(h, 'switchboard_delivery_seconds_count{network="loopback",direction="matrix_to_remote"}'), 2);
    assert.equal(await metric(h, 'switchboard_handler_seconds_count{direction="matrix_to_remote"}'), 5, 'two sends and three failed attempts');
  });

  it('counts an edit the network cannot carry as a fallback, and an event nobody bridges as ignored', async () => {
    await h.fromMatrix({ ...matrixText(roomId, ALICE, 'first'), event_id: '$first' });
    adapter.capabilities = { ...adapter.capabilities, edits: false };
    await h.fromMatrix(matrixText(roomId, ALICE, '* second', { 'm.new_content': { msgtype: 'm.text', body: 'second' }, 'm.relates_to': { rel_type: 'm.replace', event_id: '$first' } }));
    await h.fromMatrix(matrixText(roomId, ALICE, '* third', { 'm.new_content': { msgtype: 'm.text', body: 'third' }, 'm.relates_to': { rel_type: 'm.replace', event_id: '$never-bridged' } }));
    assert.deepEqual(sent(h.world).slice(-1), ['* second']);
    assert.equal(await metric(h, 'switchboard_messages_total{network="loopback",direction="matrix_to_remote",outcome="fallback"}'), 1);
    assert.equal(await metric(h, 'switchboard_messages_total{network="loopback",direction="matrix_to_remote",outcome="ignored"}'), 1);
  });

  it('parked lists what was given up on; retry delivers it in its portal; drop sets one aside for good', async () => {
    refuse.add('poison').add('spam');
    await h.fromMatrix(matrixText(roomId, ALICE, 'poison'), matrixText(roomId, ALICE, 'spam'));
    const list = await say(h, ADMIN, 'parked');
    const numbers = [...list.matchAll(/#(\d+) Matrix → loopback, \d+ s ago, \d+ attempts?: parked after 3 attempts: loopback send failed: the network refuses "(\w+)"/g)].map((m) => [m[2], m[1]]);
    assert.deepEqual(numbers.map(([text]) => text), ['spam', 'poison'], `newest first: ${list}`);
    const seq = Object.fromEntries(numbers) as Record<string, string>;
    assert.equal(await say(h, ADMIN, 'parked loopback'), list, 'the same list for the network');
    assert.match(await say(h, ADMIN, 'parked nowhere'), /There is no network "nowhere" here/);

    assert.equal(await say(h, ADMIN, `drop ${seq.spam}`), `#${seq.spam} is dropped.`);
    assert.equal(await say(h, ADMIN, `retry ${seq.spam}`), `#${seq.spam} is not a parked event (see "parked").`, 'a dropped event is never retried');
    refuse.clear();
    assert.equal(await say(h, ADMIN, `retry #${seq.poison}`), `#${seq.poison} is queued again.`);
    await h.engine.idle();
    assert.deepEqual(sent(h.world), ['poison'], 'the retried event reached the network; the dropped one never did');
    assert.equal(await say(h, ADMIN, 'parked'), 'No parked events.');
    assert.equal(h.store.countInbox('failed'), 0);
    assert.match(h.store.getInbox(Number(seq.spam))!.payload, /spam/, 'the dropped row is kept (done), so the homeserver resending it is still a duplicate');
  });

  it('retry all queues every parked event again, oldest first; only bridge admins see or touch them', async () => {
    refuse.add('a').add('b');
    await h.fromMatrix(matrixText(roomId, ALICE, 'a'), matrixText(roomId, ALICE, 'b'));
    assert.match(await say(h, ALICE, 'parked'), /needs the bridge permission "admin"/);
    assert.match(await say(h, ALICE, 'retry all'), /needs the bridge permission "admin"/);
    assert.match(await say(h, ALICE, 'drop 1'), /needs the bridge permission "admin"/);
    assert.equal(h.store.countInbox('failed'), 2, 'nothing changed for a non-admin');
    refuse.clear();
    assert.equal(await say(h, ADMIN, 'retry all'), '2 parked events queued again, oldest first.');
    await h.engine.idle();
    assert.deepEqual(sent(h.world), ['a', 'b']);
    assert.equal(await say(h, ADMIN, 'retry all'), 'No parked events.');
    assert.match(await say(h, ADMIN, 'retry seven'), /^Usage: retry/);
  });
});

describe('delivery time starts at a plausible origin', () => {
  it('uses the origin timestamp only between ten minutes before receipt and receipt', () => {
    const received = 1_000_000_000;
    assert.equal(startOf(received - 1500, received), received - 1500);
    assert.equal(startOf(undefined, received), received);
    assert.equal(startOf(received + 60_000, received), received, 'a clock in the future');
    assert.equal(startOf(0, received), received, 'a timestamp from 1970');
    assert.equal(startOf(Number.NaN, received), received);
  });
});
