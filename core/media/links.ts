/**
 * Signed public links to Matrix media, for people on networks that cannot take a file
 * as a file (too big, a kind they do not carry, no upload service). Only media the
 * bridge itself linked can be fetched: the path carries an HMAC of the media id and
 * the expiry under `public_media.signing_key`, so the endpoint is not an open proxy
 * to the homeserver's media repository.
 */
import { createHmac, timingSafeEqual } from 'node:crypto';

/** Where the links are served on the appservice port. */
export const MEDIA_PREFIX = '/_switchboard/media';
const VERSION = 'v1';

export interface MediaLinkSettings {
  url: string;
  signingKey: string;
  /** 0: links never expire. */
  expirySeconds: number;
}

export interface LinkedMedia {
  mxc: string;
  /** The file name the link ends with (shown by browsers when saving). */
  name: string;
}

export class MediaLinks {
  private readonly base: string;

  constructor(private readonly settings: MediaLinkSettings, private readonly now: () => number = Date.now) {
    this.base = settings.url.replace(/\/+$/, '');
  }

  /** The public link to a Matrix media item, or undefined for something that is not an mxc URI. */
  link(mxc: string, name: string): string | undefined {
    const parsed = parseMxc(mxc);
    if (!parsed) return undefined;
    const expires = this.settings.expirySeconds ? Math.floor(this.now() / 1000) + this.settings.expirySeconds : 0;
    const sig = this.sign(parsed.server, parsed.mediaId, expires);
    const file = encodeURIComponent(safeFileName(name));
    return `${this.base}/${VERSION}/${encodeURIComponent(parsed.server)}/${encodeURIComponent(parsed.mediaId)}/${expires}/${sig}/${file}`;
  }

  /**
   * The media a request path names, when its signature is ours and it has not expired.
   * `path` is relative to MEDIA_PREFIX, e.g. `/v1/example.org/abc/0/<sig>/cat.png`.
   */
  verify(path: string): LinkedMedia | undefined {
    const parts = path.split('/');
    if (parts.length !== 7 || parts[0] !== '' || parts[1] !== VERSION) return undefined;
    let server: string, mediaId: string, name: string;
    try {
      [server, mediaId, name] = [decodeURIComponent(parts[2]!), decodeURIComponent(parts[3]!), decodeURIComponent(parts[6]!)];
    } catch {
      return undefined;
    }
    const expires = Number(parts[4]);
    if (!Number.isSafeInteger(expires) || expires < 0 || String(expires) !== parts[4]) return undefined;
    if (!parseMxc(`mxc://${server}/${mediaId}`)) return undefined;
    const expected = Buffer.from(this.sign(server, mediaId, expires));
    const given = Buffer.from(parts[5]!);
    if (given.length !== expected.length || !timingSafeEqual(given, expected)) return undefined;
    if (expires && expires * 1000 < this.now()) return undefined;
    return { mxc: `mxc://${server}/${mediaId}`, name: safeFileName(name) };
  }

  private sign(server: string, mediaId: string, expires: number): string {
    return createHmac('sha256', this.settings.signingKey).update(`${VERSION}\u0000${server}\u0000${mediaId}\u0000${expires}`).digest('base64url').slice(0, 32);
  }
}

/** An mxc URI's parts, by the spec's grammar (server name, then an opaque id of URL-safe characters). */
export function parseMxc(mxc: string): { server: string; mediaId: string } | undefined {
  const m = /^mxc:\/\/([A-Za-z0-9.:[\]-]+)\/([A-Za-z0-9_-]+)$/.exec(mxc);
  return m ? { server: m[1]!, mediaId: m[2]! } : undefined;
}

/** A file name fit for a URL's last segment and a Content-Disposition header. */
export function safeFileName(name: string): string {
  const cleaned = name.replace(/[\u0000-\u001f\u007f/\\"]/g, '_').trim().slice(0, 120);
  return cleaned || 'file';
}
