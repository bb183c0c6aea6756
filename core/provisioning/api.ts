/**
 * The provisioning HTTP API (`/_switchboard/provision/v1`) for integration managers
 * and web UIs. Every request: rate limit by address, shared secret (constant time),
 * then the acting user proven by IdentityVerifier, then the same rules as the bot
 * commands (LoginManager, core/linking.ts). Documented in docs/provisioning.openapi.yaml.
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { RateLimiterMemory, RateLimiterRes } from 'rate-limiter-flexible';
import { z } from 'zod';
import type { Logger } from '../adapter.js';
import { atLeast, permissionOf, type Config, type PermissionLevel } from '../config.js';
import type { BridgeContext } from '../context.js';
import { matrixRoomId, networkId, type MatrixUserId } from '../ids.js';
import { phoneAudit } from '../identity/audit.js';
import { LinkRefused, portalsOf, startLink, unlinkRoom } from '../linking.js';
import { LoginRefused, type LoginManager } from '../accounts/logins.js';
import type { PortalRow } from '../store/store.js';
import { IdentityError, IdentityVerifier } from './identity.js';

export const PROVISION_PREFIX = '/_switchboard/provision/v1';
const MAX_BODY_BYTES = 64 * 1024;

class ApiError extends Error {
  constructor(readonly status: number, readonly errcode: string, message: string, readonly extra: Record<string, unknown> = {}) {
    super(message);
  }
}

interface Caller {
  userId: MatrixUserId;
  level: PermissionLevel;
}

// Room version 12 ids have no server part (`!opaque`); older ones do (`!opaque:server`).
const roomIdSchema = z.string().max(255).regex(/^![\x21-\x7e]+$/, 'must be a Matrix room id like !abc:example.org');
const linkBody = z.object({ room_id: roomIdSchema, network: z.string().min(1), chat: z.string().min(1), direction: z.enum(['both', 'in', 'out']).default('both'), name_template: z.string().min(1).optional() }).strict();
const unlinkBody = z.object({ room_id: roomIdSchema, network: z.string().min(1).optional(), chat: z.string().min(1).optional() }).strict();
const stepBody = z.object({ input: z.record(z.string(), z.string().max(4096)).default({}) }).strict();

const digest = (s: string) => createHash('sha256').update(s).digest();

export class ProvisioningApi {
  private readonly secretDigest: Buffer;
  private readonly limiter: RateLimiterMemory;
  private readonly identity: IdentityVerifier;

  constructor(private readonly ctx: BridgeContext, private readonly logins: LoginManager, private readonly log: Logger) {
    const conf: Config['provisioning'] = ctx.config.provisioning;
    if (!conf.shared_secret || conf.shared_secret.length < 16) throw new Error('provisioning.shared_secret must be at least 16 characters');
    this.secretDigest = digest(conf.shared_secret);
    this.limiter = new RateLimiterMemory({ points: conf.requests_per_minute, duration: 60 });
    this.identity = new IdentityVerifier(ctx.config);
  }

  /** Whether a request path is this API's. */
  static owns(path: string): boolean {
    return path === PROVISION_PREFIX || path.startsWith(`${PROVISION_PREFIX}/`);
  }

  async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    // Browsers (web integration managers) ask first; the API uses headers, never cookies.
    res.setHeader('access-control-allow-origin', '*');
    res.setHeader('access-control-allow-headers', 'authorization, content-type, x-matrix-access-token, x-matrix-openid-token');
    res.setHeader('access-control-allow-methods', 'GET, POST, DELETE, OPTIONS');
    if (req.method === 'OPTIONS') return reply(res, 204, undefined);
    try {
      await this.rateLimit(req);
      this.checkSecret(req);
      const caller = await this.caller(req);
      reply(res, 200, await this.route(req, caller));
    } catch (err) {
      const e = toApiError(err);
      if (e.status >= 500) this.log.warn({ err: String(err), path: req.url?.split('?')[0] }, 'provisioning request failed');
      if (e.status === 429) res.setHeader('retry-after', String(Math.ceil(Number(e.extra.retry_after_ms) / 1000)));
      reply(res, e.status, { errcode: e.errcode, error: e.message, ...e.extra });
    }
  }

  private async rateLimit(req: IncomingMessage): Promise<void> {
    try {
      await this.limiter.consume(req.socket.remoteAddress ?? 'unknown');
    } catch (r) {
      if (r instanceof RateLimiterRes) throw new ApiError(429, 'M_LIMIT_EXCEEDED', 'too many requests', { retry_after_ms: r.msBeforeNext });
      throw r;
    }
  }

  private checkSecret(req: IncomingMessage): void {
    const m = /^Bearer (.+)$/.exec(req.headers.authorization ?? '');
    if (!m) throw new ApiError(401, 'M_MISSING_TOKEN', 'missing Authorization: Bearer <provisioning shared secret>');
    if (!timingSafeEqual(digest(m[1]!), this.secretDigest)) throw new ApiError(403, 'M_UNKNOWN_TOKEN', 'wrong provisioning shared secret');
  }

  private async caller(req: IncomingMessage): Promise<Caller> {
    const url = new URL(req.url ?? '/', 'http://x');
    const header = (name: string) => {
      const v = req.headers[name];
      return typeof v === 'string' && v ? v : undefined;
    };
    const accessToken = header('x-matrix-access-token');
    const openIdToken = header('x-matrix-openid-token');
    const claimedUserId = url.searchParams.get('user_id') ?? undefined;
    const userId = await this.identity.verify({ ...(accessToken && { accessToken }), ...(openIdToken && { openIdToken }), ...(claimedUserId && { claimedUserId }) });
    const level = permissionOf(this.ctx.config, userId);
    if (level === 'none') throw new ApiError(403, 'M_FORBIDDEN', `${userId} may not use this bridge`);
    return { userId, level };
  }

  private async route(req: IncomingMessage, caller: Caller): Promise<unknown> {
    const url = new URL(req.url ?? '/', 'http://x');
    const path = url.pathname.slice(PROVISION_PREFIX.length);
    const method = req.method ?? 'GET';
    const is = (m: string, re: RegExp) => (method === m ? re.exec(path) : null);
    let m: RegExpExecArray | null;

    if (is('GET', /^\/whoami$/)) return this.whoami(caller);
    if (is('GET', /^\/networks$/)) return { networks: this.networks() };
    const needUser = () => {
      if (!atLeast(caller.level, 'user')) throw new ApiError(403, 'M_FORBIDDEN', `this needs the bridge permission "user"; ${caller.userId} has "${caller.level}"`);
    };
    if (is('GET', /^\/logins$/)) return { logins: this.loginsOf(caller.userId) };
    if (is('GET', /^\/audit$/)) {
      // The phone-number ledger (identity/audit.ts): counts only, for bridge admins.
      if (!atLeast(caller.level, 'admin')) throw new ApiError(403, 'M_FORBIDDEN', `this needs the bridge permission "admin"; ${caller.userId} has "${caller.level}"`);
      return phoneAudit(this.ctx.store, this.ctx.naming.phones);
    }
    if ((m = is('POST', /^\/login\/([a-z0-9]+)$/))) {
      needUser();
      await readBody(req);
      return this.logins.start(caller.userId, networkId(m[1]!));
    }
    if ((m = is('POST', /^\/login\/flows\/([A-Za-z0-9_-]+)$/))) {
      const body = parse(stepBody, await readBody(req));
      return this.logins.submit(caller.userId, m[1]!, body.input);
    }
    if ((m = is('DELETE', /^\/login\/flows\/([A-Za-z0-9_-]+)$/))) {
      await this.logins.cancel(caller.userId, m[1]!);
      return {};
    }
    if ((m = is('POST', /^\/logout\/([a-z0-9]+)$/))) {
      needUser();
      return { logged_out: await this.logins.logout(caller.userId, networkId(m[1]!)) };
    }
    if (is('GET', /^\/portals$/)) {
      needUser();
      return { portals: (await portalsOf(this.ctx, caller, url.searchParams.get('all') === 'true')).map(portalJson) };
    }
    if (is('POST', /^\/link$/)) {
      needUser();
      const body = parse(linkBody, await readBody(req));
      const start = await startLink(this.ctx, caller, matrixRoomId(body.room_id), body.network.toLowerCase(), body.chat, {
        direction: body.direction, ...(body.name_template !== undefined && { nameTemplate: body.name_template }),
      });
      if (start.status === 'pending') {
        // Completes by itself once the chat's admins confirm; `portals` shows it then.
        start.done.catch((err: unknown) => this.log.info({ roomId: body.room_id, err: String(err) }, 'pending link not made'));
        return { pending: true, instructions: start.instructions, expires_in_s: start.expiresInS };
      }
      const result = start.result;
      return { portal: portalJson(result.portal), bridge_state_set: !result.bridgeStateMissing, ...(result.relayMissing && { relay_unreachable: result.relayMissing }) };
    }
    if (is('POST', /^\/unlink$/)) {
      needUser();
      const body = parse(unlinkBody, await readBody(req));
      return { portal: portalJson(await unlinkRoom(this.ctx, caller, matrixRoomId(body.room_id), body.network, body.chat)) };
    }
    throw new ApiError(404, 'M_UNRECOGNIZED', `no ${method} ${PROVISION_PREFIX}${path}`);
  }

  private whoami(caller: Caller) {
    return { user_id: caller.userId, permission: caller.level, logins: this.loginsOf(caller.userId), networks: this.networks().map((n) => n.id) };
  }

  private networks() {
    return this.ctx.sessions.allNetworks().map((n) => ({ id: n.id, display_name: n.adapter.displayName, capabilities: n.adapter.capabilities, relay: Boolean(this.ctx.sessions.relay(n.id)) }));
  }

  private loginsOf(userId: MatrixUserId) {
    return this.ctx.sessions.all().filter((l) => l.login.owner === userId).map((l) => ({
      login_id: l.login.loginId, network: l.login.network, remote_user: l.login.remoteUser ?? null, state: l.state.state, ...('reason' in l.state && { reason: l.state.reason }),
    }));
  }
}

