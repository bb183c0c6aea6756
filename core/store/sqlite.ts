/** The SQLite Store (better-sqlite3, WAL). Every statement is prepared once, with bound parameters. */
import Database from 'better-sqlite3';
import type { LoginId, MatrixEventId, MatrixRoomId, MatrixUserId, NetworkId, RemoteMessageId } from '../ids.js';
import { Checkpointer } from './checkpointer.js';
import { migrate } from './migrate.js';
import { Sealer } from './sealed.js';
import type { GhostRow, StoredIdentifier, LoginRow, MessagePart, NewInboxRow, PortalChange, PortalRow, ReactionRow, Store } from './store.js';
import { opt, PORTAL_CACHE_SIZE, PortalCache, toGhost, toInbox, toPart, toPortal, toReaction, type Row } from './sqlite-rows.js';

export interface SqliteStoreOptions {
  /** File path, or `:memory:`. */
  path: string;
  /** Secret for encrypting login data at rest; plain JSON when absent. */
  loginDataKey?: string;
  /** Told when a background WAL checkpoint fails (the WAL then grows until one succeeds). */
  onCheckpointError?: (message: string) => void;
}

export class SqliteStore implements Store {
  readonly db: Database.Database;
  private readonly sealer: Sealer;
  private readonly q;
  private readonly checkpointer: Checkpointer | undefined;

