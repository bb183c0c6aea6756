/**
 * The appservice HTTP API the homeserver calls (https://spec.matrix.org/v1.11/application-service-api/).
 * Written on node:http rather than the library's express app because each rule here
 * is a protocol or safety rule of ours: the token read only from the Authorization
 * header and compared in constant time, a body cap answered with 413, JSON errors
 * with Matrix error codes, `/ping` answered, a transaction answered 200 only once it
 * is durably recorded, and never a non-2xx for one bad event.
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { Logger } from '../adapter.js';

export interface ListenerHandlers {
  /** Record a transaction durably; synchronous so the 200 follows the record. Throws if it could not. */
  onTransaction(txnId: string, events: unknown[], ephemeral: unknown[]): void;
  /**
   * Optional: what the transaction carries for the bridge's crypto device (to-device
   * messages, device lists, key counts), stored before the transaction is acknowledged.
   */
  receiveCrypto?(body: Record<string, unknown>): Promise<void>;
  /** Optional: look at a transaction's events first and return them amended (events the homeserver skipped). */
  beforeTransaction?(txnId: string, events: unknown[]): Promise<unknown[]>;
  /** Whether a user id is one the bridge provides (the homeserver's user query). */
  isBridgeUser(userId: string): boolean;
  /**
   * Whether this process does the work now; when false (a hot standby) every request but
   * `/health`, `/ready` and `/metrics` is answered 503, so the homeserver retries elsewhere or later.
   */
  accepting?(): boolean;
  /** Other APIs served on the same port (provisioning, public media), each with its own authentication. */
  extras?: { owns(path: string): boolean; handle(req: IncomingMessage, res: ServerResponse): Promise<void> }[];
}

export interface ListenerOptions {
  hsToken: string;
  maxBodyBytes: number;
  log: Logger;
  /** Told of each transaction answered: recorded (200) or not (an error the homeserver retries), and how long it took. */
  observeTransaction?: (outcome: 'recorded' | 'failed', seconds: number) => void;
}

class HttpError extends Error {
  constructor(readonly status: number, readonly errcode: string, message: string) {
    super(message);
  }
}

const digest = (s: string) => createHash('sha256').update(s).digest();

export class AppserviceListener {
  private readonly server: Server;
  private readonly tokenDigest: Buffer;

  constructor(private readonly handlers: ListenerHandlers, private readonly opts: ListenerOptions) {
    // Comparing fixed-length digests keeps the comparison constant-time whatever the length sent.
    this.tokenDigest = digest(opts.hsToken);
    this.server = createServer((req, res) => {
      this.handle(req, res).catch((err: unknown) => {
        const e = err instanceof HttpError ? err : new HttpError(500, 'M_UNKNOWN', 'internal error');
        if (!(err instanceof HttpError)) opts.log.error({ err: String(err), url: req.url?.split('?')[0] }, 'appservice request failed');
        sendJson(res, e.status, { errcode: e.errcode, error: e.message });
      });
    });
  }

  listen(port: number, host: string): Promise<number> {
    return new Promise((resolve, reject) => {
      this.server.once('error', reject);
      this.server.listen(port, host, () => {
        const addr = this.server.address();
        resolve(typeof addr === 'object' && addr ? addr.port : port);
      });
    });
  }

  close(): Promise<void> {
    return new Promise((resolve) => {
      this.server.close(() => resolve());
      this.server.closeAllConnections();
    });
  }

