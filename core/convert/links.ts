/**
 * Which links cross the bridge as links, both ways: an allow-list of URL schemes
 * (DESIGN.md, "Links"). Anything else (`javascript:`, `vbscript:`, `data:`, `file:`, a
 * scheme nobody has heard of) stays as the text it was shown as, never a link.
 */

/** Schemes bridged as links; sanitize-html uses the same list for Matrix HTML (sanitize.ts). */
export const LINK_SCHEMES = ['http', 'https', 'mailto', 'xmpp', 'matrix', 'tel', 'geo', 'magnet', 'sms', 'tg', 'irc', 'ircs'] as const;

const ALLOWED = new Set<string>(LINK_SCHEMES);

/** Whether `url` may be a link: an absolute URL of an allowed scheme (case and leading space as browsers read them). */
export function isAllowedLink(url: string): boolean {
  // Browsers drop leading controls and spaces, and tabs and newlines anywhere, before reading the scheme.
  const cleaned = url.replace(/^[\u0000-\u0020]+/, '').replace(/[\t\n\r]/g, '');
  const m = /^([A-Za-z][A-Za-z0-9+.-]{0,31}):/.exec(cleaned);
  return m !== null && ALLOWED.has(m[1]!.toLowerCase());
}
