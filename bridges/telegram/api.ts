/**
 * Calls to the Bot API for one bot, through telegraf's client: paced per chat, per group
 * and globally (rate-limiter-flexible queues, so nothing is dropped), 429 `retry_after`
 * honoured on every call, and failures sorted into what the core understands. The bot
 * token is in every URL: no error or log line here ever carries a URL.
 */
import { Telegram, TelegramError } from 'telegraf';
import { RateLimiterMemory, RateLimiterQueue } from 'rate-limiter-flexible';
import { setMaxListeners } from 'node:events';
import { TransientError } from '../../core/adapter.js';
import type { TelegramConfig } from './config.js';

type Payload = Record<string, unknown>;

/** The Bot API refused the call for good (400, 403): the message says why, for people. */
export class ApiRefusal extends Error {
  constructor(readonly code: number, description: string, readonly migrateTo?: number) {
    super(description);
    this.name = 'ApiRefusal';
  }
}

/** The token is not (or no longer) valid. */
export class BadToken extends Error {
  constructor() {
    super('Telegram refused the bot token (401 Unauthorized): it is wrong or was revoked');
    this.name = 'BadToken';
  }
}

export interface CallOptions {
  /** The chat a send goes to: paced, and held by that chat's flood wait. */
  chat?: string | number;
  signal?: AbortSignal;
  timeoutMs?: number;
}

const CALL_TIMEOUT_MS = 30_000;
const MAX_DOWNLOAD_BYTES = 20 * 1024 * 1024;

export class TelegramApi {
  private readonly client: Telegram;
  private readonly global: RateLimiterQueue;
  private readonly perChat: RateLimiterQueue;
  private readonly perGroup: RateLimiterQueue;
  /** Flood waits Telegram asked for: until when sends to a chat (or any, under `*`) must wait. */
  private readonly blockedUntil = new Map<string, number>();
  /** Stops every wait and call (the session is closing). */
  private abort = sessionAbort();

  constructor(private readonly token: string, private readonly config: TelegramConfig) {
    this.client = new Telegram(token, { apiRoot: config.apiRoot });
    const { rateLimits } = config;
    this.global = new RateLimiterQueue(new RateLimiterMemory({ points: rateLimits.globalPerSecond, duration: 1 }));
    this.perChat = new RateLimiterQueue(new RateLimiterMemory({ points: rateLimits.perChatPerSecond, duration: 1 }));
    this.perGroup = new RateLimiterQueue(new RateLimiterMemory({ points: rateLimits.perGroupPerMinute, duration: 60 }));
  }

  /** The bot's numeric id, from its token (before the colon). */
  get botId(): string {
    return this.token.slice(0, this.token.indexOf(':'));
  }

  close(): void {
    this.abort.abort();
  }

  reopen(): void {
    if (this.abort.signal.aborted) this.abort = sessionAbort();
  }

  /** A send: paced, and retried through flood waits. */
  async send<T>(method: string, payload: Payload, chat: string | number): Promise<T> {
    return this.call<T>(method, payload, { chat });
  }

  async call<T>(method: string, payload: Payload, opts: CallOptions = {}): Promise<T> {
    const chatKey = opts.chat === undefined ? undefined : String(opts.chat);
    for (;;) {
      await this.waitFlood(chatKey);
      if (chatKey !== undefined) await this.pace(chatKey);
      try {
        const signals = [this.abort.signal, AbortSignal.timeout(opts.timeoutMs ?? CALL_TIMEOUT_MS), ...(opts.signal ? [opts.signal] : [])];
        // telegraf types each method's payload; this client is generic over method names.
        return (await this.client.callApi(method as never, payload as never, { signal: AbortSignal.any(signals) as never })) as T;
      } catch (err) {
        const waitS = this.retryAfter(err);
        if (waitS === undefined) throw this.classify(err, method);
        const until = Date.now() + waitS * 1000;
        this.blockedUntil.set(chatKey ?? '*', Math.max(until, this.blockedUntil.get(chatKey ?? '*') ?? 0));
        // A long flood wait holds the chat's queue in the core, which tells the sender once.
        if (waitS > this.config.longFloodWaitS && chatKey !== undefined) {
          throw new TransientError(`Telegram flood control: retry in ${waitS} s`, waitS * 1000, { outage: true });
        }
      }
    }
  }

