/**
 * Who may reach the gateway at all, and how fast: the admin's server allow list and
 * blocks, then one rate limit per sending address and one per sending server. A refusal
 * is an XMPP error the sender's client shows (`forbidden`, `resource-constraint`), never
 * silence. A person's own blocks are their session's business (session-data.ts).
 */
import { RateLimiterMemory, RateLimiterRes } from 'rate-limiter-flexible';
import type { GatewayConfig } from './config.js';

export interface Refusal {
  type: 'cancel' | 'wait' | 'auth' | 'modify';
  condition: string;
  text: string;
}

export class Gate {
  private readonly perJid: RateLimiterMemory;
  private readonly perServer: RateLimiterMemory;
  private readonly blockedServers: ReadonlySet<string>;
  private readonly blockedJids: ReadonlySet<string>;

  constructor(private readonly config: GatewayConfig) {
    const { perJid, perServer } = config.rateLimits;
    this.perJid = new RateLimiterMemory({ points: perJid.stanzas, duration: perJid.windowS });
    this.perServer = new RateLimiterMemory({ points: perServer.stanzas, duration: perServer.windowS });
    this.blockedServers = new Set(config.blockServers);
    this.blockedJids = new Set(config.blockJids);
  }

  /** The admin's policy for a sender (bare JID and its server); undefined when allowed. */
  policy(bare: string, server: string): Refusal | undefined {
    if (this.blockedJids.has(bare) || this.blockedServers.has(server)) {
      return { type: 'cancel', condition: 'forbidden', text: 'This Matrix gateway does not accept stanzas from you.' };
    }
    if (this.config.allowServers !== '*' && !this.config.allowServers.includes(server)) {
      return { type: 'cancel', condition: 'forbidden', text: `This Matrix gateway does not accept stanzas from ${server}.` };
    }
    return undefined;
  }

  /** Count one stanza against the sender's and their server's limits. */
  async rate(bare: string, server: string): Promise<Refusal | undefined> {
    for (const [limiter, key] of [[this.perJid, bare], [this.perServer, server]] as const) {
      try {
        await limiter.consume(key);
      } catch (err) {
        if (!(err instanceof RateLimiterRes)) throw err;
        const wait = Math.ceil(err.msBeforeNext / 1000);
        return { type: 'wait', condition: 'resource-constraint', text: `Too many stanzas ${limiter === this.perJid ? 'from you' : `from ${server}`}; this one was not delivered. Try again in ${wait} s.` };
      }
    }
    return undefined;
  }
}
