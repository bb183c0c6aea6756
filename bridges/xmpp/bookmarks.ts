/**
 * A person's bookmarked MUCs (XEP-0402 in PEP, falling back to XEP-0048 private XML
 * storage): those marked autojoin are joined with the person's login and bridged as
 * their group portals, like their other XMPP clients would show them.
 */
import xml, { type Element } from '@xmpp/xml';
import type { XmppConnection } from './connection.js';

export interface Bookmark {
  room: string;
  nick?: string;
  name?: string;
}

const NS_BOOKMARKS2 = 'urn:xmpp:bookmarks:1';
const NS_PUBSUB = 'http://jabber.org/protocol/pubsub';

export async function autojoinBookmarks(conn: XmppConnection): Promise<Bookmark[]> {
  const pep = await conn.iq.ask('get', undefined, xml('pubsub', { xmlns: NS_PUBSUB }, xml('items', { node: NS_BOOKMARKS2 })), 15_000).catch(() => undefined);
  const items = pep?.getChild('pubsub', NS_PUBSUB)?.getChild('items')?.getChildren('item') ?? [];
  const fromPep = items.flatMap((item) => {
    const c = item.getChild('conference', NS_BOOKMARKS2);
    return item.attrs.id && c && isTrue(c.attrs.autojoin) ? [bookmark(item.attrs.id, c)] : [];
  });
  if (fromPep.length) return fromPep;
  const priv = await conn.iq.ask('get', undefined, xml('query', { xmlns: 'jabber:iq:private' }, xml('storage', { xmlns: 'storage:bookmarks' })), 15_000).catch(() => undefined);
  const conferences = priv?.getChild('query', 'jabber:iq:private')?.getChild('storage', 'storage:bookmarks')?.getChildren('conference') ?? [];
  return conferences.flatMap((c) => (c.attrs.jid && isTrue(c.attrs.autojoin) ? [bookmark(c.attrs.jid, c)] : []));
}

const isTrue = (v: string | undefined) => v === 'true' || v === '1';

function bookmark(room: string, c: Element): Bookmark {
  const nick = c.getChildText('nick')?.trim();
  return { room: room.toLowerCase(), ...(nick && { nick }), ...(c.attrs.name && { name: c.attrs.name }) };
}
