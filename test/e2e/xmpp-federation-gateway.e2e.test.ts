/**
 * The XMPP federation gateway end to end (issue 22): real Synapse, real Prosody with the
 * gateway as its component (XEP-0114), the bridge as a child process, XMPP people using
 * @xmpp/client. A Matrix user opts in and gets an address; XMPP people write to it with
 * no account on Matrix, and the Matrix user writes to them with none on XMPP. Disco and
 * the gateway prompt, presence subscriptions asked in the management room, and abuse:
 * nobody at an address that did not opt in, a blocked stranger, a flood, malformed
 * stanzas, someone retracting another's message. Prosody restarts in the middle.
 * The conversation is printed as diagnostics, both sides.
 */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { after, before, describe, it, type TestContext } from 'node:test';
import type { Element } from '@xmpp/xml';
import { xml } from '@xmpp/client';
import { escapeLocalpart } from '../../core/ids.js';
import { localpartOfAlias, localpartOfMatrixUser } from '../../bridges/xmppgw/addresses.js';
import type { MatrixEvent, MatrixTestClient } from '../harness/matrix-client.js';
import { Stack } from '../harness/stack.js';
import { XmppPerson } from '../harness/xmpp-person.js';

const NS = {
  correct: 'urn:xmpp:message-correct:0', reactions: 'urn:xmpp:reactions:0', retract: 'urn:xmpp:message-retract:1', reply: 'urn:xmpp:reply:0',
  sid: 'urn:xmpp:sid:0', chatStates: 'http://jabber.org/protocol/chatstates', muc: 'http://jabber.org/protocol/muc', mucUser: 'http://jabber.org/protocol/muc#user', discoInfo: 'http://jabber.org/protocol/disco#info', gateway: 'jabber:iq:gateway', ping: 'urn:xmpp:ping', stanzas: 'urn:ietf:params:xml:ns:xmpp-stanzas',
};
const FLOOD_LIMIT = 50;
// A 1x1 PNG.
const PNG = Buffer.from('iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8BQDwAEhQGAhKmMIQAAAABJRU5ErkJggg==', 'base64');
const relatesTo = (e: MatrixEvent, rel: string) => {
  const r = e.content['m.relates_to'] as { rel_type?: string; event_id?: string } | undefined;
  return r?.rel_type === rel ? r.event_id : undefined;
};
const body = (st: Element) => st.getChildText('body');
const condition = (st: Element) => st.getChild('error')?.children.find((c): c is Element => typeof c !== 'string' && c.attrs.xmlns === NS.stanzas && c.name !== 'text')?.name;
const hasStatus = (st: Element, code: string) => st.getChild('x', NS.mucUser)?.getChildren('status').some((c) => c.attrs.code === code) ?? false;
const errorText = (st: Element) => st.getChild('error')?.getChildText('text', NS.stanzas) ?? '';

