/**
 * Property-based tier (issue 19): every parser and converter that reads what strangers
 * write, fed generated hostile input. For each: it never throws (or throws only the clear
 * error it promises), its output is well-formed, and no disallowed link scheme or
 * element survives. Growth with input size is measured in bench/parsers.ts (tests carry
 * no timed assertions). `FUZZ_RUNS` scales the number of cases (default 1,000 each).
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import xml from '@xmpp/xml';
import { Parser } from 'htmlparser2';
import { fromMatrix } from '../../core/convert/from-matrix.js';
import { htmlToSpans, spansToHtml } from '../../core/convert/html.js';
import { isAllowedLink } from '../../core/convert/links.js';
import { sanitizeMatrixHtml } from '../../core/convert/sanitize.js';
import { textToMatrix } from '../../core/convert/to-matrix.js';
import { wellFormed } from '../../core/convert/unicode.js';
import { fitContent } from '../../core/convert/fit.js';
import { parseConfig } from '../../core/config.js';
import type { FormatSpan } from '../../core/events.js';
import { matrixUserId, remoteUserId, type RemoteUserId } from '../../core/ids.js';
import { identifierProblem, singleLineName } from '../../core/safety.js';
import { entitiesToSpans, spansToEntities } from '../../bridges/telegram/entities.js';
import { parseBareJid } from '../../bridges/xmpp/config.js';
import { parseMessage } from '../../bridges/xmpp/stanzas.js';
import { parseStyling, toStyled } from '../../bridges/xmpp/styling.js';

const RUNS = Number(process.env.FUZZ_RUNS ?? 1000);
const params = { numRuns: RUNS };
const ghostOf = (u: RemoteUserId) => matrixUserId(`@_x_${u}:hs`);
const mention = (userId: string) => (userId.startsWith('@_x_') ? remoteUserId(userId.slice(4, userId.indexOf(':') > 0 ? userId.indexOf(':') : undefined)) : undefined);

/** Pieces attackers put in markup: tags, broken tags, entities, schemes, controls, surrogates. */
const HOSTILE = [
  '<', '>', '</', '/>', '"', "'", '&', '&amp;', '&#0;', '&#x202e;', '<b>', '</b>', '<i>', '</i>', '<pre>', '</pre>', '<code class="language-js">', '</code>',
  '<a href="javascript:alert(1)">', '<a href="data:text/html,x">', '<a href=" JAVASCRIPT:x">', '<a href="https://matrix.to/#/@%E0%A4%A:x">', '<a href="https://matrix.to/#/@_x_bob:hs">', '</a>',
  '<script>', '</script>', '<style>', '</style>', '<math>', '</math>', '<textarea>', '</textarea>', '<svg onload=x>', '<img src=x onerror=alert(1) alt="A">',
  '<mx-reply>', '</mx-reply>', '<ol start="-5">', '<li>', '<br>', '<p>', '</p>', '<span data-mx-spoiler>', '<!--', '-->', '<![CDATA[', ']]>',
  ' ', '   ', '\n', '\t', '\u0000', '\u202e', '\u2028', '\ud800', '\udc00', '😀', 'x', '*', '_', '~', '`', '```', '> ', 'javascript:', 'file:///etc/passwd',
];
const hostileText = fc.array(fc.oneof(fc.constantFrom(...HOSTILE), fc.string({ maxLength: 8 }), fc.string({ unit: 'binary', maxLength: 4 })), { maxLength: 80 }).map((parts) => parts.join(''));

const spanArb = (len: number) => fc.oneof(
  fc.record({ kind: fc.constantFrom('bold', 'italic', 'underline', 'strike', 'code', 'spoiler', 'blockquote', 'pre'), offset: fc.integer({ min: -2, max: len + 2 }), length: fc.integer({ min: -1, max: len + 2 }) }),
  fc.record({ kind: fc.constant('link'), offset: fc.integer({ min: -2, max: len + 2 }), length: fc.integer({ min: -1, max: len + 2 }), url: fc.oneof(fc.constantFrom('javascript:alert(1)', 'https://ok.example', 'data:x', 'vbscript:x', ' JavaScript:x', 'mailto:a@b'), fc.string()) }),
  fc.record({ kind: fc.constant('mention'), offset: fc.integer({ min: -2, max: len + 2 }), length: fc.integer({ min: -1, max: len + 2 }), user: fc.string().map(remoteUserId) }),
) as fc.Arbitrary<FormatSpan>;
const textWithSpans = hostileText.chain((text) => fc.tuple(fc.constant(text), fc.array(spanArb(text.length), { maxLength: 30 })));