  constructor(opts: SqliteStoreOptions) {
    this.db = new Database(opts.path);
    this.db.pragma('journal_mode = WAL');
    // NORMAL in WAL mode survives a process crash (what the inbox guards against);
    // only an OS crash or power loss can lose the last transactions.
    this.db.pragma('synchronous = NORMAL');
    this.db.pragma('foreign_keys = ON');
    this.db.pragma('busy_timeout = 5000');
    migrate(this.db);
    if (opts.path !== ':memory:') {
      // Checkpoints move to a worker (checkpointer.ts); the commit path never runs one.
      this.db.pragma('wal_autocheckpoint = 0');
      this.checkpointer = new Checkpointer(opts.path, opts.onCheckpointError ?? (() => undefined));
    }
    this.sealer = new Sealer(opts.loginDataKey);
    const p = (sql: string) => this.db.prepare(sql);
    this.q = {
      getPortal: p('SELECT * FROM portals WHERE portal_key = ?'),
      portalsByRoom: p('SELECT * FROM portals WHERE room_id = ? ORDER BY created_at'),
      insertPortal: p(`INSERT INTO portals (portal_key, network, chat_id, receiver, kind, room_id, name, topic, avatar_mxc, relay, direction, created_at)
        VALUES (@portalKey, @network, @chatId, @receiver, @kind, @roomId, @name, @topic, @avatarMxc, @relay, @direction, @now)
        ON CONFLICT (portal_key) DO NOTHING`),
      // One fixed statement: each column changes only when its flag is set, so no SQL is ever assembled from input.
      updatePortal: p(`UPDATE portals SET
          room_id = CASE WHEN @setRoomId THEN @roomId ELSE room_id END,
          name = CASE WHEN @setName THEN @name ELSE name END,
          topic = CASE WHEN @setTopic THEN @topic ELSE topic END,
          avatar_mxc = CASE WHEN @setAvatarMxc THEN @avatarMxc ELSE avatar_mxc END,
          relay = CASE WHEN @setRelay THEN @relay ELSE relay END,
          direction = CASE WHEN @setDirection THEN @direction ELSE direction END,
          name_template = CASE WHEN @setNameTemplate THEN @nameTemplate ELSE name_template END,
          show_numbers = CASE WHEN @setShowNumbers THEN @showNumbers ELSE show_numbers END
        WHERE portal_key = @portalKey`),
      listPortals: p('SELECT * FROM portals ORDER BY created_at, portal_key'),
      countPortals: p('SELECT count(*) AS n FROM portals'),
      getGhost: p('SELECT * FROM ghosts WHERE user_id = ?'),
      ghostsOf: p('SELECT * FROM ghosts WHERE network = ? ORDER BY user_id'),
      deleteGhost: p('DELETE FROM ghosts WHERE user_id = ?'),
      ghostByRemote: p('SELECT * FROM ghosts WHERE network = ? AND remote_id = ?'),
      touchGhost: p('UPDATE ghosts SET last_seen = ? WHERE user_id = ?'),
      ghostsUnseenSince: p("SELECT * FROM ghosts WHERE network = ? AND coalesce(last_seen, first_seen, 0) < ? AND remote_id NOT LIKE 'forgotten:%'"),
      forgetGhost: p('UPDATE ghosts SET remote_id = ?, name = NULL, avatar_mxc = NULL, avatar_ref = NULL WHERE user_id = ?'),
      forgetPortalParts: p('DELETE FROM message_map WHERE portal_key = ?'),
      forgetPortalReactions: p('DELETE FROM reactions WHERE portal_key = ?'),
      forgetPortalInbox: p("DELETE FROM inbox WHERE portal_key = ? AND state != 'pending'"),
      forgetPortalRow: p('DELETE FROM portals WHERE portal_key = ?'),
      reassignSender: p('UPDATE message_map SET sender = ? WHERE sender = ?'),
      putGhost: p(`INSERT INTO ghosts (user_id, network, remote_id, name, avatar_mxc, avatar_ref, registered, first_seen)
        VALUES (@userId, @network, @remoteId, @name, @avatarMxc, @avatarRef, @registered, @firstSeen)
        ON CONFLICT (user_id) DO UPDATE SET name = excluded.name, avatar_mxc = excluded.avatar_mxc,
          avatar_ref = excluded.avatar_ref, registered = excluded.registered`),
      storedIdentifiers: p(`SELECT 'ghost' AS kept, network, remote_id AS id, first_seen AS since FROM ghosts
        UNION ALL SELECT 'login', network, remote_user, created_at FROM logins WHERE remote_user IS NOT NULL
        UNION ALL SELECT 'portal', network, chat_id, created_at FROM portals`),
      getLogin: p('SELECT * FROM logins WHERE login_id = ?'),
      listLogins: p('SELECT * FROM logins ORDER BY created_at, login_id'),
      listLoginsOf: p('SELECT * FROM logins WHERE network = ? ORDER BY created_at, login_id'),
      putLogin: p(`INSERT INTO logins (login_id, network, kind, owner, remote_user, data, notice_room, created_at)
        VALUES (@loginId, @network, @kind, @owner, @remoteUser, @data, @noticeRoom, @now)
        ON CONFLICT (login_id) DO UPDATE SET kind = excluded.kind, owner = excluded.owner,
          remote_user = excluded.remote_user, data = excluded.data, notice_room = excluded.notice_room`),
      updateLoginData: p('UPDATE logins SET data = ? WHERE login_id = ?'),
      plainLogins: p("SELECT login_id, data FROM logins WHERE data NOT LIKE 'v1:%'"),
      deleteLogin: p('DELETE FROM logins WHERE login_id = ?'),
      addPart: p(`INSERT INTO message_map (portal_key, remote_id, part, room_id, event_id, sender, created_at)
        VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING`),
      parts: p('SELECT * FROM message_map WHERE portal_key = ? AND remote_id = ? ORDER BY part'),
      partByEvent: p('SELECT * FROM message_map WHERE event_id = ? AND portal_key = ? ORDER BY part'),
      deleteMessage: p('DELETE FROM message_map WHERE portal_key = ? AND remote_id = ?'),
      addReaction: p(`INSERT INTO reactions (portal_key, target_id, sender, reaction_key, event_id)
        VALUES (@portalKey, @targetId, @sender, @key, @eventId) ON CONFLICT DO NOTHING`),
      reactionsBy: p('SELECT * FROM reactions WHERE portal_key = ? AND target_id = ? AND sender = ? ORDER BY rowid'),
      reactionByEvent: p('SELECT * FROM reactions WHERE event_id = ? AND portal_key = ?'),
      deleteReaction: p('DELETE FROM reactions WHERE event_id = ? AND portal_key = ?'),
      addInbox: p(`INSERT INTO inbox (direction, portal_key, dedup_key, login_id, payload, attempts, created_at)
        VALUES (@direction, @portalKey, @dedupKey, @loginId, @payload, @attempts, @now) ON CONFLICT DO NOTHING`),
      getInbox: p('SELECT * FROM inbox WHERE seq = ?'),
      pendingInbox: p("SELECT * FROM inbox WHERE state = 'pending' ORDER BY seq"),
      pruneInbox: p(`DELETE FROM inbox WHERE state = 'done' AND created_at < ?
        AND seq NOT IN (SELECT max(seq) FROM inbox WHERE direction = 'matrix' GROUP BY portal_key)`),
      finishInbox: p('UPDATE inbox SET state = ?, last_error = ? WHERE seq = ?'),
      markAttempt: p('UPDATE inbox SET attempts = attempts + 1 WHERE seq = ?'),
      countInbox: p('SELECT count(*) AS n FROM inbox WHERE state = ?'),
      matrixEventKnown: p("SELECT 1 FROM inbox WHERE direction = 'matrix' AND portal_key = ? AND dedup_key = ?"),
      lastMatrixEventAt: p("SELECT max(created_at) AS at FROM inbox WHERE direction = 'matrix' AND portal_key = ?"),
      markDelivered: p('INSERT INTO delivered_events (event_id, received_at) VALUES (?, ?) ON CONFLICT DO NOTHING'),
      wasDelivered: p('SELECT 1 FROM delivered_events WHERE event_id = ?'),
      pruneDelivered: p('DELETE FROM delivered_events WHERE received_at < ?'),
      // A new id, or a known id with other contents (the homeserver reused it): recorded and processed.
      addTxn: p(`INSERT INTO transactions (txn_id, digest, received_at) VALUES (@txnId, @digest, @now)
        ON CONFLICT (txn_id) DO UPDATE SET digest = excluded.digest, received_at = excluded.received_at
        WHERE transactions.digest IS NOT excluded.digest`),
    };
  }

