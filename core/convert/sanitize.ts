/**
 * Sanitising of HTML that becomes a Matrix `formatted_body`: only the tags and
 * attributes the Matrix spec lists for m.room.message
 * (https://spec.matrix.org/v1.11/client-server-api/#mroommessage-msgtypes), and only
 * safe link schemes. Uses sanitize-html, the library Element's stack uses, rather than
 * a home-made filter.
 */
import sanitizeHtml from 'sanitize-html';
import { LINK_SCHEMES } from './links.js';

const OPTIONS: sanitizeHtml.IOptions = {
  allowedTags: [
    'font', 'del', 'h1', 'h2', 'h3', 'h4', 'h5', 'h6', 'blockquote', 'p', 'a', 'ul', 'ol', 'sup', 'sub', 'li', 'b', 'i',
    'u', 'strong', 'em', 'strike', 's', 'code', 'hr', 'br', 'div', 'table', 'thead', 'tbody', 'tr', 'th', 'td',
    'caption', 'pre', 'span', 'details', 'summary',
  ],
  allowedAttributes: {
    a: ['href', 'target'],
    span: ['data-mx-spoiler', 'data-mx-color', 'data-mx-bg-color'],
    font: ['data-mx-color', 'data-mx-bg-color', 'color'],
    code: ['class'],
    ol: ['start'],
  },
  allowedSchemes: [...LINK_SCHEMES],
  allowedClasses: { code: ['language-*'] },
  // Keep the text of anything removed, except content that is never text.
  disallowedTagsMode: 'discard',
  nonTextTags: ['style', 'script', 'textarea', 'option', 'noscript', 'mx-reply'],
};

export function sanitizeMatrixHtml(html: string): string {
  return sanitizeHtml(html, OPTIONS);
}
