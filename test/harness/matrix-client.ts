/**
 * A Matrix user for tests, over the Client-Server API the way a person's client uses
 * it: sync in the background, accept invites, send, edit, redact, react, reply, upload
 * and download media, and wait for events with a timeout that reports what did arrive.
 */
import { randomUUID } from 'node:crypto';

export interface MatrixEvent {
  event_id: string;
  room_id: string;
  type: string;
  sender: string;
  state_key?: string;
  content: Record<string, unknown>;
  origin_server_ts?: number;
  redacts?: string;
  unsigned?: Record<string, unknown>;
}

interface SyncRoom {
  timeline?: { events?: Omit<MatrixEvent, 'room_id'>[] };
  state?: { events?: Omit<MatrixEvent, 'room_id'>[] };
  ephemeral?: { events?: { type: string; content: Record<string, unknown> }[] };
}

interface SyncResponse {
  next_batch: string;
  rooms?: { join?: Record<string, SyncRoom>; invite?: Record<string, { invite_state?: { events?: Omit<MatrixEvent, 'room_id' | 'event_id'>[] } }> };
}

export class MatrixError extends Error {
  constructor(readonly status: number, readonly errcode: string | undefined, message: string) {
    super(message);
  }
}

const SYNC_FILTER = JSON.stringify({ room: { timeline: { limit: 1000 } } });

export class MatrixTestClient {
  /** Every timeline and state event seen, in sync order. */
  readonly events: MatrixEvent[] = [];
  /** Ephemeral events (typing, receipts) seen, with their room. */
  readonly ephemeral: { room_id: string; type: string; content: Record<string, unknown> }[] = [];
  /** Rooms we are invited to, with the inviter. */
  readonly invites = new Map<string, { inviter?: string; state: Omit<MatrixEvent, 'room_id' | 'event_id'>[] }>();
  private since: string | undefined;
  private syncing = false;
  private loop: Promise<void> | undefined;
  private waiters = new Set<() => void>();
  private syncError: Error | undefined;

  constructor(readonly baseUrl: string, readonly userId: string, private readonly accessToken: string) {}