  transaction<T>(fn: () => T): T {
    try {
      return this.db.transaction(fn)();
    } catch (err) {
      // Rolled back: what the cache read inside it may not exist.
      this.portals.clear();
      throw err;
    }
  }

  /** Portal rows by key, as read (portal rows change only through upsertPortal and updatePortal). */
  private readonly portals = new PortalCache(PORTAL_CACHE_SIZE);

  // ---------------------------------------------------------------- group commit

  /** Resolvers of `durable()` calls waiting for the open group to commit. */
  private waiting: (() => void)[] = [];
  private groupOpen = false;

  /**
   * Every write joins one transaction per event-loop turn: it opens on the first write
   * and commits in a `setImmediate`, so a burst of events costs one commit, not one each.
   */
  private write<T>(fn: () => T): T {
    if (!this.db.inTransaction) {
      this.db.exec('BEGIN');
      this.groupOpen = true;
      setImmediate(() => this.flush());
    }
    return fn();
  }

  flush(): void {
    if (this.groupOpen && this.db.open) {
      this.groupOpen = false;
      this.db.exec('COMMIT');
    }
    const waiting = this.waiting;
    this.waiting = [];
    for (const resolve of waiting) resolve();
  }

  durable(): Promise<void> {
    if (!this.groupOpen) return Promise.resolve();
    return new Promise((resolve) => this.waiting.push(resolve));
  }

  getPortal(portalKey: string) {
    // Every event reads its portal: served from memory, copied so callers may change theirs.
    const cached = this.portals.get(portalKey);
    if (cached) return { ...cached };
    const r = this.q.getPortal.get(portalKey) as Row | undefined;
    if (!r) return undefined;
    const portal = toPortal(r);
    this.portals.set(portalKey, portal);
    return { ...portal };
  }
  portalsByRoom(roomId: MatrixRoomId) {
    return (this.q.portalsByRoom.all(roomId) as Row[]).map(toPortal);
  }
  upsertPortal(row: PortalRow) {
    this.portals.delete(row.portalKey);
    this.write(() => this.q.insertPortal.run({
      receiver: null, roomId: null, name: null, topic: null, avatarMxc: null, ...row, relay: row.relay === false ? 0 : 1, direction: row.direction ?? 'both', now: Date.now(),
    }));
    return this.getPortal(row.portalKey)!;
  }
  updatePortal(portalKey: string, change: PortalChange) {
    this.portals.delete(portalKey);
    const has = (k: keyof PortalChange) => (k in change ? 1 : 0);
    this.write(() => this.q.updatePortal.run({
      portalKey,
      setRoomId: has('roomId'), roomId: change.roomId ?? null,
      setName: has('name'), name: change.name ?? null,
      setTopic: has('topic'), topic: change.topic ?? null,
      setAvatarMxc: has('avatarMxc'), avatarMxc: change.avatarMxc ?? null,
      setRelay: has('relay'), relay: change.relay === false ? 0 : 1,
      setDirection: has('direction'), direction: change.direction ?? 'both',
      setNameTemplate: has('nameTemplate'), nameTemplate: change.nameTemplate ?? null,
      setShowNumbers: has('showNumbers'), showNumbers: change.showNumbers ? 1 : 0,
    }));
  }
  listPortals() {
    return (this.q.listPortals.all() as Row[]).map(toPortal);
  }
  countPortals() {
    return (this.q.countPortals.get() as { n: number }).n;
  }

