/**
 * The events that cross the adapter boundary, as plain typed data.
 *
 * RemoteEvent flows from an adapter into the core (something happened on the remote
 * network); OutboundEvent flows from the core into an adapter (make this happen on
 * the remote network). Both are discriminated unions on `type`; a `switch` over it is
 * exhaustive. None of these types mention Matrix: the core converts.
 */
import type { RemoteChatId, RemoteMessageId, RemoteUserId } from './ids.js';

// ---------------------------------------------------------------- content

/**
 * A formatting span over `MessageContent.text`, by UTF-16 offset and length (the unit
 * of JavaScript strings, and of Telegram's entities). Spans may nest; they must not
 * cross a surrogate pair.
 */
export type FormatSpan =
  | { kind: 'bold' | 'italic' | 'underline' | 'strike' | 'code' | 'spoiler' | 'blockquote'; offset: number; length: number }
  | { kind: 'pre'; offset: number; length: number; language?: string }
  | { kind: 'link'; offset: number; length: number; url: string }
  /** A mention of a user of this same network. */
  | { kind: 'mention'; offset: number; length: number; user: RemoteUserId };

export type FormatKind = FormatSpan['kind'];

/** Where the bytes of an attachment come from. */
export type AttachmentSource =
  /** The bytes are here already. */
  | { kind: 'bytes'; bytes: Uint8Array }
  /** An adapter-private reference; the core asks `AdapterSession.fetchMedia` for the bytes. */
  | { kind: 'remote'; ref: string };

export type AttachmentKind = 'image' | 'video' | 'audio' | 'voice' | 'sticker' | 'file';

export interface Attachment {
  kind: AttachmentKind;
  /** File name shown to people; never used as a path. */
  name: string;
  mime: string;
  /** Size in bytes when known before download. */
  size?: number;
  width?: number;
  height?: number;
  durationMs?: number;
  source: AttachmentSource;
  /**
   * Outbound only: a public address of the same file (the bridge's signed media link,
   * when `public_media` is on). An adapter that cannot upload the bytes sends this instead.
   */
  link?: string;
}

/** What a message says, independent of any network's format. */
export interface MessageContent {
  /** `emote` is "/me waves"; `notice` is an automated message (bots, status). */
  kind: 'text' | 'emote' | 'notice';
  /** Plain text; may be empty when the message is only attachments. */
  text: string;
  spans?: FormatSpan[];
  attachments?: Attachment[];
  /**
   * The sender mentions everyone in the chat and is allowed to (Matrix `@room` from a
   * user with the room's notification power). Adapters render it as their network's
   * mass mention; they never turn plain text into one.
   */
  mentionsAll?: boolean;
  /**
   * A shared contact card (Telegram `contact`): the core shows it as a line of text, the
   * number masked unless the network's `identifiers.phone` is `visible` (core/convert/contact.ts).
   */
  contact?: { name: string; phone?: string };
}

// ---------------------------------------------------------------- remote -> core

/** Which remote chat an event belongs to, and whether it is a one-to-one chat. */
export interface ChatRef {
  id: RemoteChatId;
  /**
   * `dm` chats are keyed per receiving login; `group` chats are shared by every login.
   * For a `dm`, `id` is the other person's RemoteUserId (their ghost opens the room).
   */
  kind: 'dm' | 'group';
}

/** Who did something on the remote network. */
export interface SenderRef {
  id: RemoteUserId;
  /** Display name if the network carries one with the event (saves a lookup). */
  name?: string;
  /** True when this is the login's own account (sent from another client of the user). */
  isSelf?: boolean;
}

interface RemoteBase {
  chat: ChatRef;
  /** Milliseconds since the epoch, as the remote network stamped it, if it did. */
  timestamp?: number;
}

