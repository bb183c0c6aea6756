/**
 * Webhook mode: one HTTP listener for every bot of the network. Telegram posts each
 * update to `<public_url>/<bot id>` with a secret header; the answer is 200 only once the
 * update is recorded, so Telegram delivers again whatever we did not keep.
 */
import { createHmac, timingSafeEqual } from 'node:crypto';
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { Logger } from '../../core/adapter.js';

type Json = Record<string, unknown>;
export type UpdateHandler = (update: Json) => Promise<void>;

const MAX_BODY_BYTES = 1024 * 1024;

export class WebhookHub {
  private server: Server | undefined;
  private readonly handlers = new Map<string, UpdateHandler>();

  constructor(private readonly settings: { publicUrl: string; listenHost: string; listenPort: number; secret: string }, private readonly log: Logger) {}

  async start(): Promise<void> {
    this.server = createServer((req, res) => {
      void this.handle(req).then(
        (status) => { res.writeHead(status, { 'content-type': 'application/json' }).end(status === 200 ? '{"ok":true}' : '{"ok":false}'); },
        () => { res.writeHead(500).end(); },
      );
    });
    await new Promise<void>((resolve, reject) => {
      this.server!.once('error', (err) => reject(new Error(`telegram.webhook: cannot listen on ${this.settings.listenHost}:${this.settings.listenPort}: ${err.message}`)));
      this.server!.listen(this.settings.listenPort, this.settings.listenHost, resolve);
    });
  }

  async stop(): Promise<void> {
    await new Promise<void>((resolve) => { this.server?.closeAllConnections(); this.server ? this.server.close(() => resolve()) : resolve(); });
  }

  urlFor(botId: string): string {
    return `${this.settings.publicUrl}/${botId}`;
  }

  /** Per bot, so one bot's secret does not open another's path (Telegram allows [A-Za-z0-9_-]). */
  secretFor(botId: string): string {
    return createHmac('sha256', this.settings.secret).update(`telegram-webhook:${botId}`).digest('base64url');
  }

  register(botId: string, handler: UpdateHandler): void {
    this.handlers.set(botId, handler);
  }

  unregister(botId: string): void {
    this.handlers.delete(botId);
  }

  private async handle(req: IncomingMessage): Promise<number> {
    const botId = /\/(\d+)$/.exec(new URL(req.url ?? '/', 'http://localhost').pathname)?.[1];
    const handler = botId ? this.handlers.get(botId) : undefined;
    if (req.method !== 'POST' || !botId || !handler) return 404;
    const given = Buffer.from(String(req.headers['x-telegram-bot-api-secret-token'] ?? ''));
    const expected = Buffer.from(this.secretFor(botId));
    if (given.length !== expected.length || !timingSafeEqual(given, expected)) {
      this.log.warn({ bot: botId }, 'telegram webhook: request with a wrong secret refused');
      return 401;
    }
    const chunks: Buffer[] = [];
    let size = 0;
    for await (const chunk of req) {
      size += (chunk as Buffer).length;
      if (size > MAX_BODY_BYTES) return 413;
      chunks.push(chunk as Buffer);
    }
    let update: unknown;
    try {
      update = JSON.parse(Buffer.concat(chunks).toString('utf8'));
    } catch {
      return 400;
    }
    if (!update || typeof update !== 'object' || Array.isArray(update)) return 400;
    try {
      await handler(update as Json);
      return 200;
    } catch (err) {
      this.log.warn({ bot: botId, err: (err as Error).message }, 'telegram webhook: update not recorded; Telegram will deliver it again');
      return 500;
    }
  }
}