  getGhost(userId: MatrixUserId) {
    const r = this.q.getGhost.get(userId) as Row | undefined;
    return r && toGhost(r);
  }
  ghostsOf(network: NetworkId) {
    return (this.q.ghostsOf.all(network) as Row[]).map(toGhost);
  }
  deleteGhost(userId: MatrixUserId) {
    this.write(() => this.q.deleteGhost.run(userId));
  }
  ghostByRemote(network: NetworkId, remoteId: string) {
    const r = this.q.ghostByRemote.get(network, remoteId) as Row | undefined;
    return r && toGhost(r);
  }
  touchGhost(userId: MatrixUserId, at: number) {
    this.write(() => this.q.touchGhost.run(at, userId));
  }
  ghostsUnseenSince(network: NetworkId, before: number) {
    return (this.q.ghostsUnseenSince.all(network, before) as Row[]).map(toGhost);
  }
  forgetGhost(userId: MatrixUserId, placeholder: string) {
    this.write(() => this.q.forgetGhost.run(placeholder, userId));
  }
  forgetPortal(portalKey: string) {
    this.write(() => {
      for (const q of [this.q.forgetPortalParts, this.q.forgetPortalReactions, this.q.forgetPortalInbox, this.q.forgetPortalRow]) q.run(portalKey);
    });
    this.portals.delete(portalKey);
  }
  reassignSender(from: MatrixUserId, to: MatrixUserId) {
    this.write(() => this.q.reassignSender.run(to, from));
  }
  putGhost(row: GhostRow) {
    this.write(() => this.q.putGhost.run({ name: null, avatarMxc: null, avatarRef: null, ...row, registered: row.registered ? 1 : 0, firstSeen: Date.now() }));
  }
  *storedIdentifiers() {
    for (const r of this.q.storedIdentifiers.iterate() as Iterable<Row>) {
      yield { kept: r.kept as StoredIdentifier['kept'], network: r.network as NetworkId, id: r.id as string, ...(typeof r.since === 'number' && { since: r.since }) };
    }
  }

  private toLogin(r: Row): LoginRow {
    return {
      loginId: r.login_id as LoginId,
      network: r.network as NetworkId,
      kind: r.kind as LoginRow['kind'],
      owner: opt(r.owner),
      noticeRoom: opt(r.notice_room),
      remoteUser: opt(r.remote_user),
      data: this.sealer.open(r.data as string),
    };
  }
  getLogin(loginId: LoginId) {
    const r = this.q.getLogin.get(loginId) as Row | undefined;
    return r && this.toLogin(r);
  }
  listLogins(network?: NetworkId) {
    const rows = (network ? this.q.listLoginsOf.all(network) : this.q.listLogins.all()) as Row[];
    return rows.map((r) => this.toLogin(r));
  }
  putLogin(row: LoginRow) {
    this.write(() => this.q.putLogin.run({ owner: null, remoteUser: null, noticeRoom: null, ...row, data: this.sealer.seal(row.data), now: Date.now() }));
  }
  /** Encrypt login rows an older version stored as plain JSON (no secret stays in the clear); returns how many. */
  sealPlainLogins(): number {
    if (!this.sealer.encrypting) return 0;
    const plain = this.q.plainLogins.all() as { login_id: string; data: string }[];
    if (!plain.length) return 0;
    this.flush();
    this.transaction(() => {
      for (const row of plain) this.q.updateLoginData.run(this.sealer.seal(this.sealer.open(row.data)), row.login_id);
    });
    // The old plain text must not linger in free pages or in the WAL's older frames.
    this.db.exec('VACUUM');
    this.db.pragma('wal_checkpoint(TRUNCATE)');
    return plain.length;
  }
  updateLoginData(loginId: LoginId, data: Record<string, unknown>) {
    this.write(() => this.q.updateLoginData.run(this.sealer.seal(data), loginId));
  }
  deleteLogin(loginId: LoginId) {
    this.write(() => this.q.deleteLogin.run(loginId));
  }

