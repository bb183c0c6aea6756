/**
 * Files an incoming message shares. Described files come first: Stateless File Sharing
 * (XEP-0447, `<file-sharing/>` with XEP-0446 metadata and `<url-data/>` sources) and its
 * predecessor SIMS (XEP-0385, `<media-sharing/>` inside a reference); a message with
 * neither may still carry a bare OOB link (XEP-0066). Only http(s) sources are used.
 *
 * A file described with a hash we can compute (XEP-0300) is checked after download: its
 * reference then carries the hash (`parseRef`, `checkHash` in the session's `fetchMedia`), and bytes that do not match are
 * refused. The bridge fetches files whatever their `disposition`, since the Matrix side
 * can only see what it re-hosts.
 */
import { createHash } from 'node:crypto';
import type { Element } from '@xmpp/xml';
import type { Attachment } from '../../core/events.js';
import { singleLineName } from '../../core/safety.js';
import { getBytes } from '../../core/net/guarded-http.js';
import { kindOf, mimeOf, NS_OOB } from './files.js';

const NS_SFS = 'urn:xmpp:sfs:0';
const NS_FILE_METADATA = 'urn:xmpp:file:metadata:0';
const NS_URL_DATA = 'http://jabber.org/protocol/url-data';
const NS_REFERENCE = 'urn:xmpp:reference:0';
const NS_SIMS = 'urn:xmpp:sims:1';
const NS_JINGLE_FILE = 'urn:xmpp:jingle:apps:file-transfer:5';
const NS_HASHES = 'urn:xmpp:hashes:2';

/** XEP-0300 algorithm names -> Node's, for the ones worth trusting. */
const HASHES: Record<string, string> = { 'sha-256': 'sha256', 'sha-512': 'sha512', 'sha3-256': 'sha3-256', 'sha3-512': 'sha3-512', 'blake2b-512': 'blake2b512' };
const MAX_NAME = 255;

interface SharedRef {
  url: string;
  hash?: { algo: string; base64: string };
}

/** The files a message shares, described ones first; at most one per source URL. */
export function sharedFiles(stanza: Element): Attachment[] {
  const found: Attachment[] = [];
  for (const sfs of stanza.getChildren('file-sharing', NS_SFS)) {
    const url = sfs.getChild('sources')?.getChildren('url-data', NS_URL_DATA).map((u) => u.attrs.target).find(isHttp);
    const file = describe(sfs.getChild('file', NS_FILE_METADATA), url);
    if (file) found.push(file);
  }
  for (const ref of stanza.getChildren('reference', NS_REFERENCE)) {
    const sims = ref.getChild('media-sharing', NS_SIMS);
    const url = sims?.getChild('sources')?.getChildren('reference', NS_REFERENCE).map((r) => r.attrs.uri).find(isHttp);
    const file = describe(sims?.getChild('file', NS_JINGLE_FILE), url);
    if (file) found.push(file);
  }
  const unique = found.filter((a, i) => found.findIndex((b) => refUrl(b) === refUrl(a)) === i);
  if (unique.length) return unique;
  // A bare OOB link: all there is to go on is its address (one whose name cannot be decoded is not a file).
  const oob = stanza.getChild('x', NS_OOB)?.getChildText('url')?.trim();
  return isHttp(oob) && nameFromUrl(oob) !== undefined ? [describe(undefined, oob)!] : [];
}

/** The address a file is downloaded from (what a fallback body usually repeats). */
export function refUrl(a: Attachment): string {
  return a.source.kind === 'remote' ? parseRef(a.source.ref).url : '';
}

/** The reference `fetchMedia` gets: a URL, or JSON with the URL and the hash to check. */
export function parseRef(ref: string): SharedRef {
  if (!ref.startsWith('{')) return { url: ref };
  const parsed = JSON.parse(ref) as SharedRef;
  if (!isHttp(parsed.url)) throw new Error('not an http(s) file reference');
  return parsed;
}

/** Throws when the bytes are not the file its sender described. */
export function checkHash(ref: SharedRef, bytes: Uint8Array): void {
  if (!ref.hash) return;
  const actual = createHash(ref.hash.algo).update(bytes).digest('base64');
  if (actual !== ref.hash.base64) throw new Error(`the file does not match the ${ref.hash.algo} hash its sender gave`);
}

function describe(meta: Element | undefined, url: string | undefined): Attachment | undefined {
  if (!url) return undefined;
  const named = meta?.getChildText('name');
  const name = cleanName(named) ?? cleanName(nameFromUrl(url)) ?? 'file';
  const declared = meta?.getChildText('media-type')?.trim().toLowerCase();
  const mime = declared && /^[a-z0-9][\w.+-]*\/[\w.+-]+$/.test(declared) ? declared : mimeOf(name);
  const size = Number(meta?.getChildText('size'));
  const [width, height] = dimensions(meta);
  const hash = meta?.getChildren('hash', NS_HASHES).map((h) => ({ algo: HASHES[h.attrs.algo ?? ''], base64: h.text().trim() })).find((h): h is { algo: string; base64: string } => Boolean(h.algo) && /^[A-Za-z0-9+/]+=*$/.test(h.base64));
  const ref = hash ? JSON.stringify({ url, hash } satisfies SharedRef) : url;
  return {
    kind: kindOf(mime), name, mime,
    ...(Number.isSafeInteger(size) && size >= 0 && { size }),
    ...(width && height && { width, height }),
    source: { kind: 'remote', ref },
  };
}

/** XEP-0446 gives `<width/>`/`<height/>` (older) or `<dimensions>WxH</dimensions>`. */
function dimensions(meta: Element | undefined): [number, number] | [] {
  const fromText = /^(\d{1,5})x(\d{1,5})$/.exec(meta?.getChildText('dimensions')?.trim() ?? '');
  const w = Number(fromText?.[1] ?? meta?.getChildText('width'));
  const h = Number(fromText?.[2] ?? meta?.getChildText('height'));
  return Number.isInteger(w) && Number.isInteger(h) && w > 0 && h > 0 ? [w, h] : [];
}

function cleanName(name: string | null | undefined): string | undefined {
  if (!name?.trim()) return undefined;
  // A name is shown, never used as a path; one line, no separators.
  const clean = singleLineName(name).replace(/[/\\]/g, '_').slice(0, MAX_NAME);
  return clean === '?' ? undefined : clean;
}

function nameFromUrl(url: string): string | undefined {
  try {
    return decodeURIComponent(new URL(url).pathname.split('/').pop() ?? '');
  } catch {
    return undefined;
  }
}

function isHttp(url: string | undefined): url is string {
  if (!url || !/^https?:\/\/\S+$/.test(url)) return false;
  try {
    new URL(url);
    return true;
  } catch {
    return false;
  }
}

/** Download a shared file (`fetchMedia`): at most `maxBytes`, refused when its hash does not match. */
export async function fetchShared(ref: string, maxBytes: number, allowPrivate: boolean): Promise<Uint8Array> {
  const shared = parseRef(ref);
  const { bytes } = await getBytes(new URL(shared.url), { allowPrivate, timeoutMs: 60_000, maxBytes });
  checkHash(shared, bytes);
  return bytes;
}