  /** Fetches a file by its `file_path`, stopping past `maxBytes`; the URL (with the token) stays here. */
  async download(filePath: string, maxBytes: number): Promise<Uint8Array> {
    const cap = Math.min(maxBytes, MAX_DOWNLOAD_BYTES);
    const url = `${this.config.apiRoot}/file/bot${this.token}/${filePath.split('/').map(encodeURIComponent).join('/')}`;
    let res: Response;
    try {
      res = await fetch(url, { signal: AbortSignal.any([this.abort.signal, AbortSignal.timeout(60_000)]), redirect: 'error' });
    } catch (err) {
      throw new TransientError(`Telegram file download failed: ${(err as Error).name}`, undefined, { outage: true });
    }
    if (!res.ok || !res.body) throw new Error(`Telegram file download answered ${res.status}`);
    const declared = Number(res.headers.get('content-length') ?? 0);
    if (declared > cap) { await res.body.cancel(); throw new Error(`file is larger than ${cap} bytes`); }
    const chunks: Uint8Array[] = [];
    let total = 0;
    for await (const chunk of res.body as unknown as AsyncIterable<Uint8Array>) {
      total += chunk.length;
      if (total > cap) throw new Error(`file is larger than ${cap} bytes`);
      chunks.push(chunk);
    }
    return Buffer.concat(chunks);
  }

  private async pace(chat: string): Promise<void> {
    await this.perChat.removeTokens(1, chat);
    if (chat.startsWith('-')) await this.perGroup.removeTokens(1, chat);
    await this.global.removeTokens(1);
  }

  private async waitFlood(chat: string | undefined): Promise<void> {
    const until = Math.max(this.blockedUntil.get('*') ?? 0, chat === undefined ? 0 : this.blockedUntil.get(chat) ?? 0);
    const ms = until - Date.now();
    if (ms <= 0) return;
    const signal = this.abort.signal;
    await new Promise<void>((resolve, reject) => {
      const closed = () => { clearTimeout(timer); reject(new TransientError('the Telegram session closed', undefined, { outage: true })); };
      // The listener goes with the wait: a long-lived session must not collect one per flood wait.
      const timer = setTimeout(() => { signal.removeEventListener('abort', closed); resolve(); }, ms);
      signal.addEventListener('abort', closed, { once: true });
    });
  }

  private retryAfter(err: unknown): number | undefined {
    if (!(err instanceof TelegramError) || err.code !== 429) return undefined;
    const s = err.parameters?.retry_after;
    return typeof s === 'number' && s >= 0 ? s : 1;
  }

  private classify(err: unknown, method: string): Error {
    if (err instanceof TelegramError) {
      if (err.code === 401) return new BadToken();
      if (err.code >= 500) return new TransientError(`Telegram answered ${err.code} to ${method}`, undefined, { outage: true });
      return new ApiRefusal(err.code, err.description, err.parameters?.migrate_to_chat_id);
    }
    const name = (err as Error)?.name;
    const reason = name === 'AbortError' || name === 'TimeoutError' ? 'timed out or was cancelled' : 'could not reach Telegram';
    // Never the error's own message: it may quote the request URL, which holds the token.
    return new TransientError(`${method} ${reason}`, undefined, { outage: true });
  }
}

/**
 * The session's own abort: every send waiting out a flood wait listens to it (removed
 * when the wait ends), so a burst of sends legitimately passes Node's warning level of 10.
 */
function sessionAbort(): AbortController {
  const controller = new AbortController();
  setMaxListeners(0, controller.signal);
  return controller;
}
