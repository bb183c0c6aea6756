/**
 * The engine: owns the networks and their sessions, records every incoming event
 * durably (the inbox), and routes it onto its portal's serial queue, where a handler
 * per event kind does the work. Both directions share one queue per portal.
 */
import type { Logger, NetworkAdapter } from '../adapter.js';
import type { Config } from '../config.js';
import { loadNetworks } from '../networks.js';
import type { BridgeContext } from '../context.js';
import { isMatrixClientEvent, type MatrixClientEvent } from '../convert/matrix-types.js';
import type { RemoteEvent } from '../events.js';
import { wellFormed } from '../convert/unicode.js';
import { Ghosts } from '../identity/ghosts.js';
import { loginId as toLoginId, matrixRoomId, matrixUserId, portalKeyString, type LoginId, type MatrixEventId, type MatrixUserId, type PortalKey } from '../ids.js';
import { decodePayload, encodePayload, remoteDedupKey, transactionDigest } from './inbox-codec.js';
import type { MatrixSide } from '../matrix/side.js';
import { Naming } from '../identity/naming.js';
import { phoneIdentifiers } from '../identity/phone-config.js';
import { ignored, type Outcome } from './outcome.js';
import { InboxRunner, newRow, type RunnableRow } from './inbox-runner.js';
import { DmInvites } from '../accounts/dm-invites.js';
import { MediaLinks } from '../media/links.js';
import { GapRepair } from './gap-repair.js';
import { pruneOldRecords, PRUNE_EVERY_MS } from './housekeeping.js';
import { syncPortal } from '../portal/sync.js';
import { notifyDelayed, notifyDeliveredLate, notifyDeliveryFailure } from '../portal/matrix/notify.js';
import { handleMatrixEvent } from '../portal/matrix/index.js';
import { planEvent, type EventPlan } from './plan.js';
import { handleRemoteEvent } from '../portal/remote/index.js';
import { OwnSends } from './own-sends.js';
import { notifyRemoteFailure } from '../portal/remote/notify.js';
import { matrixReceipt, matrixTyping } from '../portal/matrix/ephemeral.js';
import { matrixPresence } from '../portal/matrix/presence.js';
import { Rooms } from '../portal/rooms.js';
import { KeyedQueue } from './queue.js';
import { Sessions, type LiveLogin } from '../accounts/sessions.js';
import { askAboutContact } from '../accounts/contact-requests.js';
import type { InboxRow, PortalRow, Store } from '../store/store.js';
import { Commands } from '../commands/index.js';
import { LoginManager } from '../accounts/logins.js';
import { LoginLifecycle } from '../accounts/login-lifecycle.js';
import { Metrics } from '../metrics/metrics.js';
import type { Encryption } from '../crypto/encryption.js';
import { EncryptedEvents } from './encrypted-events.js';

/** Events of these kinds are not worth a durable record: stale by the time we could replay them. */
const EPHEMERAL = new Set<RemoteEvent['type']>(['typing', 'receipt']);

export interface EngineOptions {
  config: Config;
  store: Store;
  matrix: MatrixSide;
  adapters: NetworkAdapter[];
  log: Logger;
  version?: string;
  /**
   * The key behind phone-number pseudonyms (identity/phone.ts): `bridge.identifiers_secret`,
   * else derived from the login data key by the caller. Tests may leave it out.
   */
  identifiersSecret?: string;
  /** Where the pipeline counts what it does (`/metrics`); a private registry when left out. */
  metrics?: Metrics;
  /** End-to-bridge encryption (`encryption.allow`); encrypted events are not bridged without it. */
  encryption?: Encryption;
}

export class Engine {
  readonly ctx: BridgeContext;
  private readonly queue: KeyedQueue;
  private readonly commands: Commands;
  /** The login step machine shared by bot commands and the provisioning API. */
  readonly logins: LoginManager;
  private readonly lifecycle: LoginLifecycle;
  /** Until start(), transactions are only recorded; start() replays them with the rest of the inbox. */
  private started = false;
  private readonly earlyDirect: MatrixClientEvent[] = [];
  private readonly runner: InboxRunner;
  /** Events the homeserver dropped instead of sending (gap-repair.ts). */
  private readonly gaps: GapRepair;
  private pruneTimer: NodeJS.Timeout | undefined;
  readonly metrics: Metrics;
  private readonly encrypted: EncryptedEvents;

