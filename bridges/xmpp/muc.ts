/**
 * Multi-user chats (XEP-0045) for one session: joining (with a nick fallback on
 * conflict), which rooms are joined, and the two ids of a room message: the `id` its
 * sender chose (corrections name it) and the MUC's stanza id (XEP-0359; replies,
 * reactions and retractions name it). The map between them is bounded; its newest
 * pairs are saved with the login (`recentIds`), so corrections still find their
 * message after a restart.
 */
import type { Logger } from '../../core/adapter.js';
import type { RemoteEvent } from '../../core/events.js';
import { remoteChatId, remoteUserId } from '../../core/ids.js';
import { singleLineName } from '../../core/safety.js';
import jid from '@xmpp/jid';
import xml, { type Element } from '@xmpp/xml';
import type { XmppConnection } from './connection.js';
import { joinPresence, NS } from './stanzas.js';

const JOIN_TIMEOUT_MS = 15_000;
const PING_TIMEOUT_MS = 30_000;
const MAX_REMEMBERED_IDS = 20_000;
/** How many of the newest id pairs outlive a restart (saved with the login, so kept small). */
const SAVED_IDS = 500;

/** One room message's two ids: [room, id attribute, stanza id]. */
export type IdPair = [string, string, string];

interface PendingJoin {
  nick: string;
  resolve: () => void;
  reject: (err: Error) => void;
}

export class Muc {
  /** Joined rooms and our nick in each. */
  readonly joined = new Map<string, string>();
  private readonly pending = new Map<string, PendingJoin>();
  private readonly reflections = new Map<string, (stanzaId: string | undefined) => void>();
  private readonly stanzaIds = new Map<string, string>();
  private readonly idAttrs = new Map<string, string>();
  /** Nicks present in each joined room. */
  private readonly occupants = new Map<string, Set<string>>();

  constructor(private readonly nick: string, private readonly conn: () => XmppConnection | undefined, private readonly log: Logger) {}

  /** Join a room (as `nickOverride`, e.g. a bookmark's, or the session's nick); on a conflict try `nick_`, `nick__`. */
  async join(room: string, nickOverride?: string): Promise<void> {
    if (this.joined.has(room)) return;
    let nick = nickOverride ?? this.nick;
    for (let tries = 0; ; tries++) {
      try {
        await this.joinAs(room, nick);
        return;
      } catch (err) {
        if ((err as Error).message !== 'conflict' || tries >= 2) throw new Error(`cannot join ${room}: ${(err as Error).message}`);
        nick += '_';
      }
    }
  }

