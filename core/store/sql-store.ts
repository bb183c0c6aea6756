/**
 * The Store over SQL: every rule of store.ts as statements prepared once, with bound
 * parameters (sql-statements.ts), through a synchronous driver (sql-driver.ts). The
 * SQLite store (sqlite.ts) and the PostgreSQL store (postgres/store.ts) are this class
 * with their own connection, migrations run, and maintenance.
 */
import type { LoginId, MatrixEventId, MatrixRoomId, MatrixUserId, NetworkId, RemoteMessageId } from '../ids.js';
import type { SqlDriver } from './sql-driver.js';
import { prepareStatements, type Statements } from './sql-statements.js';
import { Sealer } from './sealed.js';
import type { GhostRow, StoredIdentifier, LoginRow, MessagePart, NewInboxRow, PortalChange, PortalRow, ReactionRow, Store } from './store.js';
import { opt, PORTAL_CACHE_SIZE, PortalCache, toGhost, toInbox, toPart, toPortal, toReaction, type Row } from './sql-rows.js';

export interface SqlStoreOptions {
  /** Secret for encrypting login data at rest; plain JSON when absent. */
  loginDataKey?: string;
  /** Told how long each group commit took (seconds), for `/metrics`. */
  onCommit?: (seconds: number) => void;
}

export abstract class SqlStore implements Store {
  private readonly sealer: Sealer;
  private readonly q: Statements;
  private readonly onCommit: ((seconds: number) => void) | undefined;

  /** `driver`: connected, its schema migrated. */
  constructor(readonly driver: SqlDriver, opts: SqlStoreOptions) {
    this.sealer = new Sealer(opts.loginDataKey);
    this.onCommit = opts.onCommit;
    this.q = prepareStatements(driver);
  }

  abstract writable(): boolean;
  /** After secrets were overwritten: make sure no old copy lingers in freed space or logs. */
  protected abstract scrubFreedSpace(): void;

  transaction<T>(fn: () => T): T {
    try {
      return this.driver.transaction(fn);
    } catch (err) {
      // Rolled back: what the cache read inside it may not exist.
      this.portals.clear();
      this.roomPortals.clear();
      throw err;
    }
  }

  /** Portal rows by key, as read (portal rows change only through upsertPortal and updatePortal). */
  private readonly portals = new PortalCache(PORTAL_CACHE_SIZE);
  /** Portal keys by room, in creation order; forgotten whole on any portal write (rare next to events, which all ask). */
  private readonly roomPortals = new Map<MatrixRoomId, string[]>();
  private portalChanged(portalKey: string): void {
    this.portals.delete(portalKey);
    this.roomPortals.clear();
  }

  // ---------------------------------------------------------------- group commit

  /** `durable()` calls waiting for the open group to commit. */
  private waiting: { resolve: () => void; reject: (err: unknown) => void }[] = [];
  private groupOpen = false;

  /**
   * Every write joins one transaction per event-loop turn: it opens on the first write
   * and commits in a `setImmediate`, so a burst of events costs one commit, not one each.
   */
  private write<T>(fn: () => T): T {
    if (!this.driver.inTransaction) {
      this.driver.exec('BEGIN');
      this.groupOpen = true;
      setImmediate(() => this.flush());
    }
    return fn();
  }

  flush(): void {
    const waiting = this.waiting;
    if (this.groupOpen && this.driver.open) {
      this.groupOpen = false;
      this.waiting = [];
      const began = performance.now();
      try {
        this.driver.exec('COMMIT');
      } catch (err) {
        // The group's writes are not in the database: whoever waits for them is told, never acknowledged.
        for (const w of waiting) w.reject(err);
        throw err;
      }
      this.onCommit?.((performance.now() - began) / 1000);
    }
    this.waiting = [];
    for (const w of waiting) w.resolve();
  }

  durable(): Promise<void> {
    if (!this.groupOpen) return Promise.resolve();
    return new Promise((resolve, reject) => this.waiting.push({ resolve, reject }));
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
    const keys = this.roomPortals.get(roomId);
    if (keys) return keys.map((k) => this.getPortal(k)).filter((p) => p !== undefined);
    const rows = (this.q.portalsByRoom.all(roomId) as Row[]).map(toPortal);
    if (this.roomPortals.size >= PORTAL_CACHE_SIZE) this.roomPortals.clear();
    this.roomPortals.set(roomId, rows.map((p) => p.portalKey));
    return rows;
  }
  upsertPortal(row: PortalRow) {
    this.portalChanged(row.portalKey);
    this.write(() => this.q.insertPortal.run({
      receiver: null, roomId: null, name: null, topic: null, avatarMxc: null, ...row, relay: row.relay === false ? 0 : 1, direction: row.direction ?? 'both', now: Date.now(),
    }));
    return this.getPortal(row.portalKey)!;
  }
  updatePortal(portalKey: string, change: PortalChange) {
    this.portalChanged(portalKey);
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
    this.portalChanged(portalKey);
  }
  reassignSender(from: MatrixUserId, to: MatrixUserId) {
    this.write(() => this.q.reassignSender.run(to, from));
  }
  putGhost(row: GhostRow) {
    this.write(() => this.q.putGhost.run({ name: null, avatarMxc: null, avatarRef: null, ...row, registered: row.registered ? 1 : 0, firstSeen: Date.now() }));
  }
  *storedIdentifiers() {
    for (const r of this.q.storedIdentifiers.all() as Iterable<Row>) {
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
  /** Resolves once the login-data key is derived (in the background since the store opened). */
  loginKeyReady(): Promise<void> {
    return this.sealer.ready();
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
    this.scrubFreedSpace();
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
    const res = this.write(() => this.q.addInbox.get({ loginId: null, attempts: 0, ...row, now: Date.now() })) as { seq: number } | undefined;
    return res?.seq;
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
  parkedInbox(limit: number, network?: NetworkId) {
    return (this.q.parkedInbox.all({ limit, network: network ?? null }) as Row[]).map((r) => ({ ...toInbox(r), reason: (r.last_error as string | null) ?? '' }));
  }
  unpark(seq: number) {
    return this.write(() => this.q.unpark.run(seq).changes) ? this.getInbox(seq) : undefined;
  }
  dropParked(seq: number, note: string) {
    return this.write(() => this.q.dropParked.run(` (${note})`, seq).changes) > 0;
  }
  matrixEventKnown(portalKey: string, eventId: string) {
    return this.q.matrixEventKnown.get(portalKey, eventId) !== undefined;
  }
  lastMatrixEventAt(portalKey: string) {
    return (this.q.lastMatrixEventAt.get(portalKey) as { at: number | null }).at ?? undefined;
  }

  isRoomMember(roomId: MatrixRoomId, userId: MatrixUserId) {
    return this.q.isRoomMember.get(roomId, userId) !== undefined;
  }
  setRoomMember(roomId: MatrixRoomId, userId: MatrixUserId, member: boolean) {
    this.write(() => (member ? this.q.addRoomMember : this.q.removeRoomMember).run(roomId, userId));
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

  async close() {
    try {
      this.flush();
    } finally {
      if (this.driver.open) this.driver.close();
    }
  }
}