  constructor(opts: EngineOptions) {
    const { config, store, matrix, log } = opts;
    const naming = new Naming(config, phoneIdentifiers(config, opts.identifiersSecret));
    naming.resolvePseudonymsWith((userId) => {
      const ghost = store.getGhost(userId);
      return ghost && { network: ghost.network, remote: ghost.remoteId };
    });
    const ghosts = new Ghosts(store, matrix, naming, config.bridge.max_media_bytes, log.child({ part: 'ghosts' }));
    const rooms = new Rooms(store, matrix, naming, ghosts, log.child({ part: 'rooms' }), opts.encryption?.encryptNewRooms ?? false);
    const media = config.public_media;
    const mediaLinks = media.enabled ? new MediaLinks({ url: media.url!, signingKey: media.signing_key!, expirySeconds: media.expiry_s }) : undefined;
    this.ctx = { config, store, matrix, naming, ghosts, rooms, sessions: new Sessions(), invites: new DmInvites(), ownSends: new OwnSends(), log, ...(mediaLinks && { mediaLinks }), ...(opts.encryption && { encryption: opts.encryption }) };
    this.gaps = new GapRepair(this.ctx);
    this.queue = new KeyedQueue((key, err) => log.error({ portal: key, err: String(err) }, 'queue job failed unexpectedly'));
    const retry = config.bridge.retry;
    this.metrics = opts.metrics ?? new Metrics();
    this.metrics.sample({
      inbox: () => ({ pending: store.countInbox('pending'), parked: store.countInbox('failed') }),
      queues: () => this.queue.depths(),
      logins: () => this.ctx.sessions.all().map((l) => ({ network: l.login.network, state: l.state.state })),
    });
    this.runner = new InboxRunner(store, log.child({ part: 'inbox' }), { maxAttempts: retry.max_attempts, baseMs: retry.base_delay_ms, maxMs: retry.max_delay_ms }, this.metrics, () => matrix.homeserverAnswers());
    this.lifecycle = new LoginLifecycle(this.ctx, { onEvent: (live, ev) => this.onRemoteEvent(live, ev), sleep: (ms) => this.runner.sleep(ms) });
    this.logins = new LoginManager(this.ctx, { addLogin: (row) => this.lifecycle.add(row), removeLogin: (id) => this.lifecycle.remove(id) });
    this.commands = new Commands(this.ctx, { logins: this.logins, version: opts.version ?? 'dev', syncPortal: (p) => this.syncPortal(p), retryParked: (seqs) => this.retryParked(seqs) });
    this.encrypted = new EncryptedEvents(this.ctx, this.commands);
    this.loadNetworks(opts.adapters);
  }

  private loadNetworks(adapters: NetworkAdapter[]): void {
    for (const network of loadNetworks(this.ctx.config, adapters)) this.ctx.sessions.addNetwork(network);
  }

  /** Create sessions for every login (configured and stored), connect them, replay the inbox. */
  async start(): Promise<void> {
    for (const network of this.ctx.sessions.allNetworks()) {
      await network.adapter.start?.(network.config, this.ctx.log.child({ network: network.id }));
    }
    this.lifecycle.startAll();
    this.started = true;
    // The homeserver may have restarted while we were down, dropping events meant for us.
    this.gaps.arm('bridge start');
    this.askForHeldTransactions();
    pruneOldRecords(this.ctx);
    this.pruneTimer = setInterval(() => pruneOldRecords(this.ctx), PRUNE_EVERY_MS);
    this.pruneTimer.unref();
    this.replayInbox();
    for (const ev of this.earlyDirect.splice(0)) this.queue.push(`room/${ev.room_id}`, () => this.commands.handle(ev));
  }

  /**
   * A homeserver that could not reach us retries on a backoff that grows to minutes; a
   * successful ping (MSC2659) makes Synapse 1.132+ send what it held at once, so the backlog
   * of an outage starts draining when we start, not at its next retry. Best effort.
   */
  private askForHeldTransactions(): void {
    void this.ctx.matrix.pingHomeserver().then(
      (ms) => this.ctx.log.info({ roundTripMs: ms }, 'the homeserver answered our ping: it sends what it held for us now'),
      (err: unknown) => this.ctx.log.info({ err: String(err) }, 'the homeserver did not answer our ping; it sends what it held at its next retry'),
    );
  }

  // ------------------------------------------------------------------ remote -> Matrix