  private joinAs(room: string, nick: string): Promise<void> {
    const conn = this.conn();
    if (!conn) return Promise.reject(new Error('not connected'));
    return new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.pending.delete(room);
        reject(new Error('no answer from the room'));
      }, JOIN_TIMEOUT_MS);
      this.pending.set(room, {
        nick,
        resolve: () => { clearTimeout(timer); resolve(); },
        reject: (e) => { clearTimeout(timer); reject(e); },
      });
      conn.client.send(joinPresence(room, nick)).catch((err: Error) => this.pending.get(room)?.reject(err));
    });
  }

  /**
   * Presence from a room: the end of a join, our removal, or an occupant coming and
   * going (returned as a member event: nick changes are a leave and a join, XEP-0045
   * status 303; kicks 307 and bans 301 say so).
   */
  onPresence(stanza: Element): RemoteEvent | undefined {
    const from = stanza.attrs.from;
    if (!from) return;
    const address = jid(from);
    const room = address.bare().toString();
    const join = this.pending.get(room);
    const statuses = stanza.getChild('x', NS.mucUser)?.getChildren('status').map((s) => s.attrs.code) ?? [];
    if (join && stanza.attrs.type === 'error') {
      this.pending.delete(room);
      const condition = stanza.getChild('error')?.children.find((c): c is Element => typeof c !== 'string' && c.name !== 'text')?.name ?? 'error';
      join.reject(new Error(condition));
      return undefined;
    }
    const isSelf = statuses.includes('110') || (join !== undefined && address.resource === join.nick);
    if (join && isSelf && stanza.attrs.type !== 'unavailable') {
      this.pending.delete(room);
      this.joined.set(room, join.nick);
      join.resolve();
      return undefined;
    }
    if (isSelf && stanza.attrs.type === 'unavailable' && this.joined.has(room)) {
      this.joined.delete(room);
      this.log.warn({ room, statuses }, 'removed from MUC');
      return undefined;
    }
    if (isSelf || !address.resource || stanza.attrs.type === 'error') return undefined;
    const occupants = this.occupants.get(room) ?? new Set<string>();
    this.occupants.set(room, occupants);
    const chat = { id: remoteChatId(room), kind: 'group' as const };
    const user = { id: remoteUserId(address.toString()), name: singleLineName(address.resource) };
    if (stanza.attrs.type === 'unavailable') {
      if (!occupants.delete(address.resource)) return undefined;
      const change = statuses.includes('307') ? 'kick' : statuses.includes('301') ? 'ban' : 'leave';
      const reason = stanza.getChild('x', NS.mucUser)?.getChild('item')?.getChildText('reason') ?? undefined;
      return { type: 'member', chat, user, change, ...(reason && { reason }) };
    }
    if (!stanza.attrs.type && !occupants.has(address.resource)) {
      occupants.add(address.resource);
      // Occupants present when we joined are not news; only those who come later are bridged.
      if (join) return undefined;
      return { type: 'member', chat, user, change: 'join' };
    }
    return undefined;
  }

  /**
   * MUC self-ping (XEP-0410): whether we are still an occupant of `room`. A room can drop
   * an occupant silently (a restarted MUC service); only asking ourselves tells.
   */
  async stillJoined(room: string): Promise<boolean> {
    const conn = this.conn();
    const nick = this.joined.get(room);
    if (!conn || nick === undefined) return false;
    try {
      await conn.iq.ask('get', `${room}/${nick}`, xml('ping', { xmlns: 'urn:xmpp:ping' }), PING_TIMEOUT_MS);
      return true;
    } catch (err) {
      // Our own client not answering pings still means we are in; anything else (not-acceptable, item-not-found, a timeout) means we are not.
      const condition = (err as { condition?: string }).condition;
      return condition === 'service-unavailable' || condition === 'feature-not-implemented';
    }
  }

  /** Forget a room we found we are no longer in, so it can be joined again. */
  dropped(room: string): void {
    this.joined.delete(room);
    this.occupants.delete(room);
  }

  /** The connection dropped: joins in progress fail; rooms joined stay known, for a resumed stream. */
  abandonJoins(): void {
    for (const p of this.pending.values()) p.reject(new Error('connection lost'));
    this.pending.clear();
  }

  /** A new stream (not a resumed one): every room must be joined again. */
  forgetJoins(): void {
    this.abandonJoins();
    this.joined.clear();
    this.occupants.clear();
  }

  /** Resolves with the MUC's stanza id of our message once it is reflected, or undefined after `timeoutMs`. */
  awaitReflection(originId: string, timeoutMs: number): Promise<string | undefined> {
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        this.reflections.delete(originId);
        resolve(undefined);
      }, timeoutMs);
      this.reflections.set(originId, (id) => {
        clearTimeout(timer);
        this.reflections.delete(originId);
        resolve(id);
      });
    });
  }

  reflected(r: { room: string; originId: string; stanzaId: string }): void {
    this.rememberIds(r.room, r.originId, r.stanzaId);
    this.reflections.get(r.originId)?.(r.stanzaId);
  }

  rememberIds(room: string, idAttr: string, stanzaId: string): void {
    this.stanzaIds.set(`${room}|${idAttr}`, stanzaId);
    this.idAttrs.set(`${room}|${stanzaId}`, idAttr);
    for (const map of [this.stanzaIds, this.idAttrs]) {
      if (map.size > MAX_REMEMBERED_IDS) map.delete(map.keys().next().value!);
    }
  }

  /** The newest id pairs, oldest first, to be saved with the login. */
  recentIds(): IdPair[] {
    const pairs: IdPair[] = [];
    for (const [key, stanzaId] of this.stanzaIds) {
      const cut = key.lastIndexOf('|');
      pairs.push([key.slice(0, cut), key.slice(cut + 1), stanzaId]);
    }
    return pairs.slice(-SAVED_IDS);
  }

  /** Pairs saved before a restart; anything malformed is skipped. */
  restoreIds(saved: unknown): void {
    if (!Array.isArray(saved)) return;
    for (const p of saved) {
      if (!Array.isArray(p) || p.length !== 3 || !p.every((x) => typeof x === 'string')) continue;
      const [room, idAttr, stanzaId] = p as IdPair;
      this.rememberIds(room, idAttr, stanzaId);
    }
  }

  stanzaIdOf(room: string, idAttr: string): string | undefined {
    return this.stanzaIds.get(`${room}|${idAttr}`);
  }

  /** The `id` a correction of a room message must name (the stanza id when unknown). */
  idAttrOf(room: string, stanzaId: string): string {
    return this.idAttrs.get(`${room}|${stanzaId}`) ?? stanzaId;
  }
}
