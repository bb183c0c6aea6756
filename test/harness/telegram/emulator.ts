/**
 * A Telegram Bot API emulator on 127.0.0.1 for tests: no real Telegram server can run
 * offline. HTTP like api.telegram.org (`/bot<token>/<method>`, `/file/bot<token>/<path>`),
 * getUpdates with real long polling and confirmation by offset, webhooks with retries,
 * JSON, form and multipart requests, flood control with `retry_after`, and fault
 * injection (429, 5xx, dropped connections, timeouts). People act through people.ts.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { ApiError, Methods, type Params, type Upload } from './methods.js';
import { World, type BotState, type Update } from './model.js';

export interface Fault {
  /** Method name, or undefined for every method but getUpdates. */
  method?: string;
  kind: '429' | '500' | 'drop' | 'hang';
  /** For 429: seconds. */
  retryAfter?: number;
  /** How many calls it hits. */
  times: number;
}

/** Flood control as Telegram applies it to bots, scaled for tests. */
export interface FloodLimits {
  /** Least time between two sends to one chat, in ms (Telegram: about 1 s). */
  perChatMs: number;
  /** Most sends per second over all chats (Telegram: about 30). */
  globalPerSecond: number;
}

const SENDS = /^(send(Message|Photo|Document|Video|Audio|Voice|Animation|Sticker)|editMessage(Text|Caption)|deleteMessage|setMessageReaction)$/;
const WEBHOOK_RETRY_MS = 200;

interface Poll { bot: BotState; offset: number; limit: number; timer: NodeJS.Timeout; res: ServerResponse }

export class TelegramEmulator {
  readonly world = new World();
  readonly faults: Fault[] = [];
  flood: FloodLimits | undefined;
  /** Every call made, for assertions: method and the time. */
  readonly calls: { method: string; at: number; status: number }[] = [];
  private readonly methods = new Methods(this.world);
  private readonly polls = new Map<string, Poll>();
  private readonly lastSend = new Map<string, number>();
  private readonly recentSends: number[] = [];
  private readonly hooks = new Map<string, Promise<void>>();
  private server: Server | undefined;
  private hung: ServerResponse[] = [];
  port = 0;

  static async start(): Promise<TelegramEmulator> {
    const emu = new TelegramEmulator();
    emu.world.onUpdate = (bot) => emu.wake(bot);
    emu.server = createServer((req, res) => void emu.handle(req, res));
    await new Promise<void>((resolve) => emu.server!.listen(0, '127.0.0.1', resolve));
    emu.port = (emu.server.address() as AddressInfo).port;
    return emu;
  }

