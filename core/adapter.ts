/**
 * The adapter contract: what every network (bridges/<network>/) implements, and the
 * only part of the core, with events.ts and ids.ts, that an adapter may import.
 *
 * Life of an adapter: the engine calls `parseConfig` once at start-up, then
 * `createSession` once per login, then `connect()`. The session pushes what happens
 * on the remote network into its `EventSink`; the engine calls `send` for what should
 * happen there. Adapters know nothing of Matrix.
 */
import type { AttachmentKind, ChatInfo, FormatKind, MessageContent, OutboundEvent, PresenceState, RemoteEvent, SendResult, UserInfo } from './events.js';
import type { LoginId, NetworkId, RemoteChatId, RemoteMessageId, RemoteUserId } from './ids.js';

/**
 * What `send` (or `fetchMedia`) rejects with when the failure is not this event's fault:
 * `{ outage: true }` when the network is down or rate limiting as a whole (the core waits,
 * holding only that chat's queue, and tells the sender once), `retryAfterMs` when the
 * network said how long to wait. Any other rejection is retried and, after
 * `bridge.retry.max_attempts`, parked.
 */
export { TransientError } from './pipeline/outcome.js';

/**
 * What a network can do, declared once, read by the core before it calls anything.
 * The core picks a fallback for whatever is false (an edit becomes "* new text", a
 * reaction a short notice or nothing, a long text is split, big media becomes a link).
 */
export interface Capabilities {
  edits: boolean;
  deletes: boolean;
  /** `any`: any string; `emoji`: only emoji; a list: only those keys. */
  reactions: 'none' | 'any' | 'emoji' | readonly string[];
  /**
   * How many reactions one person may have on one message (Telegram: 1 for a bot). The
   * core keeps at most this many from a person of this network, whatever a stanza
   * claims (default 20, `DEFAULT_MAX_REACTIONS`).
   */
  maxReactionsPerUser?: number;
  replies: boolean;
  typing: boolean;
  receipts: boolean;
  presence: boolean;
  /** Longest text one message may carry, in UTF-16 code units; longer text is split. */
  maxTextLength: number;
  /** The formatting the network renders; other spans are dropped (their text stays). */
  formatting: readonly FormatKind[];
  /** Attachment kinds the network takes and the size cap of each; missing kinds become links or files. */
  media: Partial<Record<AttachmentKind, { maxBytes: number }>>;
  /** Whether the bridge may rename a remote chat or change its topic. */
  chatInfo: { name: boolean; topic: boolean };
  /**
   * A gateway's own rooms show every Matrix member as themselves (an occupant of a MUC it
   * hosts): the relay login carries everyone's messages there, each with `relayedFor`,
   * and no name template is put in front of the text.
   */
  speaksAs?: boolean;
}

/** How a login's connection is doing; reported through `EventSink.state`. */
export type ConnectionState =
  | { state: 'connecting' }
  | { state: 'connected' }
  /** Lost, and the session is trying again by itself; `retryInMs` when known. */
  | { state: 'transient-error'; reason: string; retryInMs?: number }
  /** Will not work until a person acts (wrong password, banned, token revoked). */
  | { state: 'bad-credentials'; reason: string }
  | { state: 'disconnected' };

/** Minimal structured logger (pino-compatible). Never pass a secret in `fields`. */
export interface Logger {
  debug(fields: object, msg: string): void;
  info(fields: object, msg: string): void;
  warn(fields: object, msg: string): void;
  error(fields: object, msg: string): void;
  child(fields: object): Logger;
}

/** Who a login conversation is for: the Matrix user, as an opaque `@local:server` string. */
export interface LoginOwner {
  id: string;
}

/** One remote account the bridge drives, as the adapter sees it. */
export interface LoginInfo {
  id: LoginId;
  network: NetworkId;
  /** `puppet`: a person's own account; `relay`: a bridge-owned account that speaks for others. */
  kind: 'puppet' | 'relay';
  /** The login's own user on the remote network, once known. */
  remoteUser?: RemoteUserId;
  /** Adapter-owned state (credentials, tokens, offsets). Stored encrypted by the core. */
  data: Readonly<Record<string, unknown>>;
}