/** Every element of generated HTML, as a browser's parser reads it: only allowed links, no script-like element. */
function assertSafeHtml(html: string): void {
  const parser = new Parser({
    onopentag(name, attrs) {
      assert.ok(!['script', 'style', 'math', 'textarea', 'svg', 'iframe', 'object', 'embed'].includes(name), `<${name}> survived`);
      if (attrs.href !== undefined) assert.ok(isAllowedLink(attrs.href), `disallowed href survived: ${attrs.href}`);
      for (const a of Object.keys(attrs)) assert.doesNotMatch(a, /^on/i, `event handler ${a} survived`);
    },
  }, { decodeEntities: true, lowerCaseTags: true });
  parser.write(html);
  parser.end();
}

function spansInBounds(text: string, spans: readonly FormatSpan[]): void {
  for (const s of spans) assert.ok(s.offset >= 0 && s.length > 0 && s.offset + s.length <= text.length, `span out of bounds: ${JSON.stringify(s)} in ${text.length}`);
}

describe('fuzz: parsers and converters never throw, and nothing unsafe survives', () => {
  it('Matrix HTML -> spans (htmlToSpans, fromMatrix)', (t) => {
    fc.assert(fc.property(hostileText, fc.string(), (html, body) => {
      const parsed = htmlToSpans(html, mention);
      spansInBounds(parsed.text, parsed.spans);
      for (const s of parsed.spans) if (s.kind === 'link') assert.ok(isAllowedLink(s.url), s.url);
      assert.doesNotMatch(parsed.text, /alert\(1\)|onerror/, 'text of a script or an attribute became message text');
      const msg = fromMatrix({ msgtype: 'm.text', body, format: 'org.matrix.custom.html', formatted_body: html }, mention);
      assert.ok(msg);
    }), params);
    t.diagnostic(`cases: ${RUNS}`);
  });

  it('spans -> Matrix HTML (spansToHtml, sanitiser, textToMatrix)', (t) => {
    fc.assert(fc.property(textWithSpans, ([text, spans]) => {
      const html = spansToHtml(text, spans, ghostOf);
      assert.equal(sanitizeMatrixHtml(html).length >= 0, true);
      const content = textToMatrix({ kind: 'text', text: text.toWellFormed(), spans }, ghostOf);
      if (content?.formatted_body) assertSafeHtml(content.formatted_body);
      // Well-formed text in, well-formed HTML out, whatever the spans (a tag between the halves of an emoji made lone surrogates).
      if (content?.formatted_body) assert.ok(content.formatted_body.isWellFormed(), 'a span split a surrogate pair');
      // What comes back from the HTML is the same text (modulo white space the HTML rules collapse).
      if (content?.formatted_body) htmlToSpans(content.formatted_body, mention);
    }), params);
    t.diagnostic(`cases: ${RUNS}`);
  });

  it('XEP-0393 styling both ways', (t) => {
    fc.assert(fc.property(textWithSpans, ([text, spans]) => {
      spansInBounds(text, parseStyling(text));
      const styled = toStyled({ kind: 'text', text, spans: spans.filter((s) => s.offset >= 0 && s.length > 0 && s.offset + s.length <= text.length) });
      assert.equal(typeof styled, 'string');
      assert.equal(toStyled({ kind: 'text', text }), text, 'without spans the text is unchanged');
    }), params);
    t.diagnostic(`cases: ${RUNS}`);
  });

  it('Telegram entities both ways', (t) => {
    const entity = fc.record({ type: fc.constantFrom('bold', 'italic', 'pre', 'text_link', 'text_mention', 'code', 'url', 'nonsense'), offset: fc.oneof(fc.integer({ min: -5, max: 100 }), fc.double()), length: fc.oneof(fc.integer({ min: -5, max: 100 }), fc.constant(Number.NaN)), url: fc.oneof(fc.string(), fc.constant('javascript:x')), user: fc.oneof(fc.record({ id: fc.integer() }), fc.constant(null)), language: fc.string() }, { requiredKeys: [] });
    fc.assert(fc.property(hostileText, fc.array(fc.oneof(entity, fc.anything()), { maxLength: 20 }), (text, entities) => {
      const spans = entitiesToSpans(text, entities);
      spansInBounds(text, spans);
      for (const s of spans) {
        const start = text.charCodeAt(s.offset);
        assert.ok(!(s.offset > 0 && start >= 0xdc00 && start <= 0xdfff), 'a span starts inside a surrogate pair');
      }
      spansToEntities(spans);
      const content = textToMatrix({ kind: 'text', text, spans }, ghostOf);
      if (content?.formatted_body) assertSafeHtml(content.formatted_body);
    }), params);
    t.diagnostic(`cases: ${RUNS}`);
  });

  it('XMPP message stanzas from anyone', (t) => {
    const ctx = { self: 'alice@xmpp.test', mucs: new Map([['room@conference.xmpp.test', 'alice']]), stanzaIdOf: () => undefined };
    const child = fc.oneof(
      fc.tuple(fc.constantFrom('body', 'subject', 'thread'), hostileText).map(([n, txt]) => xml(n, {}, txt)),
      fc.tuple(fc.constantFrom('retract', 'replace', 'reactions', 'reply', 'apply-to', 'displayed', 'origin-id', 'stanza-id', 'fallback', 'composing', 'file-sharing', 'reference', 'x'), fc.constantFrom('urn:xmpp:message-retract:1', 'urn:xmpp:message-retract:0', 'urn:xmpp:fasten:0', 'urn:xmpp:message-correct:0', 'urn:xmpp:reactions:0', 'urn:xmpp:reply:0', 'urn:xmpp:fallback:0', 'urn:xmpp:sid:0', 'jabber:x:oob', 'urn:xmpp:sfs:0', 'urn:xmpp:sims:1', 'x'), fc.option(fc.string({ maxLength: 20 })), fc.array(fc.tuple(fc.constantFrom('reaction', 'retract', 'body', 'url', 'file'), fc.string({ maxLength: 10 })), { maxLength: 5 }))
        .map(([n, ns, id, kids]) => xml(n, { xmlns: ns, ...(id !== null && { id, by: id, for: ns, start: id, end: id }) }, ...kids.map(([k, v]) => xml(k, { xmlns: ns, start: v, end: v }, v)))),
    );
    const stanza = fc.tuple(fc.constantFrom('chat', 'groupchat', 'normal', 'error', 'headline'), fc.constantFrom('bob@xmpp.test/phone', 'room@conference.xmpp.test/bob', 'room@conference.xmpp.test', 'alice@xmpp.test/other', 'evil@x/..', ''), fc.option(fc.string({ maxLength: 10 })), fc.array(child, { maxLength: 6 }))
      .map(([type, from, id, kids]) => xml('message', { type, ...(from && { from }), ...(id !== null && { id }) }, ...kids));
    fc.assert(fc.property(stanza, (st) => {
      try {
        const parsed = parseMessage(st, ctx);
        const ev = parsed.event;
        if (ev && 'content' in ev) spansInBounds(ev.content.text, ev.content.spans ?? []);
      } catch (err) {
        // A JID the library cannot parse is the only error a stanza may cause; the session drops such a stanza.
        assert.match(String(err), /Invalid|JID|jid/i);
      }
    }), params);
    t.diagnostic(`cases: ${RUNS}`);
  });

  it('JIDs and identifiers typed by people', (t) => {
    fc.assert(fc.property(hostileText, (input) => {
      try {
        const j = parseBareJid(input);
        assert.doesNotMatch(j, /[\s\u0000-\u001f]/);
      } catch (err) {
        assert.ok(err instanceof Error && err.message.length > 0);
      }
      const problem = identifierProblem(input);
      if (problem === undefined) assert.doesNotMatch(input, /[\s\u0000-\u001f\u007f-\u009f\u2028\u2029]/);
      assert.doesNotMatch(singleLineName(input), /[\r\n\u2028\u2029]/);
    }), params);
    t.diagnostic(`cases: ${RUNS}`);
  });

  it('text is well-formed after the boundary, and fitted content fits', (t) => {
    fc.assert(fc.property(fc.anything(), hostileText, (value, text) => {
      const fixed = wellFormed(value);
      const strings: string[] = [];
      JSON.stringify(fixed, (k, v) => { strings.push(k); if (typeof v === 'string') strings.push(v); return v; });
      for (const s of strings) assert.ok(s.isWellFormed(), 'a lone surrogate survived');
      const fitted = fitContent({ msgtype: 'm.text', body: text.repeat(50), format: 'org.matrix.custom.html', formatted_body: text.repeat(80) }, 2_000);
      assert.ok(Buffer.byteLength(JSON.stringify(fitted.content)) <= 2_000);
      if (fitted.overflow !== undefined) assert.equal(fitted.overflow, text.repeat(50));
    }), params);
    t.diagnostic(`cases: ${RUNS}`);
  });

  it('config: anything in the YAML is a clear error or a config, never a crash', (t) => {
    fc.assert(fc.property(fc.anything(), fc.anything(), (homeserver, networks) => {
      try {
        parseConfig({ homeserver, appservice: { url: 'http://127.0.0.1:1' }, networks });
      } catch (err) {
        assert.ok(err instanceof Error && !(err instanceof TypeError) && err.message.length > 0, `not a clear error: ${String(err)}`);
      }
    }), params);
    t.diagnostic(`cases: ${RUNS}`);
  });
});
