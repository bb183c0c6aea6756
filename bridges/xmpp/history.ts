/**
 * Nothing missed across reconnects and restarts: the session remembers, per archive
 * (the account's own and each MUC's), the last message it handed to the core, and after
 * connecting fetches everything newer (MAM) before it lets a chat's live messages through,
 * so each chat reaches the core in order. The position moves only after the core recorded
 * a message, so a crash can repeat a message (the core drops the repeat) but never skip one.
 *
 * Order matters within a chat only, so a quiet chat does not wait for the backlog of busy
 * ones: a live message for a chat whose archived messages are not all handed over yet
 * makes that chat jump the queue ("a claim"): its own archive (a MUC's) or its part of
 * ours (XEP-0313 `with`) is fetched and handed over, then its held live messages, then
 * its messages flow. The pass through our whole archive waits for a claim before handing
 * over that chat's messages (repeats by then, which the core drops), and its position (what
 * a restart resumes from) is the only one that moves it.
 */
import type { Logger } from '../../core/adapter.js';
import type { Element } from '@xmpp/xml';
import type { XmppConnection } from './connection.js';
import { fetchAfter, newestId, type ArchiveCursor, type ArchiveQuery } from './mam.js';
import { chatOf, NS, ownArchiveId, storedOffline } from './stanzas.js';

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

interface Held {
  stanza: Element;
  handled: () => void;
}

/** A chat caught up ahead of the rest. `done` settles once its archive and its held messages are handed over. */
interface Claim {
  held: Held[];
  finished: boolean;
  /** Its part of our archive could not be fetched: its messages wait for the whole pass, as before claims. */
  failed: boolean;
  done: Promise<void>;
}

/** One catch-up in progress. */
interface Run {
  conn: XmppConnection;
  /** Our archive had a position when the run began (else nothing is fetched from it: a first connection). */
  ownKnown: boolean;
  /**
   * Where a direct chat's claim fetches from: the time of the first message the pass found
   * (an archive id outside a `with` query's results is refused by servers, Prosody's
   * item-not-found, so a claim starts from a time). Null when the pass found nothing
   * (nothing to fetch), undefined when it cannot tell (no time, no archive).
   */
  ownFirst: Promise<ArchiveCursor | null | undefined>;
  foundOwnFirst: (cursor: ArchiveCursor | null | undefined) => void;
  ownDone: boolean;
  rooms: Set<string>;
  doneRooms: Set<string>;
  /** The room the pass is in, and what arrives for it meanwhile. */
  current?: string;
  currentHeld: Held[];
  /** By `room:<jid>` or `peer:<jid>`. */
  claims: Map<string, Claim>;
  /** Claims fetch one at a time: a storm of chats waking up must not storm the server. */
  claimChain: Promise<void>;
}