describe('XMPP federation gateway: Matrix users reachable from XMPP with no account on either side', { timeout: 300_000 }, () => {
  let stack: Stack;
  let alice: MatrixTestClient;
  let dave: MatrixTestClient;
  let bob: XmppPerson;
  let carol: XmppPerson;
  let erin: XmppPerson;
  /** Never rate-limited: the room refusals. */
  let frank: XmppPerson;
  let mgmt: string;
  let dm: string;
  let aliceAddr: string;
  let component: string;
  const ghost = (remote: string) => `@_xmppgw_${escapeLocalpart(remote)}:${stack.synapse.serverName}`;
  const log = (t: TestContext, line: string) => t.diagnostic(line);

  /** Say something in the management room and return the bot's answer. */
  async function command(text: string): Promise<string> {
    const sent = await alice.sendText(mgmt, text);
    const own = await alice.waitFor((e) => e.event_id === sent, 'our own message in the timeline');
    const ev = await alice.waitFor((e) => e.room_id === mgmt && e.sender === stack.botUserId && e.type === 'm.room.message' && alice.events.indexOf(e) > alice.events.indexOf(own), `the answer to ${text}`);
    return String(ev.content.body);
  }

  before(async () => {
    stack = await Stack.start({ xmppGateway: { rate_limits: { per_jid: { stanzas: FLOOD_LIMIT, window_s: 60 } } }, bridge: { publicMedia: true } });
    const p = stack.prosody!;
    component = p.gatewayDomain;
    for (const name of ['bob', 'carol', 'erin', 'frank']) p.register(name, `${name}-pw`);
    alice = await stack.user('alice');
    dave = await stack.user('dave');
    aliceAddr = `${localpartOfMatrixUser(alice.userId)}@${component}`;
    bob = await XmppPerson.connect(p, 'bob', 'bob-pw', { streamManagement: false });
    carol = await XmppPerson.connect(p, 'carol', 'carol-pw', { streamManagement: false });
    erin = await XmppPerson.connect(p, 'erin', 'erin-pw', { streamManagement: false });
    frank = await XmppPerson.connect(p, 'frank', 'frank-pw', { streamManagement: false });
  });

  after(async () => {
    await Promise.all([bob?.stop(), carol?.stop(), erin?.stop(), frank?.stop()]);
    await alice?.stop();
    await dave?.stop();
    await stack?.stop();
  });

  it('login xmppgw: an address made from the Matrix ID, no credentials asked', async (t) => {
    mgmt = await alice.createRoom({ is_direct: true, invite: [stack.botUserId], preset: 'trusted_private_chat' });
    await alice.waitFor((e) => e.room_id === mgmt && e.state_key === stack.botUserId && e.content.membership === 'join', 'the bot joining');
    const prompt = await command('login xmppgw');
    assert.ok(prompt.includes(`Your XMPP address will be ${aliceAddr}`), prompt);
    assert.match(await command('sometimes'), /answer anyone, ask or never/);
    await command('login xmppgw');
    const done = await command('ask');
    assert.equal(done, `Logged in to xmppgw as ${aliceAddr}. Your chats will appear as rooms when their messages arrive.`);
    log(t, `alice (Matrix, ${alice.userId}): login xmppgw → "${prompt.split('\n')[0]}" → ask → "${done}"`);
    let state = '';
    for (let i = 0; i < 30 && !/: connected/.test(state); i++) {
      state = await command('logins');
      if (!/: connected/.test(state)) await new Promise((r) => setTimeout(r, 500));
    }
    assert.match(state, /xmppgw as .*: connected/);
  });

  it('the component answers disco (gateway/matrix), the gateway prompt, ping and disco on an address', async (t) => {
    const info = await bob.iq('get', component, xml('query', { xmlns: NS.discoInfo }));
    const identity = info.getChild('query', NS.discoInfo)!.getChild('identity')!;
    assert.deepEqual([identity.attrs.category, identity.attrs.type], ['gateway', 'matrix']);
    const features = info.getChild('query', NS.discoInfo)!.getChildren('feature').map((f) => f.attrs.var);
    assert.ok(features.includes(NS.gateway) && features.includes(NS.ping), features.join(' '));
    const prompt = await bob.iq('get', component, xml('query', { xmlns: NS.gateway }));
    assert.equal(prompt.getChild('query', NS.gateway)?.getChildText('prompt'), 'Matrix ID');
    const answered = await bob.iq('set', component, xml('query', { xmlns: NS.gateway }, xml('prompt', {}, alice.userId)));
    assert.equal(answered.getChild('query', NS.gateway)?.getChildText('jid'), aliceAddr);
    const refused = await bob.iq('set', component, xml('query', { xmlns: NS.gateway }, xml('prompt', {}, 'not a matrix id')));
    assert.equal(condition(refused), 'not-acceptable');
    assert.equal((await bob.iq('get', aliceAddr, xml('ping', { xmlns: NS.ping }))).attrs.type, 'result');
    const user = await bob.iq('get', aliceAddr, xml('query', { xmlns: NS.discoInfo }));
    assert.equal(user.getChild('query', NS.discoInfo)?.getChild('identity')?.attrs.category, 'account');
    log(t, `bob (XMPP): disco ${component} → gateway/matrix; jabber:iq:gateway "${alice.userId}" → ${aliceAddr}; ping → result`);
    // Her Matrix profile is her vCard (XEP-0054): name and avatar.
    const mxc = await alice.upload(PNG, 'image/png', 'avatar.png');
    await alice.request('PUT', `/_matrix/client/v3/profile/${encodeURIComponent(alice.userId)}/avatar_url`, { avatar_url: mxc });
    const card = (await bob.iq('get', aliceAddr, xml('vCard', { xmlns: 'vcard-temp' }))).getChild('vCard', 'vcard-temp')!;
    assert.equal(card.getChildText('FN'), 'alice');
    assert.equal(card.getChild('PHOTO')?.getChildText('TYPE'), 'image/png');
    assert.deepEqual(Buffer.from(card.getChild('PHOTO')!.getChildText('BINVAL')!, 'base64'), PNG);
    const sha1 = createHash('sha1').update(PNG).digest('hex');
    const pubsub = (node: string) => xml('pubsub', { xmlns: 'http://jabber.org/protocol/pubsub' }, xml('items', { node }));
    const meta = (await bob.iq('get', aliceAddr, pubsub('urn:xmpp:avatar:metadata'))).getChild('pubsub')?.getChild('items')?.getChild('item')?.getChild('metadata', 'urn:xmpp:avatar:metadata')?.getChild('info');
    assert.deepEqual([meta?.attrs.id, meta?.attrs.type, meta?.attrs.bytes], [sha1, 'image/png', String(PNG.length)]);
    const data = (await bob.iq('get', aliceAddr, pubsub('urn:xmpp:avatar:data'))).getChild('pubsub')?.getChild('items')?.getChild('item')?.getChildText('data', 'urn:xmpp:avatar:data');
    assert.deepEqual(Buffer.from(data ?? '', 'base64'), PNG);
    log(t, `bob asks ${aliceAddr} for its vCard → FN "alice", PHOTO image/png (${PNG.length} bytes, her Matrix avatar); its PEP avatar (XEP-0084) → metadata id ${sha1}, and the same bytes`);
  });

  it('an XMPP person writes first: a DM both ways with replies, corrections, reactions and retractions', async (t) => {
    const first = await bob.say(aliceAddr, 'hi alice, bob here on XMPP, no Matrix account');
    log(t, `bob (XMPP) → ${aliceAddr}: hi alice, bob here on XMPP, no Matrix account`);
    dm = await alice.waitForInvite((_r, inviter) => inviter === ghost('bob@xmpp.test'));
    await alice.join(dm);
    const firstEv = await alice.waitFor((e) => e.room_id === dm && e.content.body === 'hi alice, bob here on XMPP, no Matrix account', "bob's first message");
    assert.equal(firstEv.sender, ghost('bob@xmpp.test'));
    log(t, `  alice (Matrix) is invited to a DM by ${firstEv.sender} and sees: ${firstEv.content.body}`);

    await alice.reply(dm, firstEv.event_id, 'hello bob, no XMPP account here');
    const got = await bob.waitFor((s) => body(s) === 'hello bob, no XMPP account here', "alice's answer");
    assert.equal(jidBare(got.attrs.from), aliceAddr);
    assert.equal(got.getChild('reply', NS.reply)?.attrs.id, first, 'the reply names the message it answers');
    log(t, `alice (Matrix) → bob, replying: hello bob, no XMPP account here`);
    log(t, `  bob (XMPP) receives from ${got.attrs.from}: ${body(got)} (reply to ${first})`);

    await bob.say(aliceAddr, 'hi alice, bob here on XMPP (corrected)', { children: [xml('replace', { xmlns: NS.correct, id: first })] });
    const edit = await alice.waitFor((e) => relatesTo(e, 'm.replace') === firstEv.event_id, "bob's correction");
    assert.equal((edit.content['m.new_content'] as { body: string }).body, 'hi alice, bob here on XMPP (corrected)');
    log(t, 'bob (XMPP) corrects his message (XEP-0308) → alice sees an edit');

    const aliceId = got.getChild('origin-id', NS.sid)?.attrs.id ?? got.attrs.id!;
    await bob.say(aliceAddr, undefined, { children: [xml('reactions', { xmlns: NS.reactions, id: aliceId }, xml('reaction', {}, '🎉'))] });
    const aliceMsg = await alice.waitFor((e) => e.room_id === dm && e.content.body === 'hello bob, no XMPP account here', "alice's own message");
    const reaction = await alice.waitFor((e) => e.type === 'm.reaction' && relatesTo(e, 'm.annotation') === aliceMsg.event_id, "bob's reaction");
    assert.equal((reaction.content['m.relates_to'] as { key: string }).key, '🎉');
    log(t, "bob (XMPP) reacts 🎉 to alice's message (XEP-0444) → alice sees the reaction from bob's ghost");

    await alice.react(dm, firstEv.event_id, '❤️');
    const r = await bob.waitFor((s) => s.getChild('reactions', NS.reactions)?.attrs.id === first, "alice's reaction");
    assert.deepEqual(r.getChild('reactions', NS.reactions)!.getChildren('reaction').map((x) => x.text()), ['❤️']);
    log(t, 'alice (Matrix) reacts ❤️ → bob receives <reactions> with ❤️');

    const typoEv = await alice.sendText(dm, 'typo hre');
    const typo = await bob.waitFor((s) => body(s) === 'typo hre', "alice's typo");
    await alice.edit(dm, typoEv, 'typo here');
    const correction = await bob.waitFor((s) => s.getChild('replace', NS.correct) !== undefined && body(s) === 'typo here', "alice's correction");
    assert.equal(correction.getChild('replace', NS.correct)!.attrs.id, typo.attrs.id);
    log(t, 'alice (Matrix) edits "typo hre" → bob receives a correction "typo here"');

    await alice.redact(dm, typoEv);
    const retraction = await bob.waitFor((s) => s.getChild('retract', NS.retract) !== undefined, "alice's retraction");
    assert.equal(retraction.getChild('retract', NS.retract)!.attrs.id, typo.attrs.id);
    log(t, 'alice (Matrix) deletes it → bob receives a retraction (XEP-0424)');

    // bob names alice's message in a retraction: only a message's own sender may take it back.
    await bob.say(aliceAddr, undefined, { children: [xml('retract', { xmlns: NS.retract, id: aliceId })] });
    const own = await bob.say(aliceAddr, 'this one I take back');
    const ownEv = await alice.waitFor((e) => e.room_id === dm && e.content.body === 'this one I take back', "bob's second message");
    await bob.say(aliceAddr, undefined, { children: [xml('retract', { xmlns: NS.retract, id: own })] });
    await alice.waitFor((e) => e.type === 'm.room.redaction' && e.redacts === ownEv.event_id, "bob's retraction of his own message");
    assert.equal(alice.events.find((e) => e.type === 'm.room.redaction' && e.redacts === aliceMsg.event_id), undefined, "alice's message stays: bob cannot retract it");
    log(t, "bob retracts alice's message → refused (not his); bob retracts his own → alice sees it deleted");
  });

  it('a Matrix user writes first: open xmppgw carol@xmpp.test', async (t) => {
    const answer = await command('open xmppgw carol@xmpp.test');
    assert.match(answer, /I opened a room for your chat with/);
    const room = /\((![^)]+)\)\.?$/.exec(answer)![1]!;
    await alice.join(room);
    await alice.sendText(room, 'hi carol, alice from Matrix');
    const got = await carol.waitFor((s) => body(s) === 'hi carol, alice from Matrix', "alice's first message");
    assert.equal(jidBare(got.attrs.from), aliceAddr);
    await carol.say(aliceAddr, 'hi alice! carol on XMPP');
    const back = await alice.waitFor((e) => e.room_id === room && e.content.body === 'hi alice! carol on XMPP', "carol's answer");
    assert.equal(back.sender, ghost('carol@xmpp.test'));
    log(t, `alice (Matrix): open xmppgw carol@xmpp.test → "${answer}"`);
    log(t, `alice → carol: hi carol, alice from Matrix; carol (XMPP) receives from ${got.attrs.from}`);
    log(t, `carol → alice: hi alice! carol on XMPP; alice sees it from ${back.sender} in the same room`);
  });

  it('typing and files both ways, entity time and version', async (t) => {
    await bob.send(xml('message', { to: aliceAddr, type: 'chat' }, xml('composing', { xmlns: NS.chatStates })));
    const typing = await alice.waitUntil(() => alice.ephemeral.find((e) => e.room_id === dm && e.type === 'm.typing' && (e.content.user_ids as string[]).includes(ghost('bob@xmpp.test'))), 20_000);
    assert.ok(typing, "bob's typing reached Matrix");
    await alice.typing(dm, true);
    await bob.waitFor((s) => s.getChild('composing', NS.chatStates) !== undefined && jidBare(s.attrs.from) === aliceAddr, 'alice typing');
    log(t, 'typing: bob <composing/> → Matrix typing from his ghost; alice types → bob gets <composing/> from her address');

    const mxc = await alice.upload(new Uint8Array(PNG), 'image/png', 'dot.png');
    await alice.send(dm, 'm.room.message', { msgtype: 'm.image', body: 'dot.png', url: mxc, info: { mimetype: 'image/png', size: PNG.length } });
    const fileMsg = await bob.waitFor((s) => s.getChild('x', 'jabber:x:oob') !== undefined && jidBare(s.attrs.from) === aliceAddr, "alice's image as an OOB link");
    const url = fileMsg.getChild('x', 'jabber:x:oob')!.getChildText('url')!;
    assert.deepEqual(Buffer.from(await (await fetch(url)).arrayBuffer()), PNG);
    await bob.say(aliceAddr, url, { children: [xml('x', { xmlns: 'jabber:x:oob' }, xml('url', {}, url))] });
    const got = await alice.waitFor((e) => e.room_id === dm && e.sender === ghost('bob@xmpp.test') && e.content.msgtype === 'm.image', "bob's image on Matrix");
    assert.deepEqual(Buffer.from((await alice.download(String(got.content.url))).bytes), PNG);
    log(t, `alice (Matrix) sends dot.png → bob gets the bridge's signed link ${url.replace(/\?.*/, '?…')} (OOB); bob shares a link → alice gets an m.image with the bytes`);

    const time = await bob.iq('get', aliceAddr, xml('time', { xmlns: 'urn:xmpp:time' }));
    assert.match(time.getChild('time', 'urn:xmpp:time')?.getChildText('utc') ?? '', /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/);
    const version = await bob.iq('get', component, xml('query', { xmlns: 'jabber:iq:version' }));
    assert.equal(version.getChild('query', 'jabber:iq:version')?.getChildText('name'), 'Switchboard');
    log(t, `entity time (XEP-0202) → ${time.getChild('time', 'urn:xmpp:time')!.getChildText('utc')}; software version (XEP-0092) → Switchboard`);
  });

  it('a presence subscription is asked in the management room, and allowed by the Matrix user', async (t) => {
    // A client that wants subscription answers asks for its roster first (RFC 6121 2.1.5: an "interested resource").
    await carol.iq('get', undefined, xml('query', { xmlns: 'jabber:iq:roster' }));
    await carol.send(xml('presence', { to: aliceAddr, type: 'subscribe' }));
    const asked = await alice.waitFor((e) => e.room_id === mgmt && e.sender === stack.botUserId && String(e.content.body).includes('asks to see when you are online'), 'the contact request');
    assert.ok(String(asked.content.body).includes('allow xmppgw carol@xmpp.test'), String(asked.content.body));
    log(t, `carol (XMPP) asks to subscribe to ${aliceAddr} → the bot tells alice: ${String(asked.content.body).split('\n')[0]}`);
    assert.match(await command('allow xmppgw carol@xmpp.test'), /carol@xmpp\.test may now see when you are online/);
    await carol.waitFor((s) => s.is('presence') && s.attrs.type === 'subscribed' && jidBare(s.attrs.from) === aliceAddr, 'subscribed');
    await carol.waitFor((s) => s.is('presence') && s.attrs.type === 'subscribe' && jidBare(s.attrs.from) === aliceAddr, 'the subscription back');
    log(t, 'alice: allow xmppgw carol@xmpp.test → carol receives subscribed, and a subscription request back (mutual)');
    // Her Matrix presence now reaches carol from her address.
    await alice.setPresence('unavailable', 'in a meeting');
    const away = await carol.waitFor((s) => s.is('presence') && jidBare(s.attrs.from) === aliceAddr && s.getChildText('show') === 'away', "alice's away presence", 30_000);
    assert.equal(away.getChildText('status'), 'in a meeting');
    assert.equal(away.getChild('x', 'vcard-temp:x:update')?.getChildText('photo'), createHash('sha1').update(PNG).digest('hex'), 'the avatar hash (XEP-0153)');
    log(t, `alice (Matrix) sets presence unavailable "in a meeting" → carol sees ${aliceAddr} show=away status="in a meeting", with her avatar's hash (XEP-0153)`);
    // Nobody answered for bob: his request is only asked, never granted by itself.
    await bob.send(xml('presence', { to: aliceAddr, type: 'subscribe' }));
    await alice.waitFor((e) => e.room_id === mgmt && String(e.content.body).includes('bob@xmpp.test on xmppgw asks'), "bob's request");
    assert.equal(bob.stanzas.find((s) => s.is('presence') && s.attrs.type === 'subscribed'), undefined);
  });

  it('who may reach whom: no opt-in, a blocked stranger, a flood and malformed stanzas get XMPP errors, never silence', async (t) => {
    // dave never opted in: the same answer as for an address nobody has.
    const daveAddr = `${localpartOfMatrixUser(dave.userId)}@${component}`;
    const toDave = await bob.say(daveAddr, 'hello dave?');
    const bounce = await bob.waitFor((s) => s.is('message') && s.attrs.type === 'error' && s.attrs.id === toDave, 'the error for dave');
    assert.equal(condition(bounce), 'service-unavailable');
    log(t, `bob → ${daveAddr} (did not opt in) → error service-unavailable: "${errorText(bounce)}"`);

    assert.match(await command('block xmppgw erin@xmpp.test'), /^Blocked erin@xmpp\.test/);
    const blockedId = await erin.say(aliceAddr, 'let me in');
    const blocked = await erin.waitFor((s) => s.is('message') && s.attrs.type === 'error' && s.attrs.id === blockedId, 'the error for erin');
    assert.equal(condition(blocked), 'service-unavailable');
    log(t, 'alice: block xmppgw erin@xmpp.test → erin writes → error service-unavailable, nothing reaches alice');

    // A flood of pings from erin: the first FLOOD_LIMIT pass (per window), every other one is answered resource-constraint.
    const answers = await Promise.all(Array.from({ length: FLOOD_LIMIT + 10 }, () => erin.iq('get', component, xml('ping', { xmlns: NS.ping }))));
    const limited = answers.filter((a) => condition(a) === 'resource-constraint');
    assert.ok(limited.length >= 10, `${limited.length} answered resource-constraint`);
    assert.equal(limited.length + answers.filter((a) => a.attrs.type === 'result').length, answers.length, 'every ping answered, one way or the other');
    log(t, `erin sends ${answers.length} pings at once → ${answers.length - limited.length} results, ${limited.length} errors resource-constraint ("${errorText(limited[0]!)}")`);

    // Malformed or pointless: a headline to a person, an iq with no payload, a message to the component itself.
    const headline = await bob.say(aliceAddr, 'news!', { type: 'headline' as 'chat' });
    assert.equal(condition(await bob.waitFor((s) => s.attrs.id === headline && s.attrs.type === 'error', 'the refused headline')), 'not-acceptable');
    const empty = await bob.iq('get', component, xml('x', { xmlns: 'urn:example:nothing' }));
    assert.equal(condition(empty), 'service-unavailable');
    const toComponent = await bob.say(component, 'anyone there?');
    const hint = await bob.waitFor((s) => s.is('message') && s.attrs.type === 'error' && s.attrs.id === toComponent, 'the answer from the component');
    assert.match(errorText(hint), /Write to a Matrix user's address/);
    log(t, `bob → ${component}: "anyone there?" → error: "${errorText(hint)}"`);

    // Still working for everyone else.
    await bob.say(aliceAddr, 'still here after all that');
    await alice.waitFor((e) => e.room_id === dm && e.content.body === 'still here after all that', "bob's message after the abuse");
    assert.equal(alice.events.find((e) => e.sender === ghost('erin@xmpp.test')), undefined, 'nothing from erin reached alice');
  });

  it('a public Matrix room as a MUC: two XMPP people and two Matrix users talk, with every message feature', async (t) => {
    const server = stack.synapse.serverName;
    const lounge = await dave.createRoom({ room_alias_name: 'lounge', preset: 'public_chat', name: 'Lounge', topic: 'Talk about anything' });
    await alice.join(lounge);
    const muc = `${localpartOfAlias(`#lounge:${server}`)}@${stack.prosody!.gatewayMucDomain}`;
    log(t, `#lounge:${server} (made by dave on Matrix) is ${muc} on XMPP`);

    await bob.send(xml('presence', { to: `${muc}/bob` }, xml('x', { xmlns: NS.muc })));
    const self = await bob.waitFor((s) => s.is('presence') && s.attrs.from === `${muc}/bob` && hasStatus(s, '110'), "bob's self-presence");
    assert.ok(hasStatus(self, '100'), 'the room says it is non-anonymous');
    const subject = await bob.waitFor((s) => s.is('message') && s.attrs.from === muc && s.getChildText('subject') !== null, 'the subject');
    assert.equal(subject.getChildText('subject'), 'Talk about anything');
    const occupants = bob.stanzas.filter((s) => s.is('presence') && s.attrs.from?.startsWith(`${muc}/`) && s.attrs.from !== `${muc}/bob`).map((s) => s.attrs.from!.slice(muc.length + 1));
    assert.deepEqual(occupants.sort(), ['alice', 'dave']);
    const daveItem = bob.stanzas.find((s) => s.attrs.from === `${muc}/dave`)!.getChild('x', NS.mucUser)!.getChild('item')!;
    assert.equal(daveItem.attrs.jid, `${localpartOfMatrixUser(dave.userId)}@${component}`);
    log(t, `bob (XMPP) joins ${muc}/bob → occupants ${occupants.join(', ')} (dave's real JID ${daveItem.attrs.jid}), subject "${subject.getChildText('subject')}"`);
    await dave.waitFor((e) => e.room_id === lounge && e.type === 'm.room.member' && e.state_key === ghost('bob@xmpp.test') && e.content.membership === 'join', "bob's ghost joining");
    const daveCard = (await bob.iq('get', `${muc}/dave`, xml('vCard', { xmlns: 'vcard-temp' }))).getChild('vCard', 'vcard-temp');
    assert.equal(daveCard?.getChildText('FN'), 'dave', "a Matrix member's vCard by their occupant address");

    await carol.send(xml('presence', { to: `${muc}/carol` }, xml('x', { xmlns: NS.muc })));
    await carol.waitFor((s) => s.is('presence') && s.attrs.from === `${muc}/carol` && hasStatus(s, '110'), "carol's self-presence");
    await bob.waitFor((s) => s.is('presence') && s.attrs.from === `${muc}/carol`, "carol's presence reaching bob");

    const fromBob = await bob.say(muc, 'hello room, bob from XMPP', { type: 'groupchat' });
    const atCarol = await carol.waitFor((s) => body(s) === 'hello room, bob from XMPP' && s.attrs.from === `${muc}/bob`, "bob's message at carol");
    const bobStanzaId = atCarol.getChildren('stanza-id', NS.sid).find((x) => x.attrs.by === muc)!.attrs.id!;
    await bob.waitFor((s) => body(s) === 'hello room, bob from XMPP' && s.attrs.from === `${muc}/bob`, 'the reflection to bob');
    const bobEv = await dave.waitFor((e) => e.room_id === lounge && e.content.body === 'hello room, bob from XMPP', "bob's message on Matrix");
    assert.equal(bobEv.sender, ghost('bob@xmpp.test'));
    log(t, `bob (XMPP) → room: hello room, bob from XMPP → carol (XMPP) sees it from ${atCarol.attrs.from}; dave (Matrix) from ${bobEv.sender}`);

    await dave.reply(lounge, bobEv.event_id, 'hi bob and carol, dave on Matrix');
    const daveMsg = await carol.waitFor((s) => body(s) === 'hi bob and carol, dave on Matrix', "dave's message at carol");
    assert.equal(daveMsg.attrs.from, `${muc}/dave`);
    assert.equal(daveMsg.getChild('reply', NS.reply)?.attrs.id, bobStanzaId, "the reply names bob's message by the room's stanza id");
    await bob.waitFor((s) => body(s) === 'hi bob and carol, dave on Matrix' && s.attrs.from === `${muc}/dave`, "dave's message at bob");
    await alice.sendText(lounge, 'alice here too');
    const aliceMsg = await bob.waitFor((s) => body(s) === 'alice here too', "alice's message at bob");
    assert.equal(aliceMsg.attrs.from, `${muc}/alice`);
    log(t, `dave (Matrix) replies → bob and carol see "${body(daveMsg)}" from ${daveMsg.attrs.from}; alice (Matrix) → from ${aliceMsg.attrs.from}`);

    await bob.say(muc, 'hello room, bob from XMPP (edited)', { type: 'groupchat', children: [xml('replace', { xmlns: NS.correct, id: fromBob })] });
    const edit = await dave.waitFor((e) => relatesTo(e, 'm.replace') === bobEv.event_id, "bob's correction on Matrix");
    assert.equal((edit.content['m.new_content'] as { body: string }).body, 'hello room, bob from XMPP (edited)');
    const daveStanzaId = daveMsg.getChildren('stanza-id', NS.sid).find((x) => x.attrs.by === muc)!.attrs.id!;
    await carol.say(muc, undefined, { type: 'groupchat', children: [xml('reactions', { xmlns: NS.reactions, id: daveStanzaId }, xml('reaction', {}, '👍'))] });
    const daveEv = await dave.waitFor((e) => e.room_id === lounge && e.content.body === 'hi bob and carol, dave on Matrix', "dave's own message");
    const like = await dave.waitFor((e) => e.type === 'm.reaction' && relatesTo(e, 'm.annotation') === daveEv.event_id, "carol's reaction");
    assert.equal(like.sender, ghost('carol@xmpp.test'));
    log(t, 'bob corrects (XEP-0308) → Matrix edit; carol reacts 👍 to dave (XEP-0444, by stanza id) → Matrix reaction');

    await dave.edit(lounge, daveEv.event_id, 'hi bob and carol, dave on Matrix (edited)');
    const corr = await carol.waitFor((s) => s.getChild('replace', NS.correct)?.attrs.id === daveStanzaId, "dave's correction");
    assert.equal(body(corr), 'hi bob and carol, dave on Matrix (edited)');
    await dave.redact(lounge, daveEv.event_id);
    await carol.waitFor((s) => s.getChild('retract', NS.retract)?.attrs.id === daveStanzaId, "dave's retraction");
    await dave.setState(lounge, 'm.room.topic', { topic: 'New topic' });
    await bob.waitFor((s) => s.getChildText('subject') === 'New topic' && s.attrs.from === `${muc}/dave`, 'the new subject');
    log(t, 'dave edits, deletes, changes the topic → bob and carol get a correction, a retraction and the subject "New topic"');

    // Matrix members coming, renamed and going are occupants coming, renamed (XEP-0045 303) and going.
    const zoe = await stack.user('zoe');
    try {
      await zoe.join(lounge);
      await bob.waitFor((s) => s.is('presence') && s.attrs.from === `${muc}/zoe` && s.attrs.type === undefined, 'zoe arriving');
      await dave.request('PUT', `/_matrix/client/v3/profile/${encodeURIComponent(dave.userId)}/displayname`, { displayname: 'Dave M' });
      const renamed = await bob.waitFor((s) => s.is('presence') && s.attrs.from === `${muc}/dave` && s.attrs.type === 'unavailable', "dave's old nick going");
      assert.ok(hasStatus(renamed, '303'));
      assert.equal(renamed.getChild('x', NS.mucUser)?.getChild('item')?.attrs.nick, 'Dave M');
      await bob.waitFor((s) => s.is('presence') && s.attrs.from === `${muc}/Dave M` && s.attrs.type === undefined, "dave's new nick");
      await zoe.request('POST', `/_matrix/client/v3/rooms/${encodeURIComponent(lounge)}/leave`, {});
      await bob.waitFor((s) => s.is('presence') && s.attrs.from === `${muc}/zoe` && s.attrs.type === 'unavailable', 'zoe leaving');
      log(t, 'zoe joins the Matrix room → bob sees occupant zoe; dave renames himself "Dave M" → 303 from dave to Dave M; zoe leaves → bob sees her go');
    } finally {
      await zoe.stop();
    }

    // Refusals, each as the XMPP error a client shows.
    const refusal = async (person: XmppPerson, to: string) => {
      await person.send(xml('presence', { to }, xml('x', { xmlns: NS.muc })));
      return condition(await person.waitFor((s) => s.is('presence') && s.attrs.type === 'error' && s.attrs.from === to, `the refusal of ${to}`));
    };
    await alice.createRoom({ room_alias_name: 'secret', preset: 'private_chat' });
    assert.equal(await refusal(frank, `${localpartOfAlias(`#secret:${server}`)}@${stack.prosody!.gatewayMucDomain}/frank`), 'forbidden');
    assert.equal(await refusal(frank, `${localpartOfAlias(`#nowhere:${server}`)}@${stack.prosody!.gatewayMucDomain}/frank`), 'item-not-found');
    assert.equal(await refusal(frank, `${localpartOfAlias('#matrix:matrix.org')}@${stack.prosody!.gatewayMucDomain}/frank`), 'item-not-found', 'only this homeserver\'s aliases');
    assert.equal(await refusal(frank, `${muc}/bob`), 'conflict');
    const stray = await frank.say(muc, 'not joined', { type: 'groupchat' });
    assert.equal(condition(await frank.waitFor((s) => s.attrs.id === stray && s.attrs.type === 'error', 'the refusal of a stranger')), 'not-acceptable');
    const topic = await bob.say(muc, undefined, { type: 'groupchat', children: [xml('subject', {}, 'mine now')] });
    assert.equal(condition(await bob.waitFor((s) => s.attrs.id === topic && s.attrs.type === 'error', 'the refused subject')), 'forbidden');
    log(t, 'a private room → forbidden; no such alias, or another homeserver\'s → item-not-found; a taken nick → conflict; a message without joining → not-acceptable; an XMPP subject change → forbidden');

    // A late joiner is shown what was said before, from the Matrix room: edits in their latest form, deletions gone.
    await frank.send(xml('presence', { to: `${muc}/frank` }, xml('x', { xmlns: NS.muc }, xml('history', { maxstanzas: '10' }))));
    await frank.waitFor((s) => s.attrs.from === muc && s.getChildText('subject') === 'New topic', "the subject after frank's history");
    const history = frank.stanzas.filter((s) => s.is('message') && s.attrs.from?.startsWith(`${muc}/`) && s.getChild('delay', 'urn:xmpp:delay'));
    const lines = history.map((s) => `${s.attrs.from!.slice(muc.length + 1)}: ${body(s)}`);
    assert.deepEqual(lines, ['bob: hello room, bob from XMPP (edited)', 'alice: alice here too']);
    assert.equal(history[0]!.getChildren('stanza-id', NS.sid).find((x) => x.attrs.by === muc)?.attrs.id, bobStanzaId, 'history keeps the ids replies and reactions name');
    log(t, `frank joins later with <history maxstanzas='10'/> → ${lines.join(' | ')} (dave's deleted message is not shown)`);
    // And the room's archive (XEP-0313), as a client catching up asks for it, paged by RSM.
    const archived = (await frank.archive(muc)).map((m) => `${m.attrs.from!.slice(muc.length + 1)}: ${body(m)}`);
    assert.deepEqual(archived, lines);
    const page = await frank.iq('set', muc, xml('query', { xmlns: 'urn:xmpp:mam:2', queryid: 'q2' }, xml('set', { xmlns: 'http://jabber.org/protocol/rsm' }, xml('after', {}, 'no-such-id'))));
    assert.equal(condition(page), 'item-not-found');
    log(t, `frank asks the room's archive (MAM) → ${archived.join(' | ')}; after an unknown id → item-not-found`);

    await bob.send(xml('presence', { to: `${muc}/bob`, type: 'unavailable' }));
    await carol.waitFor((s) => s.is('presence') && s.attrs.from === `${muc}/bob` && s.attrs.type === 'unavailable', "bob leaving, at carol");
    await dave.waitFor((e) => e.room_id === lounge && e.type === 'm.room.member' && e.state_key === ghost('bob@xmpp.test') && e.content.membership === 'leave', "bob's ghost leaving");
    log(t, "bob leaves → carol sees him go; bob's ghost leaves the Matrix room");
  });

  it('Prosody restarts: the component link comes back by itself and messages flow again', async (t) => {
    await Promise.all([bob.stop(), carol.stop(), erin.stop(), frank.stop()]);
    await stack.prosody!.stop();
    await stack.prosody!.start();
    bob = await XmppPerson.connect(stack.prosody!, 'bob', 'bob-pw', { streamManagement: false });
    carol = await XmppPerson.connect(stack.prosody!, 'carol', 'carol-pw', { streamManagement: false });
    erin = await XmppPerson.connect(stack.prosody!, 'erin', 'erin-pw', { streamManagement: false });
    frank = await XmppPerson.connect(stack.prosody!, 'frank', 'frank-pw', { streamManagement: false });
    // The link reconnects with backoff: until then Prosody answers for the component itself.
    let delivered = false;
    for (let i = 0; i < 40 && !delivered; i++) {
      const id = await bob.say(aliceAddr, `after the restart ${i}`);
      const answer = await Promise.race([
        alice.waitFor((e) => e.room_id === dm && e.content.body === `after the restart ${i}`, 'the message', 1_500).then(() => 'delivered'),
        bob.waitFor((s) => s.attrs.id === id && s.attrs.type === 'error', 'an error', 1_500).then(() => 'error'),
      ]).catch(() => 'nothing');
      delivered = answer === 'delivered';
      if (!delivered) await new Promise((r) => setTimeout(r, 250));
    }
    assert.ok(delivered, 'a message got through after Prosody restarted');
    await alice.sendText(dm, 'and back to you');
    const got = await bob.waitFor((s) => body(s) === 'and back to you', "alice's message after the restart");
    assert.equal(jidBare(got.attrs.from), aliceAddr);
    log(t, 'Prosody restarted → the component reconnected; bob → alice and alice → bob both arrive');
  });
});

function jidBare(address: string | undefined): string {
  return (address ?? '').split('/')[0]!;
}
