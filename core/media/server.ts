/**
 * Serves the signed media links of links.ts on the appservice port: the bytes are read
 * from the homeserver's media repository with the bridge's own token and handed over
 * with headers that keep a browser from running anything in them.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Logger } from '../adapter.js';
import type { MatrixSide } from '../matrix/side.js';
import { MatrixRequestError } from '../matrix/side.js';
import { sendJson } from '../matrix/listener.js';
import { MEDIA_PREFIX, type MediaLinks } from './links.js';

/** Types a browser may show in place; anything else (HTML, SVG, ...) is a download of opaque bytes. */
const INLINE_TYPES = new Set([
  'image/png', 'image/jpeg', 'image/gif', 'image/webp', 'video/mp4', 'video/webm',
  'audio/mpeg', 'audio/ogg', 'audio/mp4', 'audio/webm', 'audio/wav', 'text/plain',
]);

export class MediaServer {
  constructor(private readonly links: MediaLinks, private readonly matrix: MatrixSide, private readonly maxBytes: number, private readonly log: Logger) {}

  static owns(path: string): boolean {
    return path.startsWith(`${MEDIA_PREFIX}/`);
  }

  async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const method = req.method ?? 'GET';
    if (method !== 'GET' && method !== 'HEAD') return fail(res, 405, 'M_UNRECOGNIZED', 'use GET');
    const path = (req.url ?? '/').split('?')[0]!.slice(MEDIA_PREFIX.length);
    const media = this.links.verify(path);
    // One answer for a bad signature, an expired link and a made-up path: nothing to probe.
    if (!media) return fail(res, 404, 'M_NOT_FOUND', 'no such media');
    let file: { bytes: Uint8Array; mime: string };
    try {
      file = await this.matrix.downloadMedia(media.mxc, this.maxBytes);
    } catch (err) {
      const gone = err instanceof MatrixRequestError && err.status === 404;
      this.log.info({ mxc: media.mxc, err: (err as Error).message }, 'public media link: download failed');
      return gone ? fail(res, 404, 'M_NOT_FOUND', 'no such media') : fail(res, 502, 'M_UNKNOWN', 'the media could not be read from the homeserver');
    }
    const mime = file.mime.split(';')[0]!.trim().toLowerCase();
    const inline = INLINE_TYPES.has(mime);
    res.writeHead(200, {
      'content-type': inline ? mime : 'application/octet-stream',
      'content-length': file.bytes.length,
      'content-disposition': `${inline ? 'inline' : 'attachment'}; filename*=UTF-8''${encodeURIComponent(media.name)}`,
      'x-content-type-options': 'nosniff',
      'content-security-policy': "sandbox; default-src 'none'",
      'cache-control': 'public, max-age=86400, immutable',
    });
    res.end(method === 'HEAD' ? undefined : Buffer.from(file.bytes));
  }
}

function fail(res: ServerResponse, status: number, errcode: string, error: string): void {
  sendJson(res, status, { errcode, error });
}
