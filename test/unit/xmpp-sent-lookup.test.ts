/** The XMPP adapter's check for sends that already went (bridges/xmpp/sent-lookup.ts), against an archive in memory. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import xml from '@xmpp/xml';
import type { ArchiveCursor, ArchivedMessage } from '../../bridges/xmpp/mam.js';
import { LOOKBACK_MS, SentLookup } from '../../bridges/xmpp/sent-lookup.js';

const ROOM = 'room@muc.test';

/** A MUC archive: messages with a time, a sender nick and an origin id; reads are recorded. */
function archive() {
  const messages: (ArchivedMessage & { at: number })[] = [];
  const reads: ArchiveCursor[] = [];
  let n = 0;
  return {
    messages, reads,
    add(at: number, nick: string, originId: string) {
      const id = `a${++n}`;
      messages.push({ archiveId: id, at, message: xml('message', { from: `${ROOM}/${nick}`, type: 'groupchat' }, xml('body', {}, 'x'), xml('origin-id', { xmlns: 'urn:xmpp:sid:0', id: originId })) });
      return id;
    },
    read: async (_archive: string | undefined, from: ArchiveCursor, onPage: (page: ArchivedMessage[]) => Promise<void>) => {
      reads.push(from);
      const start = from.after ? messages.findIndex((m) => m.archiveId === from.after) + 1 : messages.findIndex((m) => m.at >= Date.parse(from.since!));
      const rest = start < 0 ? [] : messages.slice(start);
      for (let i = 0; i < rest.length; i += 50) await onPage(rest.slice(i, i + 50));
    },
  };
}

const oursIn = (_archive: string | undefined, m: ReturnType<typeof xml>) => String(m.attrs.from).endsWith('/bridge');

describe('which sends already went (XMPP archive, XEP-0359 origin ids)', () => {
  it("finds our earlier send by its origin id and reports the room's id for it; one that never went is not found", async () => {
    const a = archive();
    const t = Date.now();
    const first = a.add(t, 'bridge', 'k1');
    const lookup = new SentLookup(a.read, oursIn);
    assert.equal(await lookup.find(ROOM, 'k1', t), first);
    assert.equal(await lookup.find(ROOM, 'k2', t), undefined);
  });

  it("someone else's message with our origin id is not taken for ours (origin ids are predictable)", async () => {
    const a = archive();
    const t = Date.now();
    a.add(t, 'mallory', 'k1');
    assert.equal(await new SentLookup(a.read, oursIn).find(ROOM, 'k1', t), undefined);
  });

  it('a backlog of checks reads the window once, then only what is newer', async () => {
    const a = archive();
    const t = Date.now() - 30_000;
    for (let i = 0; i < 500; i++) a.add(t + i, i % 2 ? 'bridge' : 'xena', `m${i}`);
    const lookup = new SentLookup(a.read, oursIn);
    for (let i = 1; i < 500; i += 2) assert.ok(await lookup.find(ROOM, `m${i}`, t + i), `m${i}`);
    assert.ok(a.reads[0]!.since, 'the first check reads the window');
    assert.ok(a.reads.slice(1).every((r) => r.after === a.messages.at(-1)!.archiveId), 'later ones start after the newest message read');
    // A send that lands after the window was read is found by the next check.
    const late = a.add(Date.now(), 'bridge', 'late');
    assert.equal(await lookup.find(ROOM, 'late', Date.now()), late);
  });

  it('a send older than the window read so far reads its own window again', async () => {
    const a = archive();
    const now = Date.now();
    const old = a.add(now - 3 * LOOKBACK_MS, 'bridge', 'old');
    a.add(now, 'bridge', 'new');
    const lookup = new SentLookup(a.read, oursIn);
    assert.ok(await lookup.find(ROOM, 'new', now));
    assert.equal(await lookup.find(ROOM, 'old', now - 3 * LOOKBACK_MS + 1), old);
  });
});