export type RemoteEvent =
  | (RemoteBase & { type: 'message'; id: RemoteMessageId; sender: SenderRef; content: MessageContent; replyTo?: RemoteMessageId })
  | (RemoteBase & {
      type: 'edit';
      /** Id of the edit itself where the network gives one (used for dedup). */
      id?: RemoteMessageId;
      sender: SenderRef;
      target: RemoteMessageId;
      content: MessageContent;
    })
  | (RemoteBase & {
      type: 'delete';
      sender: SenderRef;
      target: RemoteMessageId;
      /**
       * The network says `sender` may delete other people's messages in this chat (a MUC
       * moderator's XEP-0425 moderation, a group admin). Without it, only the original
       * sender's deletion is applied (core/portal/authority.ts).
       */
      moderator?: boolean;
    })
  /** One reaction added or removed (Matrix, Telegram-style). */
  | (RemoteBase & { type: 'reaction'; sender: SenderRef; target: RemoteMessageId; key: string; removed?: boolean })
  /** The complete set of a user's reactions on a message (XEP-0444-style); the core diffs. */
  | (RemoteBase & { type: 'reaction-set'; sender: SenderRef; target: RemoteMessageId; keys: string[] })
  | (RemoteBase & { type: 'typing'; sender: SenderRef; active: boolean })
  /** `sender` has read everything up to and including `upTo`. */
  | (RemoteBase & { type: 'receipt'; sender: SenderRef; upTo: RemoteMessageId })
  | (RemoteBase & { type: 'chat-info'; info: ChatInfo })
  | (RemoteBase & { type: 'member'; user: SenderRef; change: 'join' | 'leave' | 'kick' | 'ban'; by?: RemoteUserId; reason?: string })
  /**
   * A member's standing in the chat changed (an IRC channel operator, a MUC moderator): the
   * ghost gets power level 50 in the room, or loses it (core/portal/remote/role.ts).
   */
  | (RemoteBase & { type: 'role'; user: SenderRef; role: 'moderator' | 'member' })
  /**
   * A person on the network used a direct-chat invite (`AdapterSession.directInvite`):
   * `chat` is the DM with them as the relay account sees it, `code` the invite's code.
   */
  | (RemoteBase & { type: 'dm-invite-accepted'; sender: SenderRef; code: string })
  /** The chat got a new id on its network (a Telegram group upgraded to a supergroup); the portal follows. */
  | (RemoteBase & { type: 'chat-moved'; to: RemoteChatId })
  /** Presence is per user, not per chat; `chat` is absent. */
  | { type: 'presence'; user: RemoteUserId; state: PresenceState; status?: string; chat?: undefined; timestamp?: number }
  /** A remote user's profile changed. */
  | { type: 'user-info'; info: UserInfo; chat?: undefined; timestamp?: number }
  /**
   * Someone asks to become the login's contact (an XMPP presence subscription to a gateway
   * address): the core asks the login's owner, whose answer reaches
   * `AdapterSession.answerContactRequest`. Not per chat.
   */
  | { type: 'contact-request'; user: SenderRef; chat?: undefined; timestamp?: number };

export type RemoteEventType = RemoteEvent['type'];
export type PresenceState = 'online' | 'offline' | 'unavailable';

export interface ChatInfo {
  id: RemoteChatId;
  kind: 'dm' | 'group';
  name?: string;
  topic?: string;
  avatar?: Attachment;
  /** Current members, when the network lists them cheaply. */
  members?: RemoteUserId[];
}

export interface UserInfo {
  id: RemoteUserId;
  name?: string;
  avatar?: Attachment;
}

// ---------------------------------------------------------------- core -> remote

/** A Matrix user that a relay login speaks for; the core has already applied the name template. */
export interface RelayedSender {
  displayName: string;
  matrixId: string;
}

interface OutboundBase {
  chat: RemoteChatId;
  /** Set when the login relays for a Matrix user who has no login of their own. */
  relayedFor?: RelayedSender;
}

export type OutboundEvent =
  | (OutboundBase & { type: 'message'; content: MessageContent; replyTo?: RemoteMessageId })
  | (OutboundBase & { type: 'edit'; target: RemoteMessageId; content: MessageContent })
  | (OutboundBase & { type: 'delete'; target: RemoteMessageId })
  /**
   * One reaction added or removed. `keys` is the sender's complete set on the target
   * after this change, for networks (XEP-0444) that carry the whole set.
   */
  | (OutboundBase & { type: 'reaction'; target: RemoteMessageId; key: string; removed: boolean; keys: string[] })
  | (OutboundBase & { type: 'typing'; active: boolean })
  | (OutboundBase & { type: 'receipt'; upTo: RemoteMessageId })
  | (OutboundBase & { type: 'chat-info'; name?: string; topic?: string })
  | (OutboundBase & { type: 'leave' })
  /**
   * A Matrix member (`relayedFor`) came, was renamed (`join` again, with the new name) or
   * went. Sent only to networks that show members as themselves (`Capabilities.speaksAs`).
   */
  | (OutboundBase & { type: 'member'; change: 'join' | 'leave' });

export type OutboundEventType = OutboundEvent['type'];

/** What `AdapterSession.send` reports. */
export type SendResult =
  /** Done. `remoteId` is the id the network gave the new message, when it made one. */
  | { status: 'sent'; remoteId?: RemoteMessageId }
  /** This network or this chat cannot do it; the core tells the sender. Not retried. */
  | { status: 'unsupported'; reason: string }
  /** Refused for good (no permission, chat gone); the core tells the sender. Not retried. */
  | { status: 'rejected'; reason: string };

/** Exhaustiveness check for `switch` statements over a union. */
export function assertNever(x: never): never {
  throw new Error(`unexpected variant: ${JSON.stringify(x)}`);
}