export class History {
  /** Archive queries in flight (a catch-up, its claims, a room linked meanwhile); results are routed to them. */
  private readonly queries = new Set<ArchiveQuery>();
  private buffering = false;
  /** Live messages held until the whole catch-up ends (those whose chat cannot be told, or before it began). */
  private readonly buffer: Held[] = [];
  private run: Run | undefined;
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
    if (!this.buffering || !stanza.is('message')) return undefined;
    let handled!: () => void;
    const settled = new Promise<void>((resolve) => { handled = resolve; });
    return this.place({ stanza, handled }) ? settled : undefined;
  }

  /** A live message was recorded by the core: move its archive's position. */
  advance(stanza: Element): void {
    const from = stanza.attrs.from?.split('/')[0];
    if (stanza.attrs.type === 'groupchat' && from) {
      const id = stanza.getChildren('stanza-id', NS.sid).find((s) => s.attrs.by === from)?.attrs.id;
      if (id) this.state.rooms[from] = { after: id };
    } else {
      // A claimed chat's live message: the pass through our archive has not reached it, and
      // a restart must resume where the pass is, not past what it has yet to hand over.
      if (this.run && !this.run.ownDone) return;
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
    let run: Run | undefined;
    try {
      if (!conn) return;
      let foundOwnFirst!: Run['foundOwnFirst'];
      const ownFirst = new Promise<ArchiveCursor | null | undefined>((resolve) => { foundOwnFirst = resolve; });
      run = this.run = {
        conn, ownKnown: this.state.own !== undefined, ownFirst, foundOwnFirst, ownDone: false, rooms: new Set(rooms), doneRooms: new Set(),
        currentHeld: [], claims: new Map(), claimChain: Promise.resolve(),
      };
      // What arrived before the run (while logging in, joining rooms) finds its chat now.
      for (const early of this.buffer.splice(0)) if (!this.place(early)) await this.handOver(early);
      await this.catchUpOne(conn, undefined, (first) => run!.foundOwnFirst(first));
      run.foundOwnFirst(undefined); // the pass ended without a page (no effect once found)
      run.ownDone = true;
      for (const room of rooms) {
        const claim = run.claims.get(`room:${room}`);
        if (claim) {
          await claim.done;
          continue;
        }
        run.current = room;
        await this.catchUpOne(conn, room);
        await this.release(run.currentHeld);
        run.current = undefined;
        run.doneRooms.add(room);
      }
    } finally {
      // A claim whose live message the archive does not keep (a chat state) can outlast the pass.
      run?.foundOwnFirst(undefined);
      if (run) await run.claimChain;
      // Still buffering while the held messages are handed over: one arriving meanwhile
      // joins the end of the buffer instead of overtaking them (seen as reordering in
      // the hot standby fault test).
      await this.release(this.buffer);
      this.run = undefined;
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

  /** Where a live message waits during a catch-up; false when it may be handled at once. */
  private place(held: Held): boolean {
    const run = this.run;
    const chat = run && chatOf(held.stanza, this.deps.self);
    // Kept offline by our server: the pass through our archive brings it, in its place.
    if (!run || !chat || storedOffline(held.stanza, this.deps.self)) return this.behindAll(held);
    const key = 'room' in chat ? `room:${chat.room}` : `peer:${chat.peer}`;
    const claim = run.claims.get(key);
    if (claim?.failed) return this.behindAll(held);
    if (claim) return !claim.finished && (claim.held.push(held), true);
    if ('room' in chat) {
      if (!run.rooms.has(chat.room) || run.doneRooms.has(chat.room)) return false;
      if (run.current === chat.room) return (run.currentHeld.push(held), true);
      this.claim(run, key, () => this.catchUpOne(run.conn, chat.room)).held.push(held);
      return true;
    }
    if (run.ownDone) return false;
    // No position in our archive yet (the first connection): nothing to catch up for one chat.
    if (!run.ownKnown) return this.behindAll(held);
    this.claim(run, key, () => this.fetchPeer(run, chat.peer)).held.push(held);
    return true;
  }

  private behindAll(held: Held): true {
    this.buffer.push(held);
    return true;
  }

  private claim(run: Run, key: string, fetch: () => Promise<void>): Claim {
    const claim: Claim = { held: [], finished: false, failed: false, done: Promise.resolve() };
    claim.done = run.claimChain = run.claimChain.then(async () => {
      try {
        await fetch();
      } catch (err) {
        this.deps.log.warn({ chat: key, err: (err as Error).message }, 'could not fetch one chat ahead of the rest; it waits for the whole catch-up');
        claim.failed = true;
        this.buffer.push(...claim.held.splice(0));
      }
      await this.release(claim.held);
      claim.finished = true;
    });
    run.claims.set(key, claim);
    return claim;
  }

  /** One direct chat's part of our archive since the run began; our archive's position stays (the pass moves it). */
  private async fetchPeer(run: Run, peer: string): Promise<void> {
    const from = await run.ownFirst;
    if (from === null) return; // the pass found nothing missed: what is held is all there is
    if (!from) throw new Error('no time to start from (the archive gave none)');
    const count = await fetchAfter(run.conn, undefined, from, this.tracker(), async (page) => {
      for (const m of page) await this.handOver({ stanza: m.message }, { id: m.archiveId, ...(m.timestamp !== undefined && { timestamp: m.timestamp }) });
    }, peer);
    this.deps.log.debug({ peer, count }, 'caught up one direct chat ahead of the rest');
  }

  /** Hands over held messages in order; one placed in the same list meanwhile is handed over after them. */
  private async release(list: Held[]): Promise<void> {
    while (list.length) await this.handOver(list.shift()!);
  }

  private async handOver(held: { stanza: Element; handled?: () => void }, archived?: { id: string; timestamp?: number }): Promise<void> {
    try {
      await this.deps.handle(held.stanza, archived);
    } catch (err) {
      this.deps.log.error({ err: (err as Error).message }, 'message not handed over');
    } finally {
      held.handled?.();
    }
  }

  /** Registers the running query of a fetch (results are routed to it), replacing its previous one. */
  private tracker(): (q: ArchiveQuery | undefined) => void {
    let current: ArchiveQuery | undefined;
    return (q) => {
      if (current) this.queries.delete(current);
      current = q;
      if (q) this.queries.add(q);
    };
  }

  /** `first` hears where the first page began (see Run.ownFirst). */
  private async catchUpOne(conn: XmppConnection, archive: string | undefined, first?: (from: ArchiveCursor | null | undefined) => void): Promise<void> {
    const track = this.tracker();
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
      let pages = 0;
      const count = await fetchAfter(conn, archive, cursor, track, async (page) => {
        if (pages++ === 0 && first) {
          const at = page[0]?.timestamp;
          first(!page.length ? null : at !== undefined ? { since: new Date(at).toISOString() } : undefined);
        }
        for (const m of page) {
          // A chat that jumped the queue hands this over itself: wait for it, then hand it over
          // anyway. The core drops it as a repeat; were a server's `with` to disagree with
          // chatOf about whose message it is, it would be late, never lost.
          const claim = archive === undefined ? this.claimOf(m.message) : undefined;
          if (claim) await claim.done;
          await this.handOver({ stanza: m.message }, { id: m.archiveId, ...(m.timestamp !== undefined && { timestamp: m.timestamp }) });
          set({ after: m.archiveId });
        }
      });
      if (count) this.deps.log.info({ archive: archive ?? 'own', count }, 'fetched missed messages from the archive');
    } catch (err) {
      // A server without MAM (or a room without it): live messages still flow.
      this.deps.log.warn({ archive: archive ?? 'own', err: (err as Error).message }, 'archive not available; missed messages cannot be fetched');
    }
  }

  private claimOf(message: Element): Claim | undefined {
    const chat = this.run && chatOf(message, this.deps.self);
    return chat && 'peer' in chat ? this.run!.claims.get(`peer:${chat.peer}`) : undefined;
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