/** A login that exists because of configuration. */
export interface ConfiguredLogin extends LoginInfo {
  /** The Matrix user it belongs to, as written in config (opaque to the adapter); none for relays. */
  owner?: string;
}

/** Given to each session; the session's only way to talk to the core. */
export interface EventSink {
  /**
   * Hand one remote event to the core. May be called from any callback, any number of
   * times, in the network's order. Resolves once the event is durably recorded: only
   * then may the adapter acknowledge it to its network (stream-management ack, update
   * offset). Rejects if it could not be recorded; the adapter should not acknowledge.
   */
  emit(event: RemoteEvent): Promise<void>;
  /** Report the connection state; cheap, call it on every change. */
  state(state: ConnectionState): void;
  /** Replace the login's adapter-owned data (refreshed token, new offset). Durable when it resolves. */
  persist(data: Record<string, unknown>): Promise<void>;
  /**
   * Put a long text where people on the network can read it (the bridge's public media
   * links, `public_media`), for networks where a long message is unwelcome (IRC). Resolves
   * with the link, or undefined when the bridge serves no links. Does I/O.
   */
  publishText?(text: string, name: string): Promise<string | undefined>;
  /**
   * For gateways, which offer the bridge's own Matrix rooms to their network (an XMPP MUC
   * service): the room with address `alias` (`#room:server`), linked as `chat` (the
   * adapter's id for it) when it may be offered, which is when its join rule is public.
   * Only a relay login may host. Does I/O.
   */
  hostedChat?(alias: string, chat: RemoteChatId): Promise<HostedChat>;
  /**
   * For gateways: the newest `limit` messages of a hosted room (linked by `hostedChat`),
   * oldest first, from the room itself, so people joining from the network see what was
   * said before. Edits are shown in their latest form; deleted messages are left out. Does I/O.
   */
  hostedHistory?(chat: RemoteChatId, limit: number): Promise<HostedMessage[]>;
  /**
   * For gateways: a Matrix user's profile, to show on the network (an XMPP vCard): their
   * display name, and their avatar when it is at most `maxAvatarBytes`. Does I/O.
   */
  matrixProfile?(matrixId: string, maxAvatarBytes: number): Promise<{ name?: string; avatar?: { bytes: Uint8Array; mime: string } }>;
  log: Logger;
}

/** A Matrix room as a gateway shows it (`EventSink.hostedChat`), or why it cannot. */
export type HostedChat =
  | { ok: true; name?: string; topic?: string; members: HostedMember[] }
  | { ok: false; reason: 'not-found' | 'forbidden'; text: string };

/** One message of a hosted room's history. `id` is the message's id on the network (what replies and reactions name). */
export interface HostedMessage {
  id: RemoteMessageId;
  /** A Matrix member (`matrix`: `id` is their Matrix ID), or one of the network's own people (`network`). */
  sender: { kind: 'matrix' | 'network'; id: string; name: string };
  content: MessageContent;
  timestamp: number;
}

/** A member of a hosted room: `id` is their Matrix ID (opaque, stable), `name` their display name there. */
export interface HostedMember {
  id: string;
  name: string;
}

/**
 * Which send this is, stable across retries and bridge restarts. The core records every
 * attempt before it calls `send`, so after a crash it knows whether an earlier attempt
 * may have reached the network before its result was recorded.
 */
export interface Delivery {
  /**
   * The same for every attempt of this send, different for every other send; at most 40
   * characters of [A-Za-z0-9_-]. Use it as the network's client message id where there is
   * one (XMPP origin-id, a client nonce) so the network or the adapter can recognise a resend.
   */
  key: string;
  /** An earlier attempt may have reached the network: check before sending again, where the network allows. */
  maybeSent: boolean;
  /** When the bridge first received the event (ms since epoch): where such a check may start looking. */
  since: number;
}