  addMessagePart(portalKey: string, p: MessagePart) {
    return this.write(() => this.q.addPart.run(portalKey, p.remoteId, p.part, p.roomId, p.eventId, p.sender ?? null, Date.now()).changes === 1);
  }
  messageParts(portalKey: string, remoteId: RemoteMessageId) {
    return (this.q.parts.all(portalKey, remoteId) as Row[]).map(toPart);
  }
  messageByEvent(portalKey: string, eventId: MatrixEventId) {
    const r = this.q.partByEvent.get(eventId, portalKey) as Row | undefined;
    return r && toPart(r);
  }
  partsByEvent(portalKey: string, eventId: MatrixEventId) {
    return (this.q.partByEvent.all(eventId, portalKey) as Row[]).map(toPart);
  }
  deleteMessage(portalKey: string, remoteId: RemoteMessageId) {
    this.write(() => this.q.deleteMessage.run(portalKey, remoteId));
  }

  addReaction(row: ReactionRow) {
    return this.write(() => this.q.addReaction.run(row).changes === 1);
  }
  reactionsBy(portalKey: string, targetId: RemoteMessageId, sender: string) {
    return (this.q.reactionsBy.all(portalKey, targetId, sender) as Row[]).map(toReaction);
  }
  reactionByEvent(portalKey: string, eventId: MatrixEventId) {
    const r = this.q.reactionByEvent.get(eventId, portalKey) as Row | undefined;
    return r && toReaction(r);
  }
  deleteReaction(portalKey: string, eventId: MatrixEventId) {
    this.write(() => this.q.deleteReaction.run(eventId, portalKey));
  }

  addInbox(row: NewInboxRow) {
    const res = this.write(() => this.q.addInbox.run({ loginId: null, attempts: 0, ...row, now: Date.now() }));
    return res.changes === 1 ? Number(res.lastInsertRowid) : undefined;
  }
  pruneInbox(before: number) {
    return this.write(() => this.q.pruneInbox.run(before).changes);
  }
  getInbox(seq: number) {
    const r = this.q.getInbox.get(seq) as Row | undefined;
    return r && toInbox(r);
  }
  pendingInbox() {
    return (this.q.pendingInbox.all() as Row[]).map(toInbox);
  }
  markAttempt(seq: number) {
    this.write(() => this.q.markAttempt.run(seq));
  }
  finishInbox(seq: number, state: 'done' | 'failed', error?: string) {
    this.write(() => this.q.finishInbox.run(state, error ?? null, seq));
  }
  countInbox(state: 'pending' | 'done' | 'failed') {
    return (this.q.countInbox.get(state) as { n: number }).n;
  }
  matrixEventKnown(portalKey: string, eventId: string) {
    return this.q.matrixEventKnown.get(portalKey, eventId) !== undefined;
  }
  lastMatrixEventAt(portalKey: string) {
    return (this.q.lastMatrixEventAt.get(portalKey) as { at: number | null }).at ?? undefined;
  }

  markDelivered(eventIds: readonly string[]) {
    if (!eventIds.length) return;
    const now = Date.now();
    this.write(() => {
      for (const id of eventIds) this.q.markDelivered.run(id, now);
    });
  }
  wasDelivered(eventId: string) {
    return this.q.wasDelivered.get(eventId) !== undefined;
  }
  pruneDelivered(before: number) {
    return this.write(() => this.q.pruneDelivered.run(before).changes);
  }

  addTransaction(txnId: string, digest = '') {
    return this.write(() => this.q.addTxn.run({ txnId, digest, now: Date.now() }).changes === 1);
  }

  /** Resolves once the checkpoint worker has let go of the files too. */
  async close() {
    this.flush();
    const worker = this.checkpointer?.stop();
    if (this.db.open) this.db.close();
    await worker;
  }
}