  /** The portal key for a remote event seen by a login. */
  private portalKeyFor(live: LiveLogin, chat: { id: PortalKey['chat']; kind: 'dm' | 'group' }): PortalKey {
    return chat.kind === 'dm'
      ? { network: live.login.network, chat: chat.id, receiver: live.login.loginId }
      : { network: live.login.network, chat: chat.id };
  }

  /** EventSink.emit: durable record (sync), then queued. Resolves once recorded. */
  private async onRemoteEvent(live: LiveLogin, raw: RemoteEvent): Promise<void> {
    const { store, log } = this.ctx;
    // A lone surrogate has no UTF-8 form (the homeserver would refuse the event with a 500).
    const ev = wellFormed(raw);
    if (ev.chat === undefined) {
      this.queue.push(`user/${live.login.network}/${ev.type === 'user-info' ? ev.info.id : ev.type === 'presence' ? ev.user : ev.user.id}`, () => this.onUserEvent(live, ev));
      return;
    }
    const key = this.portalKeyFor(live, ev.chat);
    const portalKey = portalKeyString(key);
    const portal = store.getPortal(portalKey) ?? store.upsertPortal({ portalKey, network: key.network, chatId: key.chat, ...(key.receiver && { receiver: key.receiver }), kind: ev.chat.kind });
    if (portal.direction === 'out') return; // linked "from the room only"
    if ('sender' in ev && live.network.section.ignore_users.includes(ev.sender.id)) {
      // Another bridge or bot in the same chat: relaying it would ping-pong.
      log.debug({ portal: portalKey, sender: ev.sender.id }, 'sender on the ignore list');
      return;
    }
    if (EPHEMERAL.has(ev.type)) {
      this.queue.push(portalKey, () => this.runRemote(portal, live, ev).then(() => undefined));
      return;
    }
    // Our own send echoed back by the network: not worth a record (its mapping is in this commit group).
    if (ev.type === 'message' && this.ctx.ownSends.isOwn(portalKey, ev.id)) return store.durable();
    const seq = store.addInbox({ direction: 'remote', portalKey, dedupKey: remoteDedupKey(ev), loginId: live.login.loginId, payload: encodePayload(ev), attempts: 1 });
    if (seq === undefined) {
      log.debug({ portal: portalKey, type: ev.type }, 'duplicate remote event dropped');
      return;
    }
    const row = newRow(seq, portalKey, 'remote'); // now, not when its turn comes: its age (key waits, latency) counts from arrival
    this.queue.push(portalKey, () => this.processRemote(row, live.login.loginId, ev));
    // The adapter may acknowledge the event to its network once this resolves: committed, not just written.
    await store.durable();
  }

  private async processRemote(row: RunnableRow, loginId: LoginId, ev: RemoteEvent): Promise<void> {
    const live = this.ctx.sessions.get(loginId);
    const portal = this.ctx.store.getPortal(row.portalKey);
    if (!live || !portal) {
      this.ctx.store.finishInbox(row.seq, 'failed', live ? 'portal vanished' : `login ${loginId} no longer exists`);
      return;
    }
    // Waiting for the homeserver: it may restart meanwhile and drop events it owed us.
    await this.runner.run(row, () => this.runRemote(portal, live, ev), {
      delayed: async () => this.gaps.arm('the homeserver was unreachable'),
      parked: (reason) => notifyRemoteFailure(this.ctx, portal, ev, reason),
    }, 'timestamp' in ev ? ev.timestamp : undefined);
  }

  private async runRemote(portal: PortalRow, live: LiveLogin, ev: RemoteEvent): Promise<Outcome> {
    const outcome = await handleRemoteEvent(this.ctx, portal, live, ev);
    this.logOutcome(outcome, { portal: portal.portalKey, direction: 'remote', type: ev.type, ...('id' in ev && ev.id && { remoteId: ev.id }) });
    return outcome;
  }

  private async onUserEvent(live: LiveLogin, ev: Extract<RemoteEvent, { chat?: undefined }>): Promise<void> {
    try {
      if (ev.type === 'contact-request') {
        await askAboutContact(this.ctx, live, ev);
      } else if (ev.type === 'user-info') {
        await this.ctx.ghosts.update(live.login.network, ev.info, live.session);
      } else {
        const ghost = await this.ctx.ghosts.ensure(live.login.network, { id: ev.user }, live.session);
        await this.ctx.matrix.setPresence(ghost, ev.state, ev.status);
      }
    } catch (err) {
      this.ctx.log.warn({ login: live.login.loginId, type: ev.type, err: String(err) }, 'user event not bridged');
    }
  }

