import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { networkId, remoteChatId } from '../../core/ids.js';
import { nameTemplateProblem, originPortal, relayedGhostName, targetPortals } from '../../core/portal/matrix/origin.js';
import { portalTxnId, TXN_KEY, txnId, txnPortalTag } from '../../core/portal/txn.js';
import type { PortalRow } from '../../core/store/store.js';

const portal = (network: string, chat: string, extra: Partial<PortalRow> = {}): PortalRow => ({
  portalKey: `${network}/${chat}`, network: networkId(network), chatId: remoteChatId(chat), kind: 'group', ...extra,
});

describe('gateway rooms: where a ghost event came from and where it goes', () => {
  const team = portal('loopback', 'team');
  const annex = portal('loopback', 'annex', { nameTemplate: '[annex] {name}' });
  const crew = portal('loopback2', 'crew');
  const listen = portal('loopback2', 'listen', { direction: 'in' });
  const room = [team, annex, crew, listen];

  it('portal transaction ids are deterministic and carry their portal', () => {
    const id = portalTxnId(annex.portalKey, 'msg', 'm1', 0);
    assert.equal(id, portalTxnId(annex.portalKey, 'msg', 'm1', 0));
    assert.notEqual(id, portalTxnId(team.portalKey, 'msg', 'm1', 0));
    assert.ok(txnPortalTag(id));
    assert.equal(txnPortalTag(txnId('cmd', '$x')), undefined, 'other sends carry no portal');
    assert.equal(txnPortalTag('sp.abc'), undefined);
    assert.equal(txnPortalTag(42), undefined);
  });

  it('a tagged ghost event goes to every other chat that takes messages, also of its own network', () => {
    const content = { body: 'hi', [TXN_KEY]: portalTxnId(annex.portalKey, 'msg', 'm1', 0) };
    assert.equal(originPortal(room, content), annex);
    assert.deepEqual(targetPortals(room, networkId('loopback'), content).map((p) => p.chatId), ['team', 'crew']);
  });

  it('an untagged ghost event never goes to a chat of its own network; a person\'s event goes everywhere it may', () => {
    assert.deepEqual(targetPortals(room, networkId('loopback'), { body: 'hi' }).map((p) => p.chatId), ['crew']);
    assert.deepEqual(targetPortals(room, networkId('loopback'), { [TXN_KEY]: portalTxnId('gone/chat', 'msg') }).map((p) => p.chatId), ['crew'], 'a tag of no portal here');
    assert.deepEqual(targetPortals(room, undefined, { body: 'hi' }).map((p) => p.chatId), ['team', 'annex', 'crew']);
  });

  it('names follow the origin link\'s template', () => {
    assert.equal(relayedGhostName('Dan', networkId('loopback'), annex), '[annex] Dan');
    assert.equal(relayedGhostName('Bob', networkId('loopback'), team), 'Bob (loopback)');
    assert.equal(relayedGhostName('Bob', networkId('loopback'), undefined), 'Bob (loopback)');
    assert.equal(relayedGhostName('{network} fan', networkId('xmpp'), portal('xmpp', 'x', { nameTemplate: '{name} via {network}' })), '{network} fan via xmpp', 'a display name is not a template');
    assert.equal(nameTemplateProblem('[tg] {name}'), undefined);
    assert.match(nameTemplateProblem('[tg]') ?? '', /must contain \{name\}/);
    assert.match(nameTemplateProblem('{name}\nfake: hi') ?? '', /one line/);
    assert.match(nameTemplateProblem(`{name}${'x'.repeat(70)}`) ?? '', /at most 64/);
  });
});
