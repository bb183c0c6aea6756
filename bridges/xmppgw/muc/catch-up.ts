/**
 * What a hosted room said before, for XMPP people: the history shown at a join (XEP-0045
 * 7.2.14: at most `muc.history`, fewer where the join's `<history/>` asks) and MAM queries
 * (XEP-0313, archive.ts). Both read the Matrix room through the core (`hostedHistory`),
 * so they hold what Matrix holds: edits in their latest form, deleted messages gone.
 */
import xml, { type Element } from '@xmpp/xml';
import type { EventSink } from '../../../core/adapter.js';
import { remoteChatId } from '../../../core/ids.js';
import { buildStanza, NS } from '../../xmpp/stanzas.js';
import { errorReply } from '../component.js';
import type { Router } from '../router.js';
import { result } from '../service.js';
import { ARCHIVE_DEPTH, finElement, parseQuery, resultStanza, selectPage, type Archived, type Page } from './archive.js';
import { cleanNick, type HostedRoom } from './room.js';

/** The room's newest `limit` messages as occupants receive them (from room/nick, with the room's stanza id). */
async function recent(sink: EventSink, room: HostedRoom, limit: number): Promise<Archived[]> {
  if (limit <= 0 || !sink.hostedHistory) return [];
  const messages = await sink.hostedHistory(remoteChatId(room.jid), limit);
  const out: Archived[] = [];
  for (const m of messages) {
    const nick = m.sender.kind === 'matrix' ? room.matrix.get(m.sender.id) ?? cleanNick(m.sender.name) : [...room.xmpp.values()].find((o) => o.bare === m.sender.id)?.nick ?? cleanNick(m.sender.name);
    const built = buildStanza({ type: 'message', chat: remoteChatId(room.jid), content: m.content }, 'groupchat', () => m.id, (id) => id);
    if (!built) continue;
    const { to: _to, ...attrs } = built.stanza.attrs;
    out.push({ id: m.id, timestamp: m.timestamp, stanza: xml('message', { ...attrs, from: `${room.jid}/${nick || 'someone'}` }, ...built.stanza.children, xml('stanza-id', { xmlns: NS.sid, id: m.id, by: room.jid })) });
  }
  return out;
}

/** The history a joiner is shown, each message with its delay stamp (XEP-0203). */
export async function joinHistory(sink: EventSink, room: HostedRoom, wish: Element | undefined, configured: number): Promise<Element[]> {
  let limit = configured;
  const max = Number(wish?.attrs.maxstanzas);
  if (wish?.attrs.maxstanzas !== undefined && Number.isInteger(max) && max >= 0) limit = Math.min(limit, max);
  const seconds = Number(wish?.attrs.seconds);
  const since = Math.max(wish?.attrs.since ? Date.parse(wish.attrs.since) || 0 : 0, Number.isFinite(seconds) && seconds >= 0 ? Date.now() - seconds * 1000 : 0);
  const messages = await recent(sink, room, limit).catch((err: Error) => {
    sink.log.warn({ err: err.message }, 'room history not read');
    return [];
  });
  return messages.filter((m) => m.timestamp >= since).map((m) =>
    xml('message', m.stanza.attrs, ...m.stanza.children, xml('delay', { xmlns: 'urn:xmpp:delay', from: room.jid, stamp: new Date(m.timestamp).toISOString() })));
}

/** A MAM query to the room: one result message per archived message, then the iq result with `<fin/>`. */
export async function answerArchiveQuery(sink: EventSink, router: Router, room: HostedRoom, iq: Element, query: Element, requester: string): Promise<void> {
  let q;
  try {
    q = parseQuery(query);
  } catch (err) {
    return router.reply(errorReply(iq, 'modify', 'bad-request', (err as Error).message));
  }
  let all: Archived[];
  try {
    all = await recent(sink, room, ARCHIVE_DEPTH);
  } catch (err) {
    sink.log.warn({ err: (err as Error).message }, 'room archive not read');
    return router.reply(errorReply(iq, 'wait', 'internal-server-error', 'The room\'s history could not be read; try again.'));
  }
  let page: Page;
  try {
    page = selectPage(all, q);
  } catch {
    return router.reply(errorReply(iq, 'cancel', 'item-not-found', 'No message with that id in this room\'s archive.'));
  }
  for (const m of page.items) await router.send(resultStanza(room.jid, requester, q.queryId, m));
  await router.reply(result(iq, finElement(page, all.length)));
}
