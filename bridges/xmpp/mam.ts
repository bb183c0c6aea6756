/**
 * Message Archive Management (XEP-0313): after a reconnect or a restart, fetch what the
 * archive (the account's own, or a MUC's) holds after the last message the bridge
 * handled, page by page (RSM, XEP-0059), in order.
 */
import { randomUUID } from 'node:crypto';
import xml, { type Element } from '@xmpp/xml';
import type { XmppConnection } from './connection.js';

export const NS_MAM = 'urn:xmpp:mam:2';
const NS_RSM = 'http://jabber.org/protocol/rsm';
const NS_FORWARD = 'urn:xmpp:forward:0';
const NS_DELAY = 'urn:xmpp:delay';
const PAGE = 100;

export interface ArchivedMessage {
  /** The archive's id of the message (a stanza id, XEP-0359). */
  archiveId: string;
  message: Element;
  /** When the archive stored it (XEP-0203), in ms. */
  timestamp?: number;
}

/**
 * Collects `<result>` messages of one query as they stream in; the session hands every
 * incoming stanza to `offer` while a query runs.
 */
export class ArchiveQuery {
  readonly queryId = randomUUID();
  readonly results: ArchivedMessage[] = [];

  /** Returns true when the stanza was a result of this query (and is consumed). */
  offer(stanza: Element): boolean {
    const result = stanza.getChild('result', NS_MAM);
    if (!result || result.attrs.queryid !== this.queryId || !result.attrs.id) return false;
    const forwarded = result.getChild('forwarded', NS_FORWARD);
    const message = forwarded?.getChild('message');
    if (!message) return true;
    const stamp = forwarded?.getChild('delay', NS_DELAY)?.attrs.stamp;
    const ms = stamp ? Date.parse(stamp) : NaN;
    this.results.push({ archiveId: result.attrs.id, message, ...(Number.isFinite(ms) && { timestamp: ms }) });
    return true;
  }
}

function queryElement(q: ArchiveQuery, rsm: Element, start?: string, withJid?: string): Element {
  return xml('query', { xmlns: NS_MAM, queryid: q.queryId },
    xml('x', { xmlns: 'jabber:x:data', type: 'submit' },
      xml('field', { var: 'FORM_TYPE', type: 'hidden' }, xml('value', {}, NS_MAM)),
      withJid && xml('field', { var: 'with' }, xml('value', {}, withJid)),
      start && xml('field', { var: 'start' }, xml('value', {}, start))),
    rsm);
}

/** Where a catch-up resumes: after an archive id, or (for an archive that was empty) from a time. */
export interface ArchiveCursor {
  after?: string;
  since?: string;
}

/**
 * Everything in `archive` (a MUC's bare JID, or undefined for the account's own) after the
 * cursor, oldest first, a page at a time: `onPage` is done with one page before the next
 * is asked for, so memory holds one page however long the outage was (a cap on the total
 * lost what lay beyond it: 5,000 then, in bench/backlog-xmpp.ts). Ends when the server
 * says the archive is complete, or its paging stops moving. Resolves with the count.
 * `track` registers the query so its results reach it. `withJid` keeps to the messages
 * exchanged with one JID (XEP-0313 `with`): one direct chat in the account's own archive.
 */
export async function fetchAfter(conn: XmppConnection, archive: string | undefined, from: ArchiveCursor, track: (q: ArchiveQuery | undefined) => void, onPage: (page: ArchivedMessage[]) => Promise<void>, withJid?: string): Promise<number> {
  let count = 0;
  let cursor = from.after;
  for (;;) {
    const q = new ArchiveQuery();
    track(q);
    let fin: Element | undefined;
    try {
      const rsm = xml('set', { xmlns: NS_RSM }, xml('max', {}, String(PAGE)), cursor !== undefined && xml('after', {}, cursor));
      const res = await conn.iq.ask('set', archive, queryElement(q, rsm, cursor === undefined ? from.since : undefined, withJid));
      fin = res.getChild('fin', NS_MAM);
    } finally {
      track(undefined);
    }
    count += q.results.length;
    await onPage(q.results);
    const last = fin?.getChild('set', NS_RSM)?.getChildText('last');
    // A server that answers the same page again would keep us here forever.
    if (fin?.attrs.complete === 'true' || !last || !q.results.length || last === cursor) return count;
    cursor = last;
  }
}

/** The id of the newest message in an archive (where a first catch-up starts from), if any. */
export async function newestId(conn: XmppConnection, archive: string | undefined, track: (q: ArchiveQuery | undefined) => void): Promise<string | undefined> {
  const q = new ArchiveQuery();
  track(q);
  try {
    const res = await conn.iq.ask('set', archive, queryElement(q, xml('set', { xmlns: NS_RSM }, xml('max', {}, '1'), xml('before'))));
    return res.getChild('fin', NS_MAM)?.getChild('set', NS_RSM)?.getChildText('last') ?? q.results.at(-1)?.archiveId;
  } finally {
    track(undefined);
  }
}
