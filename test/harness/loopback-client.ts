/** A typed client for the loopback network's control API (bridges/loopback/control.ts). */
import type { MessageContent, OutboundEvent } from '../../core/events.js';
import { parseWithBytes, stringifyWithBytes } from '../../core/json-bytes.js';

export interface FromBridgeEntry {
  seq: number;
  by: string;
  event: OutboundEvent;
  /** The loopback message id a sent message got. */
  id?: string;
}

export class LoopbackClient {
  private seen = 0;

  constructor(readonly baseUrl: string, private readonly token?: string) {}

  async call<T = Record<string, unknown>>(method: string, path: string, body?: unknown): Promise<T> {
    const res = await fetch(this.baseUrl + path, {
      method,
      headers: { 'content-type': 'application/json', ...(this.token && { authorization: `Bearer ${this.token}` }) },
      ...(body !== undefined && { body: stringifyWithBytes(body) }),
    });
    const parsed = parseWithBytes(await res.text()) as T & { error?: string };
    if (!res.ok) throw new Error(`loopback control ${method} ${path}: ${res.status} ${parsed.error ?? ''}`);
    return parsed;
  }

  addUser(id: string, name?: string, avatar?: unknown) {
    return this.call('POST', '/users', { id, ...(name && { name }), ...(avatar !== undefined && { avatar }) });
  }

  addGroup(id: string, opts: { name?: string; topic?: string; members?: string[] } = {}) {
    return this.call('POST', '/groups', { id, ...opts });
  }

  async say(from: string, chat: string, content: string | MessageContent, replyTo?: string): Promise<string> {
    const body = { from, chat, ...(typeof content === 'string' ? { text: content } : { content }), ...(replyTo && { reply_to: replyTo }) };
    return (await this.call<{ id: string }>('POST', '/messages', body)).id;
  }

  async dm(from: string, to: string, content: string | MessageContent, replyTo?: string): Promise<string> {
    const body = { from, to, ...(typeof content === 'string' ? { text: content } : { content }), ...(replyTo && { reply_to: replyTo }) };
    return (await this.call<{ id: string }>('POST', '/messages', body)).id;
  }

  edit(id: string, text: string) { return this.call('POST', `/messages/${encodeURIComponent(id)}/edits`, { text }); }
  delete(id: string) { return this.call('DELETE', `/messages/${encodeURIComponent(id)}`); }
  react(user: string, id: string, key: string, removed = false) { return this.call('POST', `/messages/${encodeURIComponent(id)}/reactions`, { user, key, removed }); }
  rename(chat: string, name: string) { return this.call('PATCH', `/groups/${encodeURIComponent(chat)}`, { name }); }
  message(id: string) { return this.call<{ id: string; content: MessageContent; edits: MessageContent[]; deleted: boolean; reactions: Record<string, string[]>; replyTo?: string; relayedFor?: string }>('GET', `/messages/${encodeURIComponent(id)}`); }

  /** The bridge restarted: its log of what it did starts again from nothing. */
  bridgeRestarted(): void {
    this.seen = 0;
  }

  /**
   * Wait for the next thing the bridge does on the loopback network that `match`
   * accepts; entries before it are consumed. Fails after `timeoutMs` listing what came.
   */
  async waitFromBridge(match: (e: FromBridgeEntry) => boolean, timeoutMs = 15_000): Promise<FromBridgeEntry> {
    const deadline = Date.now() + timeoutMs;
    const skipped: FromBridgeEntry[] = [];
    for (;;) {
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`no matching loopback event within ${timeoutMs} ms; saw: ${JSON.stringify(skipped.map((e) => e.event))}`);
      const { entries } = await this.call<{ entries: FromBridgeEntry[] }>('GET', `/from-bridge?since=${this.seen}&wait_ms=${Math.min(left, 5000)}`);
      for (const e of entries) {
        this.seen = e.seq;
        if (match(e)) return e;
        skipped.push(e);
      }
    }
  }
}