/** The live connection of one login. */
export interface AdapterSession {
  /**
   * Open the connection. Called once by the engine after `createSession`, and again
   * after `disconnect`. Does I/O. Resolves when connected; rejects with a reason if the
   * first attempt failed (the engine retries with backoff unless the state reported
   * was `bad-credentials`). After it resolves, the session reconnects by itself and
   * reports through `EventSink.state`.
   */
  connect(): Promise<void>;
  /** Close the connection and stop reconnecting. Does I/O. Must not reject. */
  disconnect(): Promise<void>;
  /**
   * Make one event happen on the remote network. Called from the portal's queue, so
   * calls for one chat never overlap. Does I/O. Resolves with what happened; rejects
   * only for a transient failure (the engine retries later). `delivery` identifies this
   * send across retries and restarts, so a network that can tell "already got it" may
   * avoid a duplicate (see `Delivery`).
   */
  send(event: OutboundEvent, delivery?: Delivery): Promise<SendResult>;
  /** Look up a chat. Does I/O. Rejects if the chat is unknown or unreachable. */
  getChatInfo(chat: RemoteChatId): Promise<ChatInfo>;
  /** Look up a user's profile. Does I/O. Rejects if the user is unknown or unreachable. */
  getUserInfo(user: RemoteUserId): Promise<UserInfo>;
  /**
   * Fetch the bytes behind an attachment whose source is `{kind: 'remote'}`. Does I/O.
   * Must stop and reject once more than `maxBytes` arrived.
   */
  fetchMedia(ref: string, maxBytes: number): Promise<Uint8Array>;
  /**
   * Optional, for networks where bridging a group needs its own admins' consent: start
   * waiting for someone who controls `chat` to post `code` there. No I/O until a message
   * arrives. `proof` resolves with who confirmed; it rejects when `signal` aborts (time
   * out, shutdown). The core refuses the link until then.
   */
  proveChatControl?(chat: RemoteChatId, code: string, signal: AbortSignal): ChatControlProof;
  /**
   * Optional, for relay accounts people can write to directly (a Telegram bot): a link or
   * instruction that opens a direct chat with this account carrying `code` ([A-Za-z0-9_-],
   * at most 32 characters). When someone uses it, emit `dm-invite-accepted` with the code
   * in their DM chat, and from then on emit that person's direct messages (keep who, in
   * your login data). No I/O.
   */
  directInvite?(code: string): DirectInvite;
  /**
   * Optional, for a person's own login (never a relay): their Matrix presence changed
   * (`unavailable` is Matrix's "away"), with their status message if they set one.
   * Called on changes only. Does I/O. Rejects only for a transient failure (the core
   * logs it; the next change is sent as usual). Keep the last one for reconnects.
   */
  setPresence?(presence: OwnPresence): Promise<void>;
  /**
   * Optional, for networks whose servers differ (IRCv3 capabilities): what this connection
   * can do right now, for a send as itself or (`relayed`) for a Matrix user it speaks for.
   * Narrows the adapter's declared `capabilities`, never widens them (core/capabilities.ts).
   * No I/O.
   */
  capabilitiesNow?(relayed: boolean): ConnectionCapabilities;
  /**
   * Optional, for networks where people ask to become a login's contact (`contact-request`):
   * the owner's answer. Does I/O. Rejects with an Error whose message the owner is shown.
   */
  answerContactRequest?(user: RemoteUserId, allow: boolean): Promise<void>;
  /**
   * Optional: the owner refuses everything from `target` from now on (`blocked`), or takes
   * that back. `target` is what the person typed: one user, or a whole server where the
   * network has servers. Resolves with a one-line description of what is now refused;
   * rejects with an Error saying what is wrong with `target`. Does I/O (persist).
   */
  block?(target: string, blocked: boolean): Promise<string>;
}

/** The part of `Capabilities` a connection may narrow (see `AdapterSession.capabilitiesNow`). */
export type ConnectionCapabilities = Partial<Pick<Capabilities, 'edits' | 'deletes' | 'reactions' | 'replies' | 'typing'>>;