  static async login(baseUrl: string, user: string, password: string): Promise<MatrixTestClient> {
    const res = await fetch(`${baseUrl}/_matrix/client/v3/login`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ type: 'm.login.password', identifier: { type: 'm.id.user', user }, password }),
    });
    const body = (await res.json()) as { user_id?: string; access_token?: string; error?: string };
    if (!res.ok || !body.access_token || !body.user_id) throw new MatrixError(res.status, undefined, `login as ${user} failed: ${JSON.stringify(body)}`);
    return new MatrixTestClient(baseUrl, body.user_id, body.access_token);
  }

  async request<T = Record<string, unknown>>(method: string, path: string, body?: unknown, headers: Record<string, string> = {}): Promise<T> {
    const res = await fetch(this.baseUrl + path, {
      method,
      headers: { authorization: `Bearer ${this.accessToken}`, ...(body !== undefined && !(body instanceof Uint8Array) && { 'content-type': 'application/json' }), ...headers },
      ...(body !== undefined && { body: body instanceof Uint8Array ? body : JSON.stringify(body) }),
    });
    const text = await res.text();
    const parsed = (text ? JSON.parse(text) : {}) as T & { errcode?: string; error?: string };
    if (!res.ok) throw new MatrixError(res.status, parsed.errcode, `${method} ${path}: ${res.status} ${parsed.errcode ?? ''} ${parsed.error ?? text}`);
    return parsed;
  }

  // ---------------------------------------------------------------- sync

  /** Start syncing in the background (from now: the initial sync fills history). */
  startSync(): void {
    if (this.syncing) return;
    this.syncing = true;
    this.loop = (async () => {
      while (this.syncing) {
        try {
          // A syncing client would set its user online; tests set presence themselves (setPresence).
          // A generous timeline limit: the default (10 per room per sync) drops events of a busy room from a sync as "limited".
          const q = new URLSearchParams({ timeout: '1000', set_presence: 'offline', filter: SYNC_FILTER, ...(this.since && { since: this.since }) });
          this.ingest(await this.request<SyncResponse>('GET', `/_matrix/client/v3/sync?${q}`));
        } catch (err) {
          if (!this.syncing) break;
          this.syncError = err as Error;
          await new Promise((r) => setTimeout(r, 250));
        }
      }
    })();
  }

  async stop(): Promise<void> {
    this.syncing = false;
    await this.loop;
  }

  private ingest(sync: SyncResponse): void {
    this.since = sync.next_batch;
    for (const [roomId, room] of Object.entries(sync.rooms?.join ?? {})) {
      for (const ev of [...(room.state?.events ?? []), ...(room.timeline?.events ?? [])]) this.events.push({ ...ev, room_id: roomId });
      for (const ev of room.ephemeral?.events ?? []) this.ephemeral.push({ room_id: roomId, ...ev });
      this.invites.delete(roomId);
    }
    for (const [roomId, invite] of Object.entries(sync.rooms?.invite ?? {})) {
      const state = invite.invite_state?.events ?? [];
      const me = state.find((e) => e.type === 'm.room.member' && e.state_key === this.userId);
      this.invites.set(roomId, { ...(me && { inviter: me.sender }), state });
    }
    for (const wake of [...this.waiters]) wake();
  }

  /**
   * Resolve with the first event (already seen or arriving within `timeoutMs`) that
   * `match` accepts. The error lists the event types that did arrive.
   */
  async waitFor(match: (ev: MatrixEvent) => boolean, what: string, timeoutMs = 20_000): Promise<MatrixEvent> {
    const found = await this.waitUntil(() => this.events.find(match), timeoutMs);
    if (found) return found;
    const seen = this.events.slice(-15).map((e) => `${e.type} from ${e.sender} in ${e.room_id}: ${JSON.stringify(e.content).slice(0, 120)}`);
    throw new Error(`${this.userId}: no ${what} within ${timeoutMs} ms${this.syncError ? ` (last sync error: ${this.syncError.message})` : ''}; last events:\n  ${seen.join('\n  ')}`);
  }

  /** Resolve with the first room we are invited to that `match` accepts. */
  async waitForInvite(match: (roomId: string, inviter?: string) => boolean = () => true, timeoutMs = 20_000): Promise<string> {
    const found = await this.waitUntil(() => [...this.invites].find(([id, i]) => match(id, i.inviter))?.[0], timeoutMs);
    if (!found) throw new Error(`${this.userId}: no invite within ${timeoutMs} ms`);
    return found;
  }

  /** Poll a condition after every sync, until it returns something or time is up. */
  async waitUntil<T>(check: () => T | undefined, timeoutMs: number): Promise<T | undefined> {
    this.startSync();
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const v = check();
      if (v !== undefined) return v;
      const left = deadline - Date.now();
      if (left <= 0) return undefined;
      await new Promise<void>((resolve) => {
        const wake = () => {
          this.waiters.delete(wake);
          clearTimeout(timer);
          resolve();
        };
        const timer = setTimeout(wake, left);
        this.waiters.add(wake);
      });
    }
  }

  // ---------------------------------------------------------------- acting

  async createRoom(body: Record<string, unknown> = {}): Promise<string> {
    return (await this.request<{ room_id: string }>('POST', '/_matrix/client/v3/createRoom', body)).room_id;
  }

  async join(roomId: string): Promise<void> {
    await this.request('POST', `/_matrix/client/v3/join/${encodeURIComponent(roomId)}`, {});
  }

  async invite(roomId: string, userId: string): Promise<void> {
    await this.request('POST', `/_matrix/client/v3/rooms/${encodeURIComponent(roomId)}/invite`, { user_id: userId });
  }

  /** Send an event; with the same `txnId` again (a retry after a lost answer) Synapse returns the same event. */
  async send(roomId: string, type: string, content: Record<string, unknown>, txnId: string = randomUUID()): Promise<string> {
    const path = `/_matrix/client/v3/rooms/${encodeURIComponent(roomId)}/send/${encodeURIComponent(type)}/${encodeURIComponent(txnId)}`;
    return (await this.request<{ event_id: string }>('PUT', path, content)).event_id;
  }

  /** A room's whole timeline as the server keeps it, oldest first (paginated /messages). */
  async history(roomId: string): Promise<MatrixEvent[]> {
    const all: MatrixEvent[] = [];
    let from: string | undefined;
    for (;;) {
      const q = new URLSearchParams({ dir: 'f', limit: '1000', ...(from && { from }) });
      const page = await this.request<{ chunk: MatrixEvent[]; end?: string }>('GET', `/_matrix/client/v3/rooms/${encodeURIComponent(roomId)}/messages?${q}`);
      all.push(...page.chunk.map((e) => ({ ...e, room_id: roomId })));
      if (!page.end || !page.chunk.length) return all;
      from = page.end;
    }
  }

  sendText(roomId: string, body: string, extra: Record<string, unknown> = {}): Promise<string> {
    return this.send(roomId, 'm.room.message', { msgtype: 'm.text', body, ...extra });
  }

  sendHtml(roomId: string, body: string, html: string): Promise<string> {
    return this.sendText(roomId, body, { format: 'org.matrix.custom.html', formatted_body: html });
  }

  reply(roomId: string, to: string, body: string): Promise<string> {
    return this.sendText(roomId, body, { 'm.relates_to': { 'm.in_reply_to': { event_id: to } } });
  }

  edit(roomId: string, target: string, body: string): Promise<string> {
    return this.sendText(roomId, `* ${body}`, { 'm.new_content': { msgtype: 'm.text', body }, 'm.relates_to': { rel_type: 'm.replace', event_id: target } });
  }

  react(roomId: string, target: string, key: string): Promise<string> {
    return this.send(roomId, 'm.reaction', { 'm.relates_to': { rel_type: 'm.annotation', event_id: target, key } });
  }

  async redact(roomId: string, eventId: string, reason?: string): Promise<string> {
    const path = `/_matrix/client/v3/rooms/${encodeURIComponent(roomId)}/redact/${encodeURIComponent(eventId)}/${randomUUID()}`;
    return (await this.request<{ event_id: string }>('PUT', path, reason ? { reason } : {})).event_id;
  }

  async setState(roomId: string, type: string, content: Record<string, unknown>, stateKey = ''): Promise<string> {
    const path = `/_matrix/client/v3/rooms/${encodeURIComponent(roomId)}/state/${encodeURIComponent(type)}/${encodeURIComponent(stateKey)}`;
    return (await this.request<{ event_id: string }>('PUT', path, content)).event_id;
  }

  async state<T = Record<string, unknown>>(roomId: string, type: string, stateKey = ''): Promise<T> {
    return this.request<T>('GET', `/_matrix/client/v3/rooms/${encodeURIComponent(roomId)}/state/${encodeURIComponent(type)}/${encodeURIComponent(stateKey)}`);
  }

  async profile(userId: string): Promise<{ displayname?: string; avatar_url?: string }> {
    return this.request('GET', `/_matrix/client/v3/profile/${encodeURIComponent(userId)}`);
  }

  async typing(roomId: string, typing: boolean): Promise<void> {
    await this.request('PUT', `/_matrix/client/v3/rooms/${encodeURIComponent(roomId)}/typing/${encodeURIComponent(this.userId)}`, { typing, ...(typing && { timeout: 10_000 }) });
  }

  async setPresence(presence: 'online' | 'unavailable' | 'offline', status?: string): Promise<void> {
    await this.request('PUT', `/_matrix/client/v3/presence/${encodeURIComponent(this.userId)}/status`, { presence, ...(status !== undefined && { status_msg: status }) });
  }

  async upload(bytes: Uint8Array, mime: string, name: string): Promise<string> {
    const path = `/_matrix/media/v3/upload?filename=${encodeURIComponent(name)}`;
    return (await this.request<{ content_uri: string }>('POST', path, bytes, { 'content-type': mime })).content_uri;
  }

  /** Download through the authenticated media API (the unauthenticated one is off). */
  async download(mxc: string): Promise<{ bytes: Uint8Array; mime: string | null }> {
    const m = /^mxc:\/\/([^/]+)\/([^/?#]+)$/.exec(mxc);
    if (!m) throw new Error(`not an mxc URI: ${mxc}`);
    const res = await fetch(`${this.baseUrl}/_matrix/client/v1/media/download/${m[1]}/${m[2]}`, { headers: { authorization: `Bearer ${this.accessToken}` } });
    if (!res.ok) throw new MatrixError(res.status, undefined, `download ${mxc}: ${res.status} ${await res.text()}`);
    return { bytes: new Uint8Array(await res.arrayBuffer()), mime: res.headers.get('content-type') };
  }
}