  private checkToken(req: IncomingMessage): void {
    const header = req.headers.authorization;
    if (!header) throw new HttpError(401, 'M_UNAUTHORIZED', 'missing Authorization header');
    const m = /^Bearer (.+)$/.exec(header);
    if (!m || !timingSafeEqual(digest(m[1]!), this.tokenDigest)) throw new HttpError(403, 'M_FORBIDDEN', 'bad token');
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const path = (req.url ?? '/').split('?')[0]!;
    const method = req.method ?? 'GET';
    if (path === '/health' && method === 'GET') return sendJson(res, 200, { status: 'ok' });
    if (this.handlers.accepting && !this.handlers.accepting() && path !== '/ready' && path !== '/metrics') {
      req.resume();
      throw new HttpError(503, 'M_UNKNOWN', 'standby: another bridge process is doing the work');
    }
    const extra = this.handlers.extras?.find((x) => x.owns(path));
    if (extra) return extra.handle(req, res);

    const txn = /^\/_matrix\/app\/v1\/transactions\/([^/]+)$/.exec(path);
    const user = /^\/_matrix\/app\/v1\/users\/([^/]+)$/.exec(path);
    const alias = /^\/_matrix\/app\/v1\/rooms\/([^/]+)$/.exec(path);
    const ping = path === '/_matrix/app/v1/ping';
    const expected = txn ? 'PUT' : ping ? 'POST' : user || alias ? 'GET' : undefined;
    if (!expected) throw new HttpError(404, 'M_UNRECOGNIZED', 'unrecognised request');
    if (method !== expected) throw new HttpError(405, 'M_UNRECOGNIZED', `use ${expected}`);
    this.checkToken(req);

    if (ping) {
      await readJson(req, this.opts.maxBodyBytes);
      return sendJson(res, 200, {});
    }
    if (user) {
      return this.handlers.isBridgeUser(decodePathPart(user[1]!)) ? sendJson(res, 200, {}) : sendJson(res, 404, { errcode: 'M_NOT_FOUND', error: 'no such user' });
    }
    if (alias) return sendJson(res, 404, { errcode: 'M_NOT_FOUND', error: 'no such alias' });

    const body = await readJson(req, this.opts.maxBodyBytes);
    if (!body || typeof body !== 'object' || Array.isArray(body)) throw new HttpError(400, 'M_BAD_JSON', 'body must be a JSON object');
    const { events = [], ephemeral, 'de.sorunome.msc2409.ephemeral': unstable } = body as Record<string, unknown>;
    if (!Array.isArray(events)) throw new HttpError(400, 'M_BAD_JSON', 'events must be an array');
    const eph = Array.isArray(ephemeral) ? ephemeral : Array.isArray(unstable) ? unstable : [];
    const txnId = decodePathPart(txn![1]!);
    const began = performance.now();
    try {
      if (this.handlers.receiveCrypto) await this.handlers.receiveCrypto(body as Record<string, unknown>);
      const amended = this.handlers.beforeTransaction ? await this.handlers.beforeTransaction(txnId, events) : events;
      this.handlers.onTransaction(txnId, amended, eph);
    } catch (err) {
      this.opts.observeTransaction?.('failed', (performance.now() - began) / 1000);
      throw err;
    }
    this.opts.observeTransaction?.('recorded', (performance.now() - began) / 1000);
    sendJson(res, 200, {});
  }
}

/** A JSON answer (also used by the other APIs served on this port). */
export function sendJson(res: ServerResponse, status: number, body: unknown): void {
  if (res.headersSent) return;
  const text = JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) });
  res.end(text);
}

async function readJson(req: IncomingMessage, max: number): Promise<unknown> {
  const declared = Number(req.headers['content-length'] ?? 0);
  if (declared > max) {
    req.resume();
    throw new HttpError(413, 'M_TOO_LARGE', `body over ${max} bytes`);
  }
  const chunks: Buffer[] = [];
  let total = 0;
  for await (const chunk of req as AsyncIterable<Buffer>) {
    total += chunk.length;
    if (total > max) {
      req.resume();
      throw new HttpError(413, 'M_TOO_LARGE', `body over ${max} bytes`);
    }
    chunks.push(chunk);
  }
  if (total === 0) return {};
  try {
    return JSON.parse(Buffer.concat(chunks).toString('utf8'));
  } catch {
    throw new HttpError(400, 'M_NOT_JSON', 'body is not valid JSON');
  }
}

/** A %-encoded path segment; a malformed escape is the client's error (400), not ours. */
function decodePathPart(part: string): string {
  try {
    return decodeURIComponent(part);
  } catch {
    throw new HttpError(400, 'M_INVALID_PARAM', 'malformed %-escape in the path');
  }
}
