/**
 * Nothing missed across reconnects and restarts: the session remembers, per archive
 * (the account's own and each MUC's), the last message it handed to the core, and after
 * connecting fetches everything newer (MAM) before it lets live messages through, so
 * the core sees one ordered stream. The position moves only after the core recorded a
 * message, so a crash can repeat a message (the core drops the repeat) but never skip one.
 */
import type { Logger } from '../../core/adapter.js';
import type { Element } from '@xmpp/xml';
import type { XmppConnection } from './connection.js';
import { fetchAfter, newestId, type ArchiveCursor, type ArchiveQuery } from './mam.js';
import { NS, ownArchiveId } from './stanzas.js';

export interface HistoryState {
  own?: ArchiveCursor;
  rooms?: Record<string, ArchiveCursor>;
}

export interface HistoryDeps {
  self: string;
  /** Hand one message to the core; resolves once it is recorded. */
  handle(stanza: Element, archived?: { id: string; timestamp?: number }): Promise<void>;
  save(state: HistoryState): Promise<void>;
  log: Logger;
}

const SAVE_DELAY_MS = 1_000;

export class History {
  /** Archive queries in flight (a catch-up, and a room linked meanwhile may overlap); results are routed to them. */
  private readonly queries = new Set<ArchiveQuery>();
  private buffering = false;
  private readonly buffer: { stanza: Element; handled: () => void }[] = [];
  private state: { own?: ArchiveCursor; rooms: Record<string, ArchiveCursor> };
  private saveTimer: NodeJS.Timeout | undefined;

  constructor(initial: HistoryState | undefined, private readonly deps: HistoryDeps) {
    this.state = { ...(initial?.own && { own: initial.own }), rooms: { ...initial?.rooms } };
  }

  /**
   * Every incoming stanza passes here first. When it is taken (an archive result, or a
   * live message held during catch-up), the answer settles once it has been handled.
   */
  intercept(stanza: Element): Promise<void> | undefined {
    for (const q of this.queries) if (q.offer(stanza)) return Promise.resolve();
    if (this.buffering && stanza.is('message')) return new Promise((handled) => this.buffer.push({ stanza, handled }));
    return undefined;
  }

  /** A live message was recorded by the core: move its archive's position. */
  advance(stanza: Element): void {
    const from = stanza.attrs.from?.split('/')[0];
    if (stanza.attrs.type === 'groupchat' && from) {
      const id = stanza.getChildren('stanza-id', NS.sid).find((s) => s.attrs.by === from)?.attrs.id;
      if (id) this.state.rooms[from] = { after: id };
    } else {
      const id = ownArchiveId(stanza, this.deps.self);
      if (id) this.state.own = { after: id };
    }
    this.scheduleSave();
  }

  /** From now until the next catch-up ends, live messages wait (they must not overtake archived ones). */
  hold(): void {
    this.buffering = true;
  }

  /** Fetch what was missed in our archive and in each room, then release the held live messages. */
  async catchUp(conn: XmppConnection | undefined, rooms: string[]): Promise<void> {
    this.buffering = true;
    try {
      if (!conn) return;
      await this.catchUpOne(conn, undefined);
      for (const room of rooms) await this.catchUpOne(conn, room);
    } finally {
      // Still buffering while the held messages are handed over: one arriving meanwhile
      // joins the end of the buffer instead of overtaking them (seen as reordering in
      // the hot standby fault test).
      while (this.buffer.length) {
        const { stanza, handled } = this.buffer.shift()!;
        await this.deps.handle(stanza).finally(handled);
      }
      this.buffering = false;
      await this.saveNow();
    }
  }

  /**
   * A room joined while connected (a new link): its archive position starts now, so a
   * reconnect before its first message still fetches what was missed there.
   */
  async startRoom(conn: XmppConnection, room: string): Promise<void> {
    if (this.state.rooms[room]) return;
    await this.catchUpOne(conn, room);
    await this.saveNow();
  }

  private async catchUpOne(conn: XmppConnection, archive: string | undefined): Promise<void> {
    let current: ArchiveQuery | undefined;
    const track = (q: ArchiveQuery | undefined) => {
      if (current) this.queries.delete(current);
      current = q;
      if (q) this.queries.add(q);
    };
    const cursor = archive ? this.state.rooms[archive] : this.state.own;
    const set = (c: ArchiveCursor) => {
      if (archive) this.state.rooms[archive] = c;
      else this.state.own = c;
    };
    try {
      if (!cursor) {
        // First connection: history before it is not replayed; start from the newest message.
        const newest = await newestId(conn, archive, track);
        set(newest ? { after: newest } : { since: new Date().toISOString() });
        return;
      }
      const count = await fetchAfter(conn, archive, cursor, track, async (page) => {
        for (const m of page) {
          await this.deps.handle(m.message, { id: m.archiveId, ...(m.timestamp !== undefined && { timestamp: m.timestamp }) });
          set({ after: m.archiveId });
        }
      });
      if (count) this.deps.log.info({ archive: archive ?? 'own', count }, 'fetched missed messages from the archive');
    } catch (err) {
      // A server without MAM (or a room without it): live messages still flow.
      this.deps.log.warn({ archive: archive ?? 'own', err: (err as Error).message }, 'archive not available; missed messages cannot be fetched');
    }
  }

  private scheduleSave(): void {
    if (this.saveTimer) return;
    this.saveTimer = setTimeout(() => void this.saveNow(), SAVE_DELAY_MS);
  }

  async saveNow(): Promise<void> {
    clearTimeout(this.saveTimer);
    this.saveTimer = undefined;
    await this.deps.save({ ...(this.state.own && { own: this.state.own }), rooms: { ...this.state.rooms } }).catch((err: Error) => this.deps.log.warn({ err: err.message }, 'archive position not saved'));
  }
}