  get apiRoot(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  async stop(): Promise<void> {
    for (const poll of this.polls.values()) clearTimeout(poll.timer);
    for (const res of this.hung) res.destroy();
    this.world.onUpdate = () => undefined;
    await new Promise<void>((resolve) => { this.server?.closeAllConnections(); this.server?.close(() => resolve()); });
  }

  /** Injects a fault for the next `times` calls of `method`. */
  inject(fault: Fault): void {
    this.faults.push({ ...fault });
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://127.0.0.1');
    const file = /^\/file\/bot([^/]+)\/(.+)$/.exec(url.pathname);
    if (file && req.method === 'GET') return this.download(file[1]!, decodeURIComponent(file[2]!), res);
    const call = /^\/bot([^/]+)\/([A-Za-z]+)$/.exec(url.pathname);
    if (!call) return this.answer(res, new ApiError(404, 'Not Found'));
    const bot = this.world.bots.get(call[1]!);
    const method = call[2]!;
    if (!bot) return this.answer(res, new ApiError(401, 'Unauthorized'), method);
    let params: Params;
    let uploads: Map<string, Upload>;
    try {
      ({ params, uploads } = await readParams(req, url));
    } catch (err) {
      return this.answer(res, new ApiError(400, `Bad Request: ${(err as Error).message}`), method);
    }
    const fault = this.takeFault(method);
    if (fault?.kind === 'drop') { this.calls.push({ method, at: Date.now(), status: 0 }); req.socket.destroy(); return; }
    if (fault?.kind === 'hang') { this.calls.push({ method, at: Date.now(), status: 0 }); this.hung.push(res); return; }
    if (fault?.kind === '500') return this.answer(res, new ApiError(500, 'Internal Server Error'), method);
    if (fault?.kind === '429') return this.answer(res, tooMany(fault.retryAfter ?? 1), method);
    const limited = SENDS.test(method) ? this.floodCheck(params.chat_id) : undefined;
    if (limited) return this.answer(res, limited, method);
    try {
      if (method === 'getUpdates') return this.getUpdates(bot, params, res);
      if (method === 'setWebhook') return this.answer(res, this.setWebhook(bot, params), method);
      if (method === 'deleteWebhook') {
        delete bot.webhook;
        if (params.drop_pending_updates === true || params.drop_pending_updates === 'true') bot.updates.length = 0;
        return this.answer(res, true, method);
      }
      if (method === 'getWebhookInfo') return this.answer(res, { url: bot.webhook?.url ?? '', has_custom_certificate: false, pending_update_count: bot.updates.length }, method);
      const result = this.methods.call(bot, method, params, uploads);
      if (result === undefined) throw new ApiError(404, 'Not Found');
      return this.answer(res, result, method);
    } catch (err) {
      return this.answer(res, err instanceof ApiError ? err : new ApiError(500, `Internal Server Error: ${(err as Error).message}`), method);
    }
  }

  private takeFault(method: string): Fault | undefined {
    const i = this.faults.findIndex((f) => (f.method ? f.method === method : method !== 'getUpdates'));
    if (i < 0) return undefined;
    const fault = this.faults[i]!;
    if (--fault.times <= 0) this.faults.splice(i, 1);
    return fault;
  }

  private floodCheck(chatId: unknown): ApiError | undefined {
    if (!this.flood) return undefined;
    const now = Date.now();
    while (this.recentSends.length && this.recentSends[0]! <= now - 1000) this.recentSends.shift();
    if (this.recentSends.length >= this.flood.globalPerSecond) return tooMany(1);
    const key = String(chatId);
    const last = this.lastSend.get(key);
    if (last !== undefined && now - last < this.flood.perChatMs) return tooMany(Math.max(1, Math.ceil((this.flood.perChatMs - (now - last)) / 1000)));
    this.lastSend.set(key, now);
    this.recentSends.push(now);
    return undefined;
  }

  private answer(res: ServerResponse, result: unknown, method = '?'): void {
    const error = result instanceof ApiError ? result : undefined;
    const status = error ? error.code : 200;
    this.calls.push({ method, at: Date.now(), status });
    const body = error
      ? { ok: false, error_code: error.code, description: error.message, ...(error.parameters && { parameters: error.parameters }) }
      : { ok: true, result };
    if (res.destroyed) return;
    res.writeHead(status, { 'content-type': 'application/json' });
    res.end(JSON.stringify(body));
  }

  // ------------------------------------------------------------------ updates

  private getUpdates(bot: BotState, params: Params, res: ServerResponse): void {
    if (bot.webhook) throw new ApiError(409, "Conflict: can't use getUpdates method while webhook is active; use deleteWebhook to delete the webhook first");
    const offset = Number(params.offset ?? 0);
    // Confirmation: updates before the offset are forgotten, as on Telegram.
    if (offset > 0) while (bot.updates.length && bot.updates[0]!.update_id < offset) bot.updates.shift();
    const allowed = parseList(params.allowed_updates);
    if (allowed) bot.allowed = allowed;
    const limit = Math.min(100, Math.max(1, Number(params.limit ?? 100)));
    const timeout = Math.max(0, Number(params.timeout ?? 0));
    const previous = this.polls.get(bot.token);
    if (previous) {
      clearTimeout(previous.timer);
      this.polls.delete(bot.token);
      this.answer(previous.res, new ApiError(409, 'Conflict: terminated by other getUpdates request; make sure that only one bot instance is running'), 'getUpdates');
    }
    const ready = pending(bot, offset, limit);
    if (ready.length || timeout === 0) return this.answer(res, ready, 'getUpdates');
    const poll: Poll = { bot, offset, limit, res, timer: setTimeout(() => this.finishPoll(bot), timeout * 1000) };
    res.on('close', () => { if (this.polls.get(bot.token) === poll) { clearTimeout(poll.timer); this.polls.delete(bot.token); } });
    this.polls.set(bot.token, poll);
  }

  private finishPoll(bot: BotState): void {
    const poll = this.polls.get(bot.token);
    if (!poll) return;
    clearTimeout(poll.timer);
    this.polls.delete(bot.token);
    this.answer(poll.res, pending(bot, poll.offset, poll.limit), 'getUpdates');
  }

  private wake(bot: BotState): void {
    if (bot.webhook) this.pushWebhook(bot);
    else if (this.polls.has(bot.token)) setImmediate(() => this.finishPoll(bot));
  }

  private setWebhook(bot: BotState, params: Params): true {
    const url = String(params.url ?? '');
    if (!url) { delete bot.webhook; return true; }
    if (!/^https?:\/\/127\.0\.0\.1[:/]/.test(url)) throw new ApiError(400, 'Bad Request: bad webhook: the emulator only delivers to 127.0.0.1');
    bot.webhook = { url, ...(typeof params.secret_token === 'string' && { secret: params.secret_token }) };
    const allowed = parseList(params.allowed_updates);
    if (allowed) bot.allowed = allowed;
    if (params.drop_pending_updates === true || params.drop_pending_updates === 'true') bot.updates.length = 0;
    this.pushWebhook(bot);
    return true;
  }

  /** Delivers a bot's updates to its webhook one at a time, in order; a failed delivery is retried. */
  private pushWebhook(bot: BotState): void {
    if (this.hooks.has(bot.token)) return;
    const run = (async () => {
      while (bot.webhook && bot.updates.length && this.server?.listening) {
        const update = bot.updates[0]!;
        const hook = bot.webhook;
        const ok = await fetch(hook.url, {
          method: 'POST',
          headers: { 'content-type': 'application/json', ...(hook.secret && { 'x-telegram-bot-api-secret-token': hook.secret }) },
          body: JSON.stringify(update),
          signal: AbortSignal.timeout(10_000),
        }).then((r) => { void r.body?.cancel(); return r.ok; }, () => false);
        if (ok && bot.updates[0] === update) bot.updates.shift();
        else if (!ok) await new Promise((r) => setTimeout(r, WEBHOOK_RETRY_MS));
      }
    })().finally(() => { this.hooks.delete(bot.token); if (bot.webhook && bot.updates.length && this.server?.listening) this.pushWebhook(bot); });
    this.hooks.set(bot.token, run);
  }

  private download(token: string, path: string, res: ServerResponse): void {
    const bot = this.world.bots.get(token);
    const file = bot && [...this.world.files.values()].find((f) => f.path === path);
    if (!file) { res.writeHead(404).end('Not Found'); return; }
    res.writeHead(200, { 'content-type': 'application/octet-stream', 'content-length': String(file.bytes.length) });
    res.end(file.bytes);
  }
}

function tooMany(retryAfter: number): ApiError {
  return new ApiError(429, `Too Many Requests: retry after ${retryAfter}`, { retry_after: retryAfter });
}

function pending(bot: BotState, offset: number, limit: number): Update[] {
  return bot.updates.filter((u) => u.update_id >= offset).slice(0, limit);
}

function parseList(raw: unknown): string[] | undefined {
  const value = typeof raw === 'string' ? (() => { try { return JSON.parse(raw) as unknown; } catch { return undefined; } })() : raw;
  return Array.isArray(value) ? value.map(String) : undefined;
}

/** Parameters from the query string and a JSON, urlencoded or multipart body. */
async function readParams(req: IncomingMessage, url: URL): Promise<{ params: Params; uploads: Map<string, Upload> }> {
  const params: Params = Object.fromEntries(url.searchParams);
  const uploads = new Map<string, Upload>();
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  const body = Buffer.concat(chunks);
  const type = req.headers['content-type'] ?? '';
  if (!body.length) return { params, uploads };
  if (type.startsWith('application/json')) {
    const parsed = JSON.parse(body.toString('utf8')) as unknown;
    if (!parsed || typeof parsed !== 'object') throw new Error('the body must be a JSON object');
    Object.assign(params, parsed);
  } else if (type.startsWith('multipart/form-data') || type.startsWith('application/x-www-form-urlencoded')) {
    const form = await new Response(body, { headers: { 'content-type': type } }).formData();
    for (const [key, value] of form) {
      if (typeof value === 'string') params[key] = value;
      else uploads.set(key, { name: value.name, type: value.type, bytes: Buffer.from(await value.arrayBuffer()) });
    }
  }
  return { params, uploads };
}
