/**
 * A gateway room end to end (issue 9): one Matrix room on a real Synapse linked to a
 * loopback group and to a MUC on a real Prosody. Every message reaches every side once,
 * with the right sender; an edit and a reaction follow it; a bridge restart between a
 * message and its edit keeps the mapping. The conversation is printed side by side.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { Element } from '@xmpp/xml';
import { xml } from '@xmpp/client';
import type { MatrixTestClient } from '../harness/matrix-client.js';
import { Stack } from '../harness/stack.js';
import { XmppPerson } from '../harness/xmpp-person.js';

const MUC = 'gateway@conference.xmpp.test';
const NS = { correct: 'urn:xmpp:message-correct:0', reactions: 'urn:xmpp:reactions:0', sid: 'urn:xmpp:sid:0' };
const body = (st: Element) => st.getChildText('body') ?? '';

describe('gateway room: Matrix, loopback and XMPP in one conversation', { timeout: 300_000 }, () => {
  let stack: Stack;
  let alice: MatrixTestClient;
  let xena: XmppPerson;
  let room: string;

  before(async () => {
    stack = await Stack.start({ xmpp: true });
    stack.prosody!.register('xena', 'xena-pw');
    await stack.loopback.call('POST', '/users', { id: 'bob', name: 'Bob' });
    await stack.loopback.call('POST', '/groups', { id: 'lobby', name: 'Lobby', members: ['bob', 'relaybot'] });
    alice = await stack.user('alice');
    xena = await XmppPerson.connect(stack.prosody!, 'xena', 'xena-pw', { streamManagement: false });
    await xena.joinMuc(MUC, 'xena');
    room = await alice.createRoom({ name: 'Gateway', preset: 'public_chat', invite: [stack.botUserId] });
    await alice.waitFor((e) => e.room_id === room && e.state_key === stack.botUserId && e.content.membership === 'join', 'the bot joining');
  });

  after(async () => {
    await xena?.stop();
    await alice?.stop();
    await stack?.stop();
  });

  const loopbackTexts = async () => (await stack.loopback.call<{ messages: { id: string; from: string; text: string }[] }>('GET', '/chats/lobby/messages')).messages;
  async function loopbackSees(text: string): Promise<{ id: string; from: string; text: string }> {
    for (let i = 0; i < 100; i++) {
      const hit = (await loopbackTexts()).find((m) => m.text === text);
      if (hit) return hit;
      await new Promise((r) => setTimeout(r, 200));
    }
    throw new Error(`the loopback group never got ${JSON.stringify(text)}; it has ${JSON.stringify((await loopbackTexts()).map((m) => m.text))}`);
  }

  it('links, then each side hears every other side once, with the right sender', async (t) => {
    for (const cmd of ['link loopback lobby', `!sb link xmpp ${MUC}`]) {
      await alice.sendText(room, cmd);
      await alice.waitFor((e) => e.room_id === room && e.sender === stack.botUserId && String(e.content.body).startsWith(`Linked this room to ${cmd.includes('xmpp') ? 'XMPP' : 'Loopback'}`), `the answer to ${cmd}`, 60_000);
    }
    await alice.sendText(room, '!sb links');
    const links = await alice.waitFor((e) => e.room_id === room && e.sender === stack.botUserId && String(e.content.body).startsWith('Chats linked'), 'the links answer');
    assert.match(String(links.content.body), /• loopback "Lobby" \(lobby\): both[\s\S]*• xmpp .*\(gateway@conference\.xmpp\.test\): both/);

    const lines: string[] = [];
    // bob on loopback
    await stack.loopback.call('POST', '/messages', { from: 'bob', chat: 'lobby', text: 'hi all, bob on loopback' });
    const m1 = await alice.waitFor((e) => e.room_id === room && e.content.body === 'hi all, bob on loopback', "bob's message on Matrix");
    assert.equal(m1.sender, stack.ghost('bob'));
    const x1 = await xena.waitFor((s) => s.attrs.type === 'groupchat' && body(s) === '*Bob (loopback)*: hi all, bob on loopback', "bob's message in the MUC");
    lines.push(`loopback bob: hi all, bob on loopback | Matrix ${m1.sender}: ${m1.content.body} | XMPP ${x1.attrs.from}: ${body(x1)}`);

    // xena on XMPP
    await xena.say(MUC, 'hello from xena on XMPP', { type: 'groupchat' });
    const m2 = await alice.waitFor((e) => e.room_id === room && e.content.body === 'hello from xena on XMPP', "xena's message on Matrix");
    const l2 = await loopbackSees('xena (xmpp): hello from xena on XMPP');
    assert.equal(l2.from, 'relaybot');
    lines.push(`XMPP xena: hello from xena on XMPP | Matrix ${m2.sender}: ${m2.content.body} | loopback ${l2.from}: ${l2.text}`);

    // alice on Matrix
    await alice.sendText(room, 'and alice from Matrix');
    const l3 = await loopbackSees('alice: and alice from Matrix');
    const x3 = await xena.waitFor((s) => s.attrs.type === 'groupchat' && body(s) === '*alice*: and alice from Matrix', "alice's message in the MUC");
    lines.push(`Matrix alice: and alice from Matrix | loopback ${l3.from}: ${l3.text} | XMPP ${x3.attrs.from}: ${body(x3)}`);

    // Each appears once on every side: no loop through the relays' own echoes.
    await new Promise((r) => setTimeout(r, 1500));
    const matrixBodies = (await alice.history(room)).filter((e) => e.type === 'm.room.message').map((e) => String(e.content.body));
    for (const text of ['hi all, bob on loopback', 'hello from xena on XMPP', 'and alice from Matrix']) {
      assert.equal(matrixBodies.filter((b) => b === text).length, 1, `${text} once on Matrix`);
      assert.equal((await loopbackTexts()).filter((m) => m.text.endsWith(text)).length, 1, `${text} once on loopback`);
      assert.equal(xena.stanzas.filter((s) => s.attrs.type === 'groupchat' && body(s).endsWith(text)).length, 1, `${text} once in the MUC`);
    }
    for (const l of lines) t.diagnostic(l);
  });

  it('an edit and a reaction from loopback reach XMPP, also across a bridge restart', async (t) => {
    const { id } = await stack.loopback.call<{ id: string }>('POST', '/messages', { from: 'bob', chat: 'lobby', text: 'meeting at 5' });
    const copy = await xena.waitFor((s) => s.attrs.type === 'groupchat' && body(s) === '*Bob (loopback)*: meeting at 5', 'the message in the MUC');
    await stack.bridge.stop();
    await stack.bridge.start();
    await stack.loopback.call('POST', `/messages/${id}/edits`, { text: 'meeting at 6' });
    const correction = await xena.waitFor((s) => s.attrs.type === 'groupchat' && s.getChild('replace', NS.correct) !== undefined && body(s) === '*Bob (loopback)*: meeting at 6', 'the correction in the MUC', 30_000);
    // The MUC's stanza id of the copy; the id attribute is known only until a restart (docs/networks/xmpp.md).
    const stanzaId = copy.getChild('stanza-id', NS.sid)?.attrs.id;
    assert.ok(stanzaId, 'the MUC gave the copy a stanza id');
    const corrected = correction.getChild('replace', NS.correct)!.attrs.id;
    assert.ok(corrected === copy.attrs.id || corrected === stanzaId, 'the correction names the relayed copy');
    t.diagnostic(`loopback bob edits "meeting at 5" → "meeting at 6" (after a bridge restart) | XMPP gets a correction of ${corrected}`);

    // xena reacts in the MUC to bob's relayed message: it reaches bob's original on loopback.
    await xena.send(xml('message', { to: MUC, type: 'groupchat', id: 'react-1' }, xml('reactions', { xmlns: NS.reactions, id: stanzaId }, xml('reaction', {}, '👍')), xml('store', { xmlns: 'urn:xmpp:hints' })));
    for (let i = 0; i < 100; i++) {
      const msg = await stack.loopback.call<{ reactions: Record<string, string[]> }>('GET', `/messages/${id}`);
      if (msg.reactions.relaybot?.includes('👍')) {
        t.diagnostic(`XMPP xena reacts 👍 to the copy | Matrix: reaction by her ghost | loopback: relaybot's 👍 on bob's original`);
        return;
      }
      await new Promise((r) => setTimeout(r, 200));
    }
    assert.fail("xena's reaction never reached bob's original message on loopback");
  });
});