/** A Matrix user's own presence, for their login on a network. */
export interface OwnPresence {
  state: PresenceState;
  /** One line, at most 200 characters (the core cuts longer ones). */
  status?: string;
}

/** How a person on the network starts a direct chat with a relay account. */
export interface DirectInvite {
  /** A link that opens the chat, e.g. https://t.me/some_bot?start=CODE. */
  link: string;
  /** What to tell the person who receives the link, if the link alone is not enough. */
  instructions?: string;
}

/** What a person must do on the network to confirm a link, and the wait for it. */
export interface ChatControlProof {
  /** For the person asking, e.g. "An admin of the group must send: /link 4F7Q2X". */
  instructions: string;
  proof: Promise<RemoteUserId>;
}

/** One step of a login conversation; the same steps serve bot commands and the HTTP API. */
export type LoginStep =
  /** Ask the person for these fields; `secret` fields are redacted from chat once read. */
  | { type: 'fields'; instructions: string; fields: { id: string; label: string; secret?: boolean }[] }
  /** Show a code or link the person must use elsewhere, then wait. */
  | { type: 'show-code'; instructions: string; code: string }
  /** Done: the core stores a login with this remote user and data. */
  | { type: 'complete'; remoteUser: RemoteUserId; displayName?: string; data: Record<string, unknown> }
  | { type: 'failed'; reason: string };

/** A login conversation in progress. */
export interface LoginFlow {
  /** First step. May do I/O. */
  start(): Promise<LoginStep>;
  /** Answer to the last `fields` step (or `{}` to poll after `show-code`). May do I/O. */
  submit(input: Record<string, string>): Promise<LoginStep>;
  /** Abandon the flow and free what it holds. Must not reject. */
  cancel(): Promise<void>;
}

/** One network implementation; one instance per configured network per process. */
export interface NetworkAdapter<Config = unknown> {
  /** Default network id, also the default `networks.<id>` config key. */
  readonly network: NetworkId;
  /** Human-readable name, for `m.bridge` and help texts. */
  readonly displayName: string;
  readonly capabilities: Capabilities;
  /**
   * Validate this network's config section. Called once at start-up and by
   * `check-config`. No I/O. Throws an Error whose message names the bad key and the fix.
   */
  parseConfig(raw: unknown): Config;
  /**
   * Logins that exist because of configuration (a relay bot token in config). Called
   * once at start-up, no I/O. Ids must be stable across restarts.
   */
  configuredLogins(config: Config): ConfiguredLogin[];
  /** Build a session for a login. No I/O: the engine calls `connect()` when it is ready. */
  createSession(login: LoginInfo, config: Config, sink: EventSink): AdapterSession;
  /**
   * Optional: check a chat identifier a person typed (`link <network> <chat>`) against
   * the protocol's rules and return it normalised. No I/O. Throw an Error whose message
   * says what is wrong. The core has already refused control characters and spaces.
   */
  parseChatId?(input: string): RemoteChatId;
  /**
   * Begin an interactive login for a person. No I/O until `start()`. `owner` is who the
   * login will belong to; only a gateway, whose accounts are addresses it gives the
   * bridge's own users, reads it (every other adapter asks the person who they are).
   */
  startLogin(config: Config, owner: LoginOwner): LoginFlow;
  /**
   * Optional: start resources the whole network shares (a webhook listener, a control
   * API), before any session connects. May do I/O; a throw fails the bridge's start-up
   * with the message, so make it name what to fix.
   */
  start?(config: Config, log: Logger): Promise<void>;
  /** Optional: release what `start` opened, after every session disconnected. */
  stop?(): Promise<void>;
  /**
   * Optional: a fresh instance of this adapter serving another network id, for a second
   * `networks.<id>` section naming this adapter (two Telegram bots, two XMPP servers).
   * It must share nothing with this one, and its login ids must start with the new id.
   * Without it, the adapter serves one section only.
   */
  forNetwork?(network: NetworkId): NetworkAdapter<Config>;
}