  /**
   * `sync`: ask the network for the chat as it is now and run that through the portal's
   * queue like any chat-info event, then refresh the profiles of the members it lists.
   */
  syncPortal(portal: PortalRow): Promise<string> {
    return syncPortal(this.ctx, portal, (live, ev) => this.onRemoteEvent(live, ev));
  }

  // ------------------------------------------------------------------ Matrix -> remote

  /** A transaction's events with those the homeserver skipped put back in place; call before `handleTransaction`. */
  repairGaps(txnId: string, events: unknown[]): Promise<unknown[]> {
    return this.gaps.fill(txnId, events);
  }

  /**
   * One appservice transaction. Synchronous on purpose: when it returns, every event
   * is in the inbox (or known to be a duplicate), so the listener may answer 200.
   * A bad event is recorded and skipped; it never fails the transaction.
   */

  handleTransaction(txnId: string, rawEvents: unknown[], rawEphemeral: unknown[] = []): void {
    const { store, naming, log } = this.ctx;
    // JSON may carry lone surrogates as \u escapes: no code behind this line sees one.
    const events = wellFormed(rawEvents);
    const ephemeral = wellFormed(rawEphemeral);
    const queued: [number, string, MatrixClientEvent][] = [];
    const direct: MatrixClientEvent[] = [];
    let fresh = false;
    store.transaction(() => {
      // By id and contents: a homeserver may reuse ids after its own restart (Synapse on SQLite does).
      if (!store.addTransaction(txnId, transactionDigest(events, ephemeral))) return;
      fresh = true;
      // Delivered, whatever becomes of them below: gap repair must never take these for skipped ones.
      store.markDelivered(events.filter(isMatrixClientEvent).filter((e) => !naming.isBridgeUser(e.sender)).map((e) => e.event_id));
      for (const raw of events) {
        if (!isMatrixClientEvent(raw)) {
          log.warn({ txnId, event: JSON.stringify(raw).slice(0, 200) }, 'malformed event skipped');
          continue;
        }
        let plan: EventPlan;
        try {
          plan = planEvent(this.ctx, raw);
        } catch (err) {
          // One event the bridge cannot read must not fail the transaction: it would come back for ever.
          log.error({ txnId, eventId: raw.event_id, err: err instanceof Error ? err.stack : String(err) }, 'event could not be read; skipped');
          continue;
        }
        if (plan.kind === 'direct') direct.push(raw);
        if (plan.kind !== 'bridge') continue;
        for (const portal of plan.targets) {
          // Recorded as attempted from the start, so that no commit has to come between an
          // attempt and its send: a live attempt knows the truth in memory (newRow), and a
          // replay after a crash treats every pending Matrix event as possibly sent.
          const seq = store.addInbox({ direction: 'matrix', portalKey: portal.portalKey, dedupKey: raw.event_id, payload: JSON.stringify(raw), attempts: 1 });
          if (seq !== undefined) queued.push([seq, portal.portalKey, raw]);
        }
      }
    });
    // The listener answers 200 when this returns: commit the group now, not at the end of the turn.
    store.flush();
    if (!this.started) {
      this.earlyDirect.push(...direct);
      return;
    }
    // Recorded and committed: from here on nothing may fail the transaction (the homeserver
    // would send it again and it would be taken for a repeat). Ephemeral events are not recorded.
    for (const [portalKey, row, ev] of queued.map(([seq, key, ev]) => [key, newRow(seq, key, 'matrix'), ev] as const)) this.queue.push(portalKey, () => this.processMatrix(row, ev));
    for (const ev of direct) this.queue.push(`room/${ev.room_id}`, () => this.encrypted.forBot(ev));
    if (fresh) {
      try {
        this.queueEphemeral(ephemeral);
      } catch (err) {
        log.warn({ txnId, err: String(err) }, 'ephemeral events skipped');
      }
    }
  }

