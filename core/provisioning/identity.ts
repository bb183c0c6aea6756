/**
 * Who is acting on a provisioning request. The shared secret proves the caller is a
 * trusted integration manager; the user is then proven by their own Matrix access
 * token (checked with our homeserver's /whoami) or by an OpenID token checked against
 * the claimed user's own homeserver, whose answer must name that very user.
 */
import { isIP } from 'node:net';
import type { Config } from '../config.js';
import { matrixUserId, splitUserId, type MatrixUserId } from '../ids.js';
import { getJson, OutboundRefused, type OutboundOptions } from '../net/guarded-http.js';

export class IdentityError extends Error {
  constructor(message: string, readonly status: 400 | 401 | 403 | 502) {
    super(message);
    this.name = 'IdentityError';
  }
}

const TIMEOUT_MS = 10_000;
/**
 * A user id by the spec's grammar: a historical localpart (printable ASCII but ':'), a
 * server name (DNS name, IPv4 or bracketed IPv6, optional port). Anything else (a space,
 * a path, a bare `@`) is refused as a bad request before any URL is built from it.
 */
const USER_ID = /^@[\x21-\x39\x3b-\x7e]+:(?:\[[0-9A-Fa-f:.]{2,45}\]|[A-Za-z0-9.-]{1,255})(?::\d{1,5})?$/;
const MAX_BYTES = 64 * 1024;

export interface IdentityProof {
  accessToken?: string;
  openIdToken?: string;
  /** The user an OpenID token claims to be (`user_id` query parameter). */
  claimedUserId?: string;
}

export class IdentityVerifier {
  private readonly outbound: OutboundOptions;

  constructor(private readonly config: Config) {
    this.outbound = { allowPrivate: config.provisioning.allow_private_lookups, timeoutMs: TIMEOUT_MS, maxBytes: MAX_BYTES };
  }

  async verify(proof: IdentityProof): Promise<MatrixUserId> {
    if (proof.accessToken) return this.byAccessToken(proof.accessToken);
    if (proof.openIdToken) {
      if (!proof.claimedUserId) throw new IdentityError('an OpenID token needs the user_id query parameter', 401);
      return this.byOpenId(proof.claimedUserId, proof.openIdToken);
    }
    throw new IdentityError('say who is acting: X-Matrix-Access-Token, or X-Matrix-OpenID-Token with ?user_id=', 401);
  }

  /** Our own homeserver, at its configured URL (trusted: the admin wrote it). */
  private async byAccessToken(token: string): Promise<MatrixUserId> {
    const url = new URL('/_matrix/client/v3/account/whoami', this.config.homeserver.url);
    let res: Response;
    try {
      res = await fetch(url, { headers: { authorization: `Bearer ${token}` }, signal: AbortSignal.timeout(TIMEOUT_MS), redirect: 'error' });
    } catch (err) {
      throw new IdentityError(`the homeserver could not be asked who this is: ${(err as Error).message}`, 502);
    }
    const body = (await res.json().catch(() => undefined)) as { user_id?: unknown } | undefined;
    if (res.status === 401 || res.status === 403) throw new IdentityError('the Matrix access token is not valid', 403);
    if (!res.ok || typeof body?.user_id !== 'string') throw new IdentityError(`the homeserver answered /whoami with ${res.status}`, 502);
    return matrixUserId(body.user_id);
  }

  private async byOpenId(claimed: string, token: string): Promise<MatrixUserId> {
    const parts = USER_ID.test(claimed) && claimed.length <= 255 ? splitUserId(claimed) : undefined;
    if (!parts) throw new IdentityError('user_id is not a Matrix user id (@localpart:server.name)', 400);
    const base = parts.server === this.config.homeserver.domain ? new URL(this.config.homeserver.url) : await this.federationBase(parts.server);
    const url = new URL('/_matrix/federation/v1/openid/userinfo', base);
    url.searchParams.set('access_token', token);
    let answer: { status: number; body: unknown };
    try {
      answer = parts.server === this.config.homeserver.domain
        ? await getJson(url, { ...this.outbound, allowPrivate: true }) // our own homeserver, configured by the admin
        : await getJson(url, this.outbound);
    } catch (err) {
      throw new IdentityError(`${parts.server} could not be asked about the OpenID token: ${(err as Error).message}`, err instanceof OutboundRefused ? 403 : 502);
    }
    const sub = (answer.body as { sub?: unknown } | undefined)?.sub;
    if (answer.status !== 200 || typeof sub !== 'string') throw new IdentityError('the OpenID token is not valid', 403);
    if (sub !== claimed) throw new IdentityError(`the OpenID token belongs to ${sub}, not ${claimed}`, 403);
    return matrixUserId(sub);
  }

  /**
   * Where a server name's federation API lives: an explicit port or IP literal as is,
   * else `.well-known/matrix/server`, else port 8448. (SRV records are not consulted.)
   */
  private async federationBase(server: string): Promise<URL> {
    const hostOnly = server.replace(/:\d+$/, '').replace(/^\[|\]$/g, '');
    if (/:\d+$/.test(server) || isIP(hostOnly)) return new URL(`https://${server}`);
    try {
      const wk = await getJson(new URL(`https://${server}/.well-known/matrix/server`), this.outbound);
      const delegated = (wk.body as { 'm.server'?: unknown } | undefined)?.['m.server'];
      if (wk.status === 200 && typeof delegated === 'string' && /^[A-Za-z0-9.-]+(:\d+)?$|^\[[0-9a-fA-F:.]+\](:\d+)?$/.test(delegated)) {
        return new URL(`https://${/:\d+$/.test(delegated) ? delegated : `${delegated}:8448`}`);
      }
    } catch (err) {
      if (err instanceof OutboundRefused) throw new IdentityError(`${server}: ${err.message}`, 403);
      // No well-known: the default port.
    }
    return new URL(`https://${server}:8448`);
  }
}
