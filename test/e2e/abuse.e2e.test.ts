/**
 * Abuse (issue 19): 1,000 hostile inputs from each side against the running bridge
 * (real Synapse, the bridge as a process, the loopback network through its control API),
 * in batches of 100. After each batch a normal message must still cross both ways
 * (liveness); at the end every input is accounted for (bridged or announced, none lost),
 * nobody's words were changed by someone else, and nothing leaked into another room.
 * The inputs come from a seeded generator (abuse-corpus.ts).
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { after, before, describe, it, type TestContext } from 'node:test';
import { parse } from 'yaml';
import type { MatrixTestClient } from '../harness/matrix-client.js';
import { Stack } from '../harness/stack.js';
import { matrixCorpus, remoteCorpus } from './abuse-corpus.js';

const COUNT = Number(process.env.ABUSE_COUNT ?? 1000);
const BATCH = 100;
const tagOf = (text: unknown, side: 'r' | 'm') => new RegExp(`\\[${side}-(\\d+)\\]`).exec(String(text ?? ''))?.[1];

interface ChatMessage { id: string; from: string; text: string; relayed_for?: string; deleted: boolean; edits: number }

describe('abuse: 1,000 hostile inputs from each side', { timeout: 1_500_000 }, () => {
  let stack: Stack;
  let alice: MatrixTestClient;
  let roomA: string;
  let roomB: string;
  const summary: string[] = [];

  const chat = async (id: string) => (await stack.loopback.call<{ messages: ChatMessage[] }>('GET', `/chats/${id}/messages`)).messages;
  const ghost = (u: string) => stack.ghost(u);

  before(async () => {
    // ABUSE_DIR keeps every server's files and logs there for a post-mortem.
    stack = await Stack.start({ bridge: { logLevel: 'info' }, ...(process.env.ABUSE_DIR && { dir: process.env.ABUSE_DIR }) });
    alice = await stack.user('alice');
    for (const [id, name] of [['bob', 'Bob'], ['mallory', 'Mallory']]) await stack.loopback.addUser(id!, name);
    await stack.loopback.addGroup('abuse', { name: 'Abuse', members: ['bob', 'mallory', 'relaybot'] });
    await stack.loopback.addGroup('other', { name: 'Other', members: ['bob', 'relaybot'] });
    const link = async (chatId: string) => {
      const room = await alice.createRoom({ name: chatId, preset: 'public_chat', invite: [stack.botUserId] });
      await alice.waitFor((e) => e.room_id === room && e.state_key === stack.botUserId && e.content.membership === 'join', 'the bot joining');
      await alice.sendText(room, `link loopback ${chatId}`);
      await alice.waitFor((e) => e.room_id === room && e.sender === stack.botUserId && /^Linked/.test(String(e.content.body)), 'the link answer');
      return room;
    };
    roomA = await link('abuse');
    roomB = await link('other');
  });

  after(async () => {
    await alice?.stop();
    await stack?.stop();
  });

  /** A normal message crosses both ways (the bridge is alive and no chat is stuck). */
  async function live(k: string): Promise<void> {
    const m = `live-m-${k}`;
    await alice.sendText(roomA, m);
    await stack.loopback.waitFromBridge((e) => e.event.type === 'message' && e.event.content.text.endsWith(m), 120_000);
    const r = `live-r-${k}`;
    await stack.loopback.say('bob', 'abuse', r);
    await alice.waitFor((e) => e.room_id === roomA && e.content.body === r, `${r} in Matrix`, 120_000);
  }

  it('Matrix → remote: every hostile message reaches the chat or is announced; the bridge stays live', async (t: TestContext) => {
    const corpus = matrixCorpus(COUNT);
    for (let b = 0; b < corpus.length; b += BATCH) {
      for (const input of corpus.slice(b, b + BATCH)) await alice.send(roomA, 'm.room.message', input.content, `abuse-${input.tag}`);
      await live(`m${b / BATCH}`);
    }
    const arrived = new Set((await chat('abuse')).filter((m) => m.from === 'relaybot').map((m) => tagOf(m.text, 'm')).filter((x) => x !== undefined));
    const refused = (await alice.history(roomA)).filter((e) => e.sender === stack.botUserId && /^⚠ Not delivered/.test(String(e.content.body)));
    for (const e of refused.slice(0, 5)) t.diagnostic(`announced: ${String(e.content.body).slice(0, 300)}`);
    const notices = refused.length;
    const lost = corpus.filter((_, n) => !arrived.has(String(n))).map((i) => i.tag);
    summary.push(`Matrix → remote: cases ${corpus.length}, bridged ${arrived.size}, rejected (announced) ${notices}, lost ${lost.length - notices}`);
    t.diagnostic(summary.at(-1)!);
    assert.deepEqual(lost.slice(0, 20), [], 'every message reached the chat');
  });

  it('remote → Matrix: every hostile message reaches the room or is announced; the bridge stays live', async (t: TestContext) => {
    const corpus = remoteCorpus(COUNT);
    const otherId = await stack.loopback.say('bob', 'other', 'a message of the other chat');
    for (let b = 0; b < corpus.length; b += BATCH) {
      for (const input of corpus.slice(b, b + BATCH)) {
        const replyTo = input.replyTo === 'other-chat' ? otherId : input.replyTo === 'unknown' ? 'no-such-message' : undefined;
        await stack.loopback.call('POST', '/messages', { from: 'bob', chat: 'abuse', content: input.content, ...(replyTo && { reply_to: replyTo }), txn: `abuse-${input.tag}` });
      }
      await live(`r${b / BATCH}`);
    }
    const events = await alice.history(roomA);
    const arrived = new Set(events.filter((e) => e.sender === ghost('bob') && e.type === 'm.room.message').map((e) => tagOf(e.content.body, 'r')).filter((x) => x !== undefined));
    const refused = events.filter((e) => e.sender === stack.botUserId && /could not be bridged here/.test(String(e.content.body)));
    for (const e of refused.slice(0, 5)) t.diagnostic(`announced: ${String(e.content.body).slice(0, 300)}`);
    const notices = refused.length;
    const lost = corpus.filter((_, n) => !arrived.has(String(n))).map((i) => i.tag);
    summary.push(`remote → Matrix: cases ${corpus.length}, bridged ${arrived.size}, rejected (announced) ${notices}, lost ${lost.length - notices}`);
    t.diagnostic(summary.at(-1)!);
    assert.deepEqual(lost.slice(0, 20), [], 'every message reached the room');
    // A message past Matrix's event size came cut, with the whole text as a file.
    assert.ok(events.some((e) => e.sender === ghost('bob') && e.content.msgtype === 'm.file' && e.content.body === 'message.txt'));
    // No reply points into the other room.
    const inA = new Set(events.map((e) => e.event_id));
    for (const e of events) {
      const to = (e.content['m.relates_to'] as { 'm.in_reply_to'?: { event_id?: string } } | undefined)?.['m.in_reply_to']?.event_id;
      if (to && e.sender === ghost('bob')) assert.ok(inA.has(to), `a reply in room A points at ${to}, outside it`);
    }
  });

  it('nobody acts on another sender\'s message, from either side, and nothing crosses rooms', async (t: TestContext) => {
    const before = await chat('abuse');
    const alices = before.filter((m) => m.relayed_for).slice(0, 50);
    const bobs = before.filter((m) => m.from === 'bob').slice(0, 50);
    // Remote: mallory claims edits and retractions of alice's and bob's messages; floods reactions.
    for (const m of [...alices, ...bobs]) {
      await stack.loopback.call('POST', `/messages/${encodeURIComponent(m.id)}/edits`, { text: 'forged by mallory', by: 'mallory' });
      await stack.loopback.call('DELETE', `/messages/${encodeURIComponent(m.id)}?by=mallory`);
    }
    await stack.loopback.call('PUT', `/messages/${encodeURIComponent(bobs[0]!.id)}/reactions`, { user: 'mallory', keys: Array.from({ length: 1000 }, (_, i) => `k${i}`) });

    // Matrix: alice edits bob's messages (Synapse lets her send it; the bridge must not apply it); a
    // redaction by someone without power arrives as a federated server would pass it on (straight to the
    // appservice API); alice replies in room B to room A's events, and edits a room A message from room B.
    const events = await alice.history(roomA);
    const bobEvents = events.filter((e) => e.sender === ghost('bob') && e.type === 'm.room.message').slice(0, 30);
    const aliceEvents = events.filter((e) => e.sender === alice.userId && e.type === 'm.room.message' && tagOf(e.content.body, 'm')).slice(0, 30);
    for (const e of bobEvents) await alice.edit(roomA, e.event_id, 'alice rewrites bob');
    const reg = parse(readFileSync(stack.bridge.registrationFile, 'utf8')) as { hs_token: string };
    const put = async (txn: string, body: unknown) => {
      const res = await fetch(`${stack.bridge.url}/_matrix/app/v1/transactions/${txn}`, { method: 'PUT', headers: { authorization: `Bearer ${reg.hs_token}`, 'content-type': 'application/json' }, body: JSON.stringify(body) });
      assert.equal(res.status, 200, `transaction ${txn}`);
    };
    await put('abuse-redactions', { events: [...bobEvents, ...aliceEvents].map((e, i) => ({ type: 'm.room.redaction', room_id: roomA, sender: '@mallory:elsewhere.example', redacts: e.event_id, event_id: `$abuse-redact-${i}`, origin_server_ts: Date.now(), content: {} })) });
    // Lone surrogates as JSON escapes, and junk in ephemeral, next to a message: recorded once, the message bridged.
    await put('abuse-raw', { events: [{ type: 'm.room.message', room_id: roomA, sender: alice.userId, event_id: '$abuse-raw', origin_server_ts: Date.now(), content: { msgtype: 'm.text', body: 'raw x\ud800y' } }], ephemeral: [null, 7, { type: 'm.typing' }] });
    // Synapse refuses relations across rooms from its own users (400); another server's event may still carry one.
    await put('abuse-cross-room', { events: aliceEvents.slice(0, 10).flatMap((e, i) => [
      { type: 'm.room.message', room_id: roomB, sender: alice.userId, event_id: `$abuse-xr-${i}`, origin_server_ts: Date.now(), content: { msgtype: 'm.text', body: 'replying across rooms', 'm.relates_to': { 'm.in_reply_to': { event_id: e.event_id } } } },
      { type: 'm.room.message', room_id: roomB, sender: alice.userId, event_id: `$abuse-xe-${i}`, origin_server_ts: Date.now(), content: { msgtype: 'm.text', body: '* edited from another room', 'm.new_content': { msgtype: 'm.text', body: 'edited from another room' }, 'm.relates_to': { rel_type: 'm.replace', event_id: e.event_id } } },
    ]) });
    await stack.loopback.waitFromBridge((e) => e.event.type === 'message' && e.event.content.text.endsWith('raw x\ufffdy'), 60_000);
    await live('x');

    const after = await chat('abuse');
    const byId = new Map(after.map((m) => [m.id, m]));
    for (const m of [...alices, ...bobs]) {
      assert.equal(byId.get(m.id)?.deleted, false, `${m.id} deleted by someone else`);
      assert.equal(byId.get(m.id)?.edits, 0, `${m.id} edited by someone else`);
    }
    const history = await alice.history(roomA);
    const redacted = history.filter((e) => e.type === 'm.room.redaction').map((e) => e.redacts);
    const protectedIds = new Set([...bobEvents, ...aliceEvents].map((e) => e.event_id));
    assert.deepEqual(redacted.filter((id) => protectedIds.has(String(id))), [], 'no message redacted by someone else');
    const forged = history.filter((e) => e.sender !== alice.userId && (e.content['m.relates_to'] as { rel_type?: string } | undefined)?.rel_type === 'm.replace');
    assert.deepEqual(forged.map((e) => e.sender), [], 'no edit from a ghost of someone who did not write the message');
    const malloryReactions = history.filter((e) => e.type === 'm.reaction' && e.sender === ghost('mallory'));
    assert.ok(malloryReactions.length <= 20, `a reaction flood became ${malloryReactions.length} reactions`);
    const other = await chat('other');
    assert.deepEqual(other.filter((m) => /\[m-|forged|rewrites|edited from another room/.test(m.text)).map((m) => m.text.slice(0, 60)), [], 'nothing of room A reached the other chat, except what was said in room B');
    const crossReplies = await Promise.all(other.filter((m) => /replying across rooms/.test(m.text)).map((m) => stack.loopback.message(m.id)));
    assert.equal(crossReplies.length, 10, 'the replies said in room B went to its chat');
    assert.deepEqual(crossReplies.filter((m) => m.replyTo).map((m) => m.replyTo), [], 'none of them quotes a message of the other chat');
    summary.push(`across senders and rooms: ${alices.length + bobs.length} messages attacked by mallory (edit + retraction each), ${bobEvents.length} edits by alice of bob's messages, ${bobEvents.length + aliceEvents.length} unauthorised redactions, 1,000 reaction keys (${malloryReactions.length} bridged), 20 cross-room replies and edits: applied 0`);
    t.diagnostic(summary.at(-1)!);
    t.diagnostic('abuse summary:');
    for (const line of summary) t.diagnostic(`  ${line}`);
  });
});
