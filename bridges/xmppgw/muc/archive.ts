/**
 * MAM (XEP-0313) for a hosted room: the room's own history from Matrix (what a joiner's
 * history shows, the newest `ARCHIVE_DEPTH` messages), filtered by the query's form
 * (start, end) and paged with RSM (XEP-0059: max, after, before). Pure: the messages and
 * the query in, the page out.
 */
import xml, { type Element } from '@xmpp/xml';

export const NS_MAM = 'urn:xmpp:mam:2';
const NS_RSM = 'http://jabber.org/protocol/rsm';
const NS_DATA = 'jabber:x:data';
const NS_FORWARD = 'urn:xmpp:forward:0';

/** How far back the archive reaches: the newest this many messages of the room. */
export const ARCHIVE_DEPTH = 1000;
const DEFAULT_PAGE = 50;
const MAX_PAGE = 250;

export interface Archived {
  id: string;
  timestamp: number;
  /** The message as an occupant receives it live (from room/nick), without `to`. */
  stanza: Element;
}

export interface ArchiveQuery {
  queryId?: string;
  start?: number;
  end?: number;
  max: number;
  after?: string;
  before?: string;
}

/** Read a query; an Error names what is wrong (answered `bad-request`). */
export function parseQuery(query: Element): ArchiveQuery {
  const fields = new Map<string, string>();
  for (const f of query.getChild('x', NS_DATA)?.getChildren('field') ?? []) if (f.attrs.var) fields.set(f.attrs.var, f.getChildText('value') ?? '');
  if (fields.get('with')) throw new Error('this archive holds one room: "with" is not supported');
  const time = (key: string) => {
    const v = fields.get(key);
    if (!v) return undefined;
    const t = Date.parse(v);
    if (!Number.isFinite(t)) throw new Error(`${key} is not a date`);
    return t;
  };
  const set = query.getChild('set', NS_RSM);
  const maxText = set?.getChildText('max');
  const max = maxText === null || maxText === undefined ? DEFAULT_PAGE : Number(maxText);
  if (!Number.isInteger(max) || max < 0) throw new Error('max must be a whole number');
  const before = set?.getChild('before');
  const start = time('start');
  const end = time('end');
  return {
    ...(query.attrs.queryid && { queryId: query.attrs.queryid }),
    ...(start !== undefined && { start }),
    ...(end !== undefined && { end }),
    max: Math.min(max, MAX_PAGE),
    ...(set?.getChildText('after') && { after: set.getChildText('after')! }),
    // An empty <before/> asks for the last page.
    ...(before && { before: before.text() }),
  };
}

export interface Page {
  items: Archived[];
  complete: boolean;
}

/** The page a query asks for, oldest first; an unknown after/before id is an Error (`item-not-found`). */
export function selectPage(all: readonly Archived[], q: ArchiveQuery): Page {
  let list = all.filter((m) => (q.start === undefined || m.timestamp >= q.start) && (q.end === undefined || m.timestamp <= q.end));
  if (q.after !== undefined) {
    const i = list.findIndex((m) => m.id === q.after);
    if (i < 0) throw new Error('item-not-found');
    list = list.slice(i + 1);
  }
  if (q.before !== undefined && q.before !== '') {
    const i = list.findIndex((m) => m.id === q.before);
    if (i < 0) throw new Error('item-not-found');
    list = list.slice(0, i);
  }
  // Paging backwards (before) takes the newest of what is left; forwards, the oldest.
  const backwards = q.before !== undefined;
  const items = backwards ? list.slice(Math.max(0, list.length - q.max)) : list.slice(0, q.max);
  return { items, complete: items.length === list.length };
}

/** One result message (XEP-0313 4.2) for `to`. */
export function resultStanza(room: string, to: string, queryId: string | undefined, m: Archived): Element {
  return xml('message', { from: room, to, id: `${m.id}-r` },
    xml('result', { xmlns: NS_MAM, id: m.id, ...(queryId && { queryid: queryId }) },
      xml('forwarded', { xmlns: NS_FORWARD }, xml('delay', { xmlns: 'urn:xmpp:delay', stamp: new Date(m.timestamp).toISOString() }), m.stanza)));
}

/** The `<fin/>` of a query's iq result. */
export function finElement(page: Page, total: number): Element {
  const first = page.items[0];
  const last = page.items[page.items.length - 1];
  return xml('fin', { xmlns: NS_MAM, ...(page.complete && { complete: 'true' }) },
    xml('set', { xmlns: NS_RSM }, first && xml('first', {}, first.id), last && xml('last', {}, last.id), xml('count', {}, String(total))));
}