  /** Typing, receipts and presence from Matrix users: not recorded (stale on replay); typing and receipts queued behind the room's events. */
  private queueEphemeral(ephemeral: unknown[]): void {
    for (const raw of ephemeral) {
      if (!raw || typeof raw !== 'object') continue;
      const ev = raw as { type?: unknown; room_id?: unknown; sender?: unknown; content?: Record<string, unknown> };
      if (ev.type === 'm.presence' && typeof ev.sender === 'string' && ev.content && typeof ev.content === 'object') {
        const { sender, content } = ev;
        this.queue.push(`presence/${sender}`, () => matrixPresence(this.ctx, sender, content));
        continue;
      }
      if (typeof ev.room_id !== 'string' || !ev.content || typeof ev.content !== 'object') continue;
      for (const portal of this.ctx.store.portalsByRoom(matrixRoomId(ev.room_id))) {
        const roomId = ev.room_id;
        const content = ev.content;
        if (ev.type === 'm.typing' && Array.isArray(content.user_ids)) {
          this.queue.push(portal.portalKey, () => matrixTyping(this.ctx, portal, roomId, content.user_ids as string[]));
        } else if (ev.type === 'm.receipt') {
          this.queue.push(portal.portalKey, () => matrixReceipt(this.ctx, portal, content));
        }
      }
    }
  }

  private async processMatrix(row: RunnableRow, ev: MatrixClientEvent): Promise<void> {
    const portal = this.ctx.store.getPortal(row.portalKey);
    if (!portal) {
      this.ctx.store.finishInbox(row.seq, 'failed', 'portal vanished');
      return;
    }
    const eventId = ev.event_id as MatrixEventId;
    const sender = ev.sender as MatrixUserId;
    await this.runner.run(row, async (attempt) => {
      const clear = await this.encrypted.forPortal(ev, row.createdAt);
      if (!clear) return ignored('a bridge command (encrypted), answered by the bot');
      const outcome = await handleMatrixEvent(this.ctx, portal, clear, attempt);
      this.logOutcome(outcome, { portal: row.portalKey, direction: 'matrix', type: ev.type, eventId: ev.event_id });
      return outcome;
    }, {
      delayed: (reason) => notifyDelayed(this.ctx, portal, eventId, sender, reason),
      deliveredLate: () => notifyDeliveredLate(this.ctx, portal, eventId),
      parked: (reason) => notifyDeliveryFailure(this.ctx, portal, eventId, sender, reason),
    }, typeof ev.origin_server_ts === 'number' ? ev.origin_server_ts : undefined);
  }

  // ------------------------------------------------------------------ shared

  /** Queue every pending inbox row again, in order (after a crash or a stop mid-retry). */
  private replayInbox(): void {
    for (const row of this.ctx.store.pendingInbox()) this.replayRow(row);
  }

  /** Parked rows back to pending, each at the end of its portal's queue; returns how many were parked. */
  retryParked(seqs: readonly number[]): number {
    let n = 0;
    for (const seq of seqs) {
      const row = this.ctx.store.unpark(seq);
      if (!row) continue;
      this.replayRow(row);
      n++;
    }
    return n;
  }

  private replayRow(row: InboxRow): void {
    if (row.direction === 'matrix') {
      const ev = JSON.parse(row.payload) as MatrixClientEvent;
      this.queue.push(row.portalKey, () => this.processMatrix(row, ev));
    } else {
      const ev = decodePayload(row.payload);
      this.queue.push(row.portalKey, () => this.processRemote(row, row.loginId ?? toLoginId(''), ev));
    }
  }

  private logOutcome(outcome: Outcome, fields: Record<string, unknown>): void {
    if (outcome.status === 'ok') this.ctx.log.debug(fields, 'bridged');
    else if (outcome.status === 'ignored') this.ctx.log.debug({ ...fields, reason: outcome.reason }, 'ignored');
    else this.ctx.log.warn({ ...fields, reason: outcome.reason }, 'not delivered');
  }

  /** Wait until every queued event has been handled (tests, benchmarks, shutdown). */
  idle(): Promise<void> {
    return this.queue.idle();
  }

  /** Stop: no new work, cancel retry waits, finish what is running, disconnect sessions. */
  async stop(): Promise<void> {
    clearInterval(this.pruneTimer);
    this.lifecycle.stop();
    await this.logins.stop();
    this.runner.stop();
    await this.queue.idle();
    await Promise.all(this.ctx.sessions.all().map((l) => l.session.disconnect().catch(() => undefined)));
    await Promise.all(this.ctx.sessions.allNetworks().map((n) => n.adapter.stop?.().catch(() => undefined)));
  }
}

