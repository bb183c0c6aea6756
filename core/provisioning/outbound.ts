/**
 * Outbound HTTP that a request's caller can steer (OpenID checks against a server name
 * taken from a user id), guarded against SSRF: only public unicast addresses, checked
 * on the address actually connected to (so DNS rebinding cannot slip through), no
 * redirects, a timeout and a size cap.
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
  return ipaddr.process(ip).range() === 'unicast';
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
  timeoutMs: number;
  maxBytes: number;
}

/** GET a JSON document. Resolves with the status and parsed body (undefined if not JSON). */
export function getJson(url: URL, opts: OutboundOptions): Promise<{ status: number; body: unknown }> {
  if (url.protocol !== 'https:' && url.protocol !== 'http:') return Promise.reject(new OutboundRefused(`${url.protocol} URLs are not fetched`));
  const host = url.hostname.replace(/^\[|\]$/g, '');
  if (isIP(host) && !opts.allowPrivate && !isPublicAddress(host)) return Promise.reject(new OutboundRefused(`${host} is a private or reserved address`));
  const request = url.protocol === 'https:' ? httpsRequest : httpRequest;
  return new Promise((resolve, reject) => {
    const req = request(url, { method: 'GET', lookup: guardedLookup(opts.allowPrivate), timeout: opts.timeoutMs, headers: { accept: 'application/json' } }, (res) => {
      const chunks: Buffer[] = [];
      let total = 0;
      res.on('data', (c: Buffer) => {
        total += c.length;
        if (total > opts.maxBytes) {
          req.destroy(new OutboundRefused(`answer from ${url.host} is larger than ${opts.maxBytes} bytes`));
          return;
        }
        chunks.push(c);
      });
      res.on('end', () => {
        let body: unknown;
        try {
          body = JSON.parse(Buffer.concat(chunks).toString('utf8'));
        } catch {
          body = undefined;
        }
        resolve({ status: res.statusCode ?? 0, body });
      });
      res.on('error', reject);
    });
    req.on('timeout', () => req.destroy(new Error(`${url.host} did not answer within ${opts.timeoutMs} ms`)));
    req.on('error', reject);
    req.end();
  });
}
