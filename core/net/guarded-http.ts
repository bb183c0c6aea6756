/**
 * Outbound HTTP to addresses someone else chose (an OpenID check against the server in
 * a user id, a file URL in a remote message), guarded against SSRF: only public unicast
 * addresses, checked on the address actually connected to (so DNS rebinding cannot slip
 * through), no redirects, a timeout and a size cap. A leaf module: adapters may use it.
 */
import { lookup as dnsLookup, type LookupAddress } from 'node:dns';
import { request as httpRequest } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { isIP, type LookupFunction } from 'node:net';
import ipaddr from 'ipaddr.js';

export class OutboundRefused extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'OutboundRefused';
  }
}

/** Public unicast only: no loopback, private, link-local, CGNAT, multicast, reserved or unspecified ranges. */
export function isPublicAddress(ip: string): boolean {
  if (!ipaddr.isValid(ip)) return false;
  // process() turns an IPv4-mapped IPv6 address (::ffff:127.0.0.1) back into IPv4.
  const addr = ipaddr.process(ip);
  // IPv4-compatible IPv6 (::/96, deprecated by RFC 4291 §2.5.5.1): `[::127.0.0.1]` is `::7f00:1`,
  // which ipaddr.js calls unicast while some stacks connect it to 127.0.0.1. Never public.
  if (addr.kind() === 'ipv6' && (addr as ipaddr.IPv6).parts.slice(0, 6).every((p) => p === 0)) return false;
  return addr.range() === 'unicast';
}

/** A dns lookup that fails for any non-public address. */
export function guardedLookup(allowPrivate: boolean): LookupFunction {
  return (hostname, options, callback) => {
    dnsLookup(hostname, { ...options, all: true }, (err, addresses: LookupAddress[]) => {
      if (err) return (callback as (e: Error | null, a: string, f: number) => void)(err, '', 0);
      const bad = addresses.find((a) => !allowPrivate && !isPublicAddress(a.address));
      if (bad) return (callback as (e: Error | null, a: string, f: number) => void)(new OutboundRefused(`${hostname} resolves to ${bad.address}, a private or reserved address`), '', 0);
      if ((options as { all?: boolean }).all) return (callback as unknown as (e: null, a: LookupAddress[]) => void)(null, addresses);
      const first = addresses[0]!;
      return (callback as (e: null, a: string, f: number) => void)(null, first.address, first.family);
    });
  };
}

export interface OutboundOptions {
  allowPrivate: boolean;
  /** Longest silence on the connection (no byte either way). */
  timeoutMs: number;
  maxBytes: number;
  /** The whole request, however it trickles, ends by then (default 10 minutes). */
  deadlineMs?: number;
  /** An answer slower than this on average, once `afterMs` have passed, is cut (default 16 KiB/s after 10 s). */
  minRate?: { bytesPerSecond: number; afterMs: number };
}

/** A server that answers one byte every 2 s never trips an idle timeout: these bound it. */
export const DEFAULT_DEADLINE_MS = 10 * 60_000;
export const DEFAULT_MIN_RATE = { bytesPerSecond: 16 * 1024, afterMs: 10_000 };

/** GET a JSON document. Resolves with the status and parsed body (undefined if not JSON). */
export async function getJson(url: URL, opts: OutboundOptions): Promise<{ status: number; body: unknown }> {
  const res = await guardedRequest(url, 'GET', opts, { accept: 'application/json' });
  let body: unknown;
  try {
    body = JSON.parse(Buffer.from(res.bytes).toString('utf8'));
  } catch {
    body = undefined;
  }
  return { status: res.status, body };
}

/** GET bytes (a file). Rejects past `maxBytes`, and for any status but 200. */
export async function getBytes(url: URL, opts: OutboundOptions): Promise<{ bytes: Uint8Array; mime?: string }> {
  const res = await guardedRequest(url, 'GET', opts, {});
  if (res.status !== 200) throw new Error(`${url.host} answered ${res.status}`);
  return { bytes: res.bytes, ...(res.mime && { mime: res.mime }) };
}

/** PUT bytes (an upload slot). Resolves with the status. */
export async function putBytes(url: URL, bytes: Uint8Array, headers: Record<string, string>, opts: OutboundOptions): Promise<number> {
  return (await guardedRequest(url, 'PUT', opts, { ...headers, 'content-length': String(bytes.length) }, bytes)).status;
}

function guardedRequest(url: URL, method: string, opts: OutboundOptions, headers: Record<string, string>, body?: Uint8Array): Promise<{ status: number; bytes: Uint8Array; mime?: string }> {
  if (url.protocol !== 'https:' && url.protocol !== 'http:') return Promise.reject(new OutboundRefused(`${url.protocol} URLs are not fetched`));
  const host = url.hostname.replace(/^\[|\]$/g, '');
  if (isIP(host) && !opts.allowPrivate && !isPublicAddress(host)) return Promise.reject(new OutboundRefused(`${host} is a private or reserved address`));
  const request = url.protocol === 'https:' ? httpsRequest : httpRequest;
  const started = Date.now();
  const minRate = opts.minRate ?? DEFAULT_MIN_RATE;
  return new Promise((resolve, reject) => {
    let total = 0;
    const deadline = setTimeout(() => req.destroy(new Error(`${url.host} did not finish within ${opts.deadlineMs ?? DEFAULT_DEADLINE_MS} ms`)), opts.deadlineMs ?? DEFAULT_DEADLINE_MS);
    const rateCheck = setInterval(() => {
      const elapsed = Date.now() - started;
      if (elapsed >= minRate.afterMs && total / (elapsed / 1000) < minRate.bytesPerSecond) {
        req.destroy(new Error(`${url.host} is sending slower than ${minRate.bytesPerSecond} bytes/s`));
      }
    }, Math.min(1000, minRate.afterMs));
    const done = () => {
      clearTimeout(deadline);
      clearInterval(rateCheck);
    };
    const req = request(url, { method, lookup: guardedLookup(opts.allowPrivate), timeout: opts.timeoutMs, headers }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => {
        total += c.length;
        if (total > opts.maxBytes) {
          req.destroy(new OutboundRefused(`answer from ${url.host} is larger than ${opts.maxBytes} bytes`));
          return;
        }
        chunks.push(c);
      });
      res.on('end', () => {
        done();
        const mime = res.headers['content-type'];
        resolve({ status: res.statusCode ?? 0, bytes: new Uint8Array(Buffer.concat(chunks)), ...(mime && { mime }) });
      });
      res.on('error', (err) => {
        done();
        reject(err);
      });
    });
    req.on('timeout', () => req.destroy(new Error(`${url.host} did not answer within ${opts.timeoutMs} ms`)));
    req.on('error', (err) => {
      done();
      reject(err);
    });
    req.on('close', done);
    req.end(body);
  });
}
