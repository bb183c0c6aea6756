/**
 * One Matrix user's address book on the gateway: who sees their presence (subscribers),
 * who asked and waits for an answer, and whom they block (addresses or whole servers).
 * Plain data kept in the login's data; the session persists it after every change.
 */
import jid from '@xmpp/jid';
import { parseBareJid } from '../xmpp/config.js';
import type { SubscriptionPolicy } from './config.js';

export interface ContactsData {
  subscribers?: string[];
  pending?: string[];
  blocked?: string[];
  /** The owner's own choice for subscription requests, overriding the config's default. */
  subscriptions?: SubscriptionPolicy;
}

/** At most this many of each list (a flood of requests cannot grow the login's data without end). */
const MAX_ENTRIES = 5_000;

export class Contacts {
  private readonly subscribers: Set<string>;
  private readonly pending: Set<string>;
  private readonly blocked: Set<string>;
  private readonly subscriptions: SubscriptionPolicy | undefined;

  constructor(data: ContactsData, private readonly defaultPolicy: SubscriptionPolicy) {
    this.subscriptions = data.subscriptions;
    this.subscribers = new Set(data.subscribers);
    this.pending = new Set(data.pending);
    this.blocked = new Set(data.blocked);
  }

  get policy(): SubscriptionPolicy {
    return this.subscriptions ?? this.defaultPolicy;
  }

  data(): ContactsData {
    return {
      subscribers: [...this.subscribers],
      pending: [...this.pending],
      blocked: [...this.blocked],
      ...(this.subscriptions && { subscriptions: this.subscriptions }),
    };
  }

  /** The owner blocked this bare JID or its server. */
  blocks(bare: string): boolean {
    return this.blocked.has(bare) || this.blocked.has(jid(bare).domain);
  }

  isSubscriber(bare: string): boolean {
    return this.subscribers.has(bare);
  }

  allSubscribers(): string[] {
    return [...this.subscribers];
  }

  /** A subscription request arrived: what to do with it. `ask` once per person until answered. */
  request(bare: string): 'accept' | 'refuse' | 'ask' | 'already-asked' {
    if (this.subscribers.has(bare)) return 'accept';
    const policy = this.policy;
    if (policy === 'anyone') return 'accept';
    if (policy === 'never') return 'refuse';
    if (this.pending.has(bare)) return 'already-asked';
    if (this.pending.size < MAX_ENTRIES) this.pending.add(bare);
    return 'ask';
  }

  allow(bare: string): void {
    this.pending.delete(bare);
    if (this.subscribers.size < MAX_ENTRIES) this.subscribers.add(bare);
  }

  remove(bare: string): boolean {
    this.pending.delete(bare);
    return this.subscribers.delete(bare);
  }

  /**
   * Block or unblock what the owner typed: a bare JID or a server's domain. Blocking also
   * ends a subscription. Returns the normalised target.
   */
  setBlocked(target: string, on: boolean): string {
    const normal = target.includes('@') ? parseBareJid(target, 'address') : parseDomain(target);
    if (on) {
      if (this.blocked.size >= MAX_ENTRIES) throw new Error(`you block ${MAX_ENTRIES} addresses already`);
      this.blocked.add(normal);
      for (const s of [...this.subscribers, ...this.pending]) if (this.blocks(s)) this.remove(s);
    } else {
      this.blocked.delete(normal);
    }
    return normal;
  }
}

function parseDomain(input: string): string {
  const d = input.trim().toLowerCase();
  // Length first: the pattern is then run over at most 253 characters.
  if (d.length > 253 || !/^[a-z0-9]([a-z0-9-]*[a-z0-9])?(\.[a-z0-9]([a-z0-9-]*[a-z0-9])?)+$/.test(d)) throw new Error(`"${input}" is neither an address (name@server) nor a server name`);
  return d;
}