function portalJson(p: PortalRow) {
  return { network: p.network, chat_id: p.chatId, kind: p.kind, room_id: p.roomId ?? null, name: p.name ?? null, relay: p.relay !== false, direction: p.direction ?? 'both', name_template: p.nameTemplate ?? null };
}

function parse<T>(schema: z.ZodType<T>, body: unknown): T {
  const r = schema.safeParse(body);
  if (!r.success) {
    const issue = r.error.issues[0]!;
    throw new ApiError(400, 'M_INVALID_PARAM', `${issue.path.join('.') || 'body'}: ${issue.message}`);
  }
  return r.data;
}

const REFUSAL_STATUS = { forbidden: [403, 'M_FORBIDDEN'], 'not-found': [404, 'M_NOT_FOUND'], conflict: [409, 'SB_CONFLICT'], 'bad-input': [400, 'M_INVALID_PARAM'] } as const;

function toApiError(err: unknown): ApiError {
  if (err instanceof ApiError) return err;
  if (err instanceof LoginRefused || err instanceof LinkRefused) {
    const [status, code] = REFUSAL_STATUS[err.code];
    return new ApiError(status, code, err.message);
  }
  if (err instanceof IdentityError) return new ApiError(err.status, err.status === 502 ? 'M_UNKNOWN' : err.status === 401 ? 'M_MISSING_TOKEN' : err.status === 400 ? 'M_INVALID_PARAM' : 'M_FORBIDDEN', err.message);
  return new ApiError(500, 'M_UNKNOWN', 'internal error; see the bridge log');
}

function reply(res: ServerResponse, status: number, body: unknown): void {
  if (res.headersSent) return;
  if (body === undefined) {
    res.writeHead(status).end();
    return;
  }
  const text = JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) });
  res.end(text);
}

async function readBody(req: IncomingMessage): Promise<unknown> {
  const chunks: Buffer[] = [];
  let total = 0;
  for await (const chunk of req as AsyncIterable<Buffer>) {
    total += chunk.length;
    if (total > MAX_BODY_BYTES) throw new ApiError(413, 'M_TOO_LARGE', `body over ${MAX_BODY_BYTES} bytes`);
    chunks.push(chunk);
  }
  if (!total) return {};
  try {
    return JSON.parse(Buffer.concat(chunks).toString('utf8'));
  } catch {
    throw new ApiError(400, 'M_NOT_JSON', 'body is not valid JSON');
  }
}
