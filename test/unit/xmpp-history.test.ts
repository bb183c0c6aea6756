/**
 * The XMPP archive catch-up (bridges/xmpp/history.ts): held live messages never overtake each
 * other, nor are overtaken; a quiet chat's live message jumps the queue of a busy chat's backlog.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import xml, { type Element } from '@xmpp/xml';
import { silentLogger } from '../../core/log.js';
import type { XmppConnection } from '../../bridges/xmpp/connection.js';
import { History } from '../../bridges/xmpp/history.js';

const live = (n: number) => xml('message', { type: 'groupchat', from: 'room@muc.example/bob', id: `m${n}` }, xml('body', {}, String(n)));

describe('XMPP catch-up', () => {
  it('a live message arriving while the held ones are handed over waits behind them', async () => {
    const order: string[] = [];
    let history!: History;
    let injected = false;
    history = new History(undefined, {
      self: 'relay@example',
      log: silentLogger(),
      save: async () => undefined,
      async handle(stanza) {
        // The core takes its time with each message (a ghost to make, a commit to wait for)...
        await new Promise((r) => setTimeout(r, 5));
        order.push(stanza.getChildText('body')!);
        // ...and while it does, the next live message arrives from the server.
        if (!injected) {
          injected = true;
          // As the session does: a message nobody intercepts is handled at once, on its own.
          if (!history.intercept(live(4))) void this.handle(live(4));
        }
      },
    });
    history.hold();
    const held = [1, 2, 3].map((n) => history.intercept(live(n)));
    assert.ok(held.every((p) => p instanceof Promise), 'held during the catch-up');
    await history.catchUp(undefined, []);
    await Promise.all(held);
    await new Promise((r) => setTimeout(r, 20));
    assert.deepEqual(order, ['1', '2', '3', '4']);
    assert.equal(history.intercept(live(5)), undefined, 'after the catch-up, live messages flow');
  });

  it('a catch-up hands over every archived message, in order, however many (12,000 here), a page at a time', async () => {
    const TOTAL = 12_000;
    const archived = (n: number) => ({ id: `a${n}`, stanza: xml('message', { type: 'chat', from: 'bob@example/phone', to: 'alice@example', id: `m${n}` }, xml('body', {}, String(n))) });
    let history!: History;
    let biggestPage = 0;
    // A MAM server over an archive a0..a11999: results come as messages (which the session
    // passes to history.intercept), then the iq answer with the page's last id.
    const conn = {
      iq: {
        async ask(_type: string, _to: string | undefined, query: Element): Promise<Element> {
          const after = query.getChild('set')?.getChildText('after');
          const max = Number(query.getChild('set')?.getChildText('max'));
          const start = after ? Number(after.slice(1)) + 1 : 0;
          const end = Math.min(TOTAL, start + max);
          biggestPage = Math.max(biggestPage, end - start);
          for (let n = start; n < end; n++) {
            const { id, stanza } = archived(n);
            const result = xml('message', { to: 'alice@example' }, xml('result', { xmlns: 'urn:xmpp:mam:2', queryid: query.attrs.queryid, id }, xml('forwarded', { xmlns: 'urn:xmpp:forward:0' }, stanza)));
            assert.ok(history.intercept(result), 'a result of the running query');
          }
          const set = end > start ? xml('set', { xmlns: 'http://jabber.org/protocol/rsm' }, xml('last', {}, `a${end - 1}`)) : xml('set', { xmlns: 'http://jabber.org/protocol/rsm' });
          return xml('iq', { type: 'result' }, xml('fin', { xmlns: 'urn:xmpp:mam:2', ...(end >= TOTAL && { complete: 'true' }) }, set));
        },
      },
    } as unknown as XmppConnection;
    const handled: number[] = [];
    let saved: unknown;
    history = new History({ own: { after: 'a-1' } }, {
      self: 'alice@example',
      log: silentLogger(),
      save: async (state) => { saved = state; },
      async handle(stanza) { handled.push(Number(stanza.getChildText('body'))); },
    });
    await history.catchUp(conn, []);
    assert.equal(handled.length, TOTAL);
    assert.ok(handled.every((n, i) => n === i), 'in archive order');
    assert.ok(biggestPage <= 100, `pages of at most 100 (got ${biggestPage})`);
    assert.deepEqual(saved, { own: { after: `a${TOTAL - 1}` }, rooms: {} });
  });

  describe('a chat that wakes up during the catch-up jumps the queue', () => {
    const ME = 'alice@example';
    const chatMsg = (from: string, n: number, to = ME) => xml('message', { type: 'chat', from: `${from}/phone`, to, id: `${from.split('@')[0]}-${n}` }, xml('body', {}, `${from.split('@')[0]}:${n}`));
    const roomMsg = (room: string, n: number) => xml('message', { type: 'groupchat', from: `${room}/bob`, id: `${room.split('@')[0]}-${n}` }, xml('body', {}, `${room.split('@')[0]}:${n}`));

    /**
     * A MAM server: our archive and each room's, ids a0, a1, ... in one sequence, stored three
     * a second (stamps of whole seconds, as Prosody's); `with`, `start` and `after` honoured, and
     * as Prosody does, an `after` id outside the query's results refused (item-not-found); 10
     * per page, a turn of the event loop per page. `onQuery` runs before each answer (to
     * deliver live messages mid-catch-up); `refuseWith` answers a `with` query with an error.
     */
    function setup(opts: { own: Element[]; rooms?: Record<string, Element[]>; refuseWith?: boolean; initial?: object }) {
      const archives = new Map<string | undefined, { id: string; stanza: Element; when: number }[]>();
      let seq = 0;
      const add = (archive: string | undefined, stanza: Element) => {
        const list = archives.get(archive) ?? [];
        list.push({ id: `a${seq}`, stanza, when: Date.UTC(2026, 0, 1) + Math.floor(seq / 3) * 1000 });
        seq++;
        archives.set(archive, list);
      };
      // What was handed over before we went away: each archive's position is after it.
      const positions: { own?: { after: string }; rooms: Record<string, { after: string }> } = { rooms: {} };
      add(undefined, chatMsg('bob@example', -1));
      positions.own = { after: `a${seq - 1}` };
      for (const room of Object.keys(opts.rooms ?? {})) {
        add(room, roomMsg(room, -1));
        positions.rooms[room] = { after: `a${seq - 1}` };
      }
      for (const m of opts.own) add(undefined, m);
      for (const [room, ms] of Object.entries(opts.rooms ?? {})) for (const m of ms) add(room, m);
      const queries: { archive?: string; with?: string }[] = [];
      let onQuery: (n: number) => void = () => undefined;
      const recorded = new Set<string>();
      const handled: string[] = [];
      /** Our archive's position right after each live message was handled. */
      const livePositions: unknown[] = [];
      let saved: { own?: { after?: string } } | undefined;
      const peerOf = (m: Element) => String(String(m.attrs.from).startsWith(ME) ? m.attrs.to : m.attrs.from).split('/')[0];
      const conn = {
        iq: {
          async ask(_type: string, to: string | undefined, query: Element): Promise<Element> {
            const field = (name: string) => query.getChild('x')?.getChildren('field').find((f) => f.attrs.var === name)?.getChildText('value') ?? undefined;
            const withJid = field('with');
            const startAt = field('start');
            queries.push({ ...(to && { archive: to }), ...(withJid && { with: withJid }) });
            onQuery(queries.length);
            await new Promise((r) => setImmediate(r));
            if (withJid && opts.refuseWith) throw new Error('feature-not-implemented');
            const set = query.getChild('set')!;
            const after = set.getChildText('after');
            const all = (archives.get(to) ?? []).filter((e) => (!withJid || peerOf(e.stanza) === withJid) && (!startAt || e.when >= Date.parse(startAt)));
            if (after && !all.some((e) => e.id === after)) throw Object.assign(new Error('item-not-found'), { condition: 'item-not-found' });
            const start = after ? all.findIndex((e) => e.id === after) + 1 : 0;
            const page = all.slice(start, start + 10);
            for (const e of page) {
              const forwarded = xml('forwarded', { xmlns: 'urn:xmpp:forward:0' }, xml('delay', { xmlns: 'urn:xmpp:delay', stamp: new Date(e.when).toISOString().replace('.000', '') }), e.stanza);
              const result = xml('message', { to: ME }, xml('result', { xmlns: 'urn:xmpp:mam:2', queryid: query.attrs.queryid, id: e.id }, forwarded));
              assert.ok(history.intercept(result));
            }
            const complete = start + 10 >= all.length;
            return xml('iq', { type: 'result' }, xml('fin', { xmlns: 'urn:xmpp:mam:2', ...(complete && { complete: 'true' }) },
              xml('set', { xmlns: 'http://jabber.org/protocol/rsm' }, page.length ? xml('last', {}, page.at(-1)!.id) : undefined)));
          },
        },
      } as unknown as XmppConnection;
      const history: History = new History((opts.initial ?? positions) as never, {
        self: ME,
        log: silentLogger(),
        save: async (state) => { saved = state; },
        async handle(stanza, archived) {
          await new Promise((r) => setImmediate(r)); // the core takes a moment
          // As the core does: a repeat (same message id) is dropped; as the session does, a
          // live message's archive position moves once the core is done with it.
          if (!recorded.has(String(stanza.attrs.id))) handled.push(stanza.getChildText('body')!);
          recorded.add(String(stanza.attrs.id));
          if (!archived) {
            history.advance(stanza);
            livePositions.push((history as unknown as { state: { own?: object } }).state.own);
          }
        },
      });
      /** As the session does: a live message nobody holds is handled at once. */
      const deliver = (stanza: Element) => history.intercept(stanza) ?? (history as unknown as { deps: { handle(s: Element): Promise<void> } }).deps.handle(stanza);
      return { history, conn, queries, handled, livePositions, add, deliver, saved: () => saved, onQuery: (f: (n: number) => void) => { onQuery = f; } };
    }

    const inOrder = (handled: string[], who: string) => {
      const ns = handled.filter((b) => b.startsWith(`${who}:`)).map((b) => Number(b.split(':')[1]));
      assert.deepEqual(ns, [...ns].sort((a, b) => a - b), `${who} in order: ${ns.join(',')}`);
      return ns;
    };

    it("a direct chat's live message is handed over before a busy chat's backlog ends, after its own archived ones; each once", async () => {
      // bob wrote 200 while we were away, carol 3 among them.
      const own = Array.from({ length: 200 }, (_, n) => chatMsg('bob@example', n));
      own.splice(50, 0, chatMsg('carol@example', 0));
      own.splice(120, 0, chatMsg('carol@example', 1), chatMsg('alice@example', 2, 'carol@example'));
      const t = setup({ own });
      t.onQuery((n) => {
        if (n !== 3) return;
        // carol writes now, live (the server archives it too).
        const live = chatMsg('carol@example', 3);
        t.add(undefined, live);
        void t.deliver(live);
      });
      t.history.hold();
      await t.history.catchUp(t.conn, []);
      assert.deepEqual(inOrder(t.handled, 'carol'), [0, 1, 3], 'carol: archived, then live');
      assert.deepEqual(inOrder(t.handled, 'alice'), [2]);
      assert.ok(t.handled.indexOf('carol:1') < t.handled.indexOf('carol:3'));
      assert.ok(t.handled.indexOf('carol:3') < t.handled.indexOf('bob:100'), `carol's live message before bob's backlog ends: at ${t.handled.indexOf('carol:3')}`);
      assert.equal(inOrder(t.handled, 'bob').length, 200, 'every one of bob\'s');
      assert.equal(t.handled.length, 204, 'nothing twice, nothing lost');
      assert.deepEqual(t.queries.filter((q) => q.with), [{ with: 'carol@example' }], 'one query for carol');
      assert.deepEqual(t.saved()?.own, { after: 'a204' }, 'our archive\'s position: where the pass ended');
      assert.equal(t.history.intercept(chatMsg('carol@example', 4)), undefined, 'after the catch-up, live messages flow');
    });

    it("while the pass has not reached a claimed chat's messages, the saved position does not jump past them", async () => {
      const own = Array.from({ length: 100 }, (_, n) => chatMsg('bob@example', n));
      const t = setup({ own });
      t.onQuery((n) => {
        if (n !== 2) return;
        const live = xml('message', { type: 'chat', from: 'carol@example/phone', to: ME, id: 'carol-0' }, xml('body', {}, 'carol:0'), xml('stanza-id', { xmlns: 'urn:xmpp:sid:0', by: ME, id: 'a999' }));
        t.add(undefined, live);
        void t.deliver(live);
      });
      t.history.hold();
      await t.history.catchUp(t.conn, []);
      assert.ok(t.handled.indexOf('carol:0') < t.handled.indexOf('bob:50'));
      assert.equal(t.livePositions.length, 1);
      assert.notDeepEqual(t.livePositions[0], { after: 'a999' }, 'carol\'s live message did not move our archive\'s position during the pass');
      assert.deepEqual(t.saved()?.own, { after: 'a101' });
    });

    it('a server that refuses the one-chat query: the chat waits for the whole pass, and none of its messages is skipped', async () => {
      const own = Array.from({ length: 60 }, (_, n) => chatMsg('bob@example', n));
      own.splice(40, 0, chatMsg('carol@example', 0));
      const t = setup({ own, refuseWith: true });
      t.onQuery((n) => {
        if (n !== 2) return;
        const live = chatMsg('carol@example', 1);
        t.add(undefined, live);
        void t.deliver(live);
      });
      t.history.hold();
      await t.history.catchUp(t.conn, []);
      assert.deepEqual(inOrder(t.handled, 'carol'), [0, 1]);
      assert.equal(t.handled.at(-1), 'carol:1', 'the live one last, behind the whole pass');
      assert.equal(t.handled.length, 62);
    });

    it('a message our server kept offline and delivers now waits for the pass (the archive has it in its place): no claim', async () => {
      const own = Array.from({ length: 60 }, (_, n) => chatMsg('bob@example', n));
      const kept = chatMsg('carol@example', 0);
      own.push(kept);
      const t = setup({ own });
      t.onQuery((n) => {
        if (n !== 2) return;
        const delivered = xml('message', { ...kept.attrs }, ...kept.children, xml('delay', { xmlns: 'urn:xmpp:delay', from: 'example', stamp: '2026-01-01T00:00:00Z' }));
        void t.deliver(delivered as Element);
      });
      t.history.hold();
      await t.history.catchUp(t.conn, []);
      assert.deepEqual(t.queries.filter((q) => q.with), [], 'no query for one chat');
      assert.equal(t.handled.at(-1), 'carol:0');
      assert.equal(t.handled.length, 61);
    });

    it("a quiet room's live message does not wait for a busy room's archive", async () => {
      const busy = 'busy@muc.example';
      const quiet = 'quiet@muc.example';
      const t = setup({ own: [], rooms: { [busy]: Array.from({ length: 100 }, (_, n) => roomMsg(busy, n)), [quiet]: [roomMsg(quiet, 0)] } });
      t.onQuery((n) => {
        if (n !== 3) return;
        const live = roomMsg(quiet, 1);
        t.add(quiet, live);
        void t.deliver(live);
      });
      t.history.hold();
      await t.history.catchUp(t.conn, [busy, quiet]);
      assert.deepEqual(inOrder(t.handled, 'quiet'), [0, 1]);
      assert.ok(t.handled.indexOf('quiet:1') < t.handled.indexOf('busy:50'), `quiet room's live message at ${t.handled.indexOf('quiet:1')}`);
      assert.equal(inOrder(t.handled, 'busy').length, 100);
      assert.equal(t.queries.filter((q) => q.archive === quiet).length, 1, 'the quiet room\'s archive read once');
    });
  });
});
