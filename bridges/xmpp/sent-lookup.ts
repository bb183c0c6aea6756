/**
 * Whether an earlier attempt of a send reached the server: our own message with that
 * origin id (XEP-0359) in the archive that would hold it (a MUC's, or the account's own
 * for a chat). After a crash every pending send is checked, and a check that read the
 * whole lookback window made a backlog of n sends cost n reads of it: seconds each in a
 * busy room, minutes for the 150 sends a PostgreSQL restart left pending in the fault
 * suite. So what was read is kept per archive, and a later check reads only what is newer.
 *
 * Only our own messages count: origin ids are derived from Matrix event ids, so someone
 * else in the room could post one ahead of a replay to have it taken as sent.
 */
import jid from '@xmpp/jid';
import type { Element } from '@xmpp/xml';
import type { ArchiveCursor, ArchivedMessage } from './mam.js';
import { NS } from './stanzas.js';

/** How far before a send's first attempt its archived copy is looked for (clocks differ). */
export const LOOKBACK_MS = 60_000;
/** A window not checked for this long is read again from its start at the next check. */
const IDLE_MS = 5 * 60_000;
/** Origin ids kept per archive, the oldest dropped first (a window is minutes of one room). */
const MAX_IDS = 20_000;

/** Reads `archive` (undefined: the account's own) from the cursor on, oldest first, a page at a time. */
export type ReadArchive = (archive: string | undefined, from: ArchiveCursor, onPage: (page: ArchivedMessage[]) => Promise<void>) => Promise<unknown>;

interface Window {
  start: number;
  /** The archive id of the newest message read: the next check reads after it. */
  after?: string;
  /** Origin id -> what the send reports as its remote id. */
  ids: Map<string, string>;
  checkedAt: number;
}

export class SentLookup {
  private readonly windows = new Map<string, Window>();

  constructor(
    private readonly read: ReadArchive,
    /** Whether an archived message was sent by us (in that archive). */
    private readonly ours: (archive: string | undefined, message: Element) => boolean,
    private readonly now: () => number = Date.now,
  ) {}

  /** The remote id of the earlier send with `originId` (first attempted at `since`), if it went. */
  async find(archive: string | undefined, originId: string, since: number): Promise<string | undefined> {
    const key = archive ?? '';
    const start = since - LOOKBACK_MS;
    let window = this.windows.get(key);
    if (!window || window.start > start || this.now() - window.checkedAt > IDLE_MS) {
      window = { start, ids: new Map(), checkedAt: this.now() };
      this.windows.set(key, window);
    }
    const w = window;
    await this.read(archive, w.after ? { after: w.after } : { since: new Date(start).toISOString() }, async (page) => {
      for (const a of page) {
        w.after = a.archiveId;
        const id = a.message.getChild('origin-id', NS.sid)?.attrs.id;
        if (typeof id !== 'string' || !this.ours(archive, a.message)) continue;
        // In a MUC, replies and reactions use the room's id of the message; in a chat, ours.
        w.ids.set(id, archive ? a.archiveId : id);
        if (w.ids.size > MAX_IDS) w.ids.delete(w.ids.keys().next().value!);
      }
    });
    w.checkedAt = this.now();
    return w.ids.get(originId);
  }
}

/** Sent by the account `self`: as its occupant (`nick`) in a MUC's archive, from its own JID in its own. */
export function sentByUs(archive: string | undefined, message: Element, self: string, nick: string | undefined): boolean {
  try {
    const from = jid(String(message.attrs.from ?? ''));
    return archive ? from.bare().toString() === archive && from.resource === nick : from.bare().toString() === self;
  } catch {
    return false;
  }
}
