import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { fromMatrix, stripReplyFallback } from '../../core/convert/from-matrix.js';
import { htmlToSpans, MAX_HTML_TAGS, MAX_SPANS, spansToHtml, tooManyTags } from '../../core/convert/html.js';
import { asEdit, textToMatrix } from '../../core/convert/to-matrix.js';
import { isAllowedLink } from '../../core/convert/links.js';
import type { FormatSpan, MessageContent } from '../../core/events.js';
import { matrixEventId, matrixUserId, remoteUserId, type RemoteUserId } from '../../core/ids.js';

const ghostOf = (u: RemoteUserId) => matrixUserId(`@_x_${u}:hs`);
const mention = (userId: string) => (userId.startsWith('@_x_') ? remoteUserId(userId.slice(4, userId.indexOf(':'))) : undefined);

describe('neutral -> Matrix HTML', () => {
  const cases: [string, string, FormatSpan[], string][] = [
    ['plain escapes', 'a < b & c', [{ kind: 'bold', offset: 0, length: 1 }], '<strong>a</strong> &lt; b &amp; c'],
    ['nested', 'bold italic', [{ kind: 'bold', offset: 0, length: 11 }, { kind: 'italic', offset: 5, length: 6 }], '<strong>bold <em>italic</em></strong>'],
    ['overlapping spans stay well-formed', 'abcd', [{ kind: 'bold', offset: 0, length: 3 }, { kind: 'italic', offset: 2, length: 2 }], '<strong>ab<em>c</em></strong><em>d</em>'],
    ['pre keeps newlines, text gets <br>', 'x\ncode\nmore', [{ kind: 'pre', offset: 2, length: 4, language: 'js' }], 'x<br><pre><code class="language-js">code</code></pre><br>more'],
    ['link', 'see site', [{ kind: 'link', offset: 4, length: 4, url: 'https://example.org/?a=1&b=2' }], 'see <a href="https://example.org/?a=1&amp;b=2">site</a>'],
    ['mention pill', 'hi bob', [{ kind: 'mention', offset: 3, length: 3, user: remoteUserId('bob') }], 'hi <a href="https://matrix.to/#/@_x_bob:hs">bob</a>'],
    ['spoiler', 'secret', [{ kind: 'spoiler', offset: 0, length: 6 }], '<span data-mx-spoiler>secret</span>'],
  ];
  for (const [name, text, spans, html] of cases) {
    it(name, () => assert.equal(spansToHtml(text, spans, ghostOf), html));
  }
});

describe('Matrix HTML -> neutral', () => {
  const cases: [string, string, string, FormatSpan[]][] = [
    ['bold and italic', '<b>a</b> <i>b</i>', 'a b', [{ kind: 'bold', offset: 0, length: 1 }, { kind: 'italic', offset: 2, length: 1 }]],
    ['reply fallback dropped', '<mx-reply><blockquote>old</blockquote></mx-reply>new', 'new', []],
    ['paragraphs and breaks', '<p>one</p><p>two<br>three</p>', 'one\ntwo\nthree', []],
    ['code block with language', '<pre><code class="language-ts">let x = 1;\n</code></pre>', 'let x = 1;', [{ kind: 'pre', offset: 0, length: 10, language: 'ts' }]],
    ['pill of a ghost is a mention', '<a href="https://matrix.to/#/@_x_bob:hs">Bob</a> hi', 'Bob hi', [{ kind: 'mention', offset: 0, length: 3, user: remoteUserId('bob') }]],
    ['pill of a Matrix user is their name, readable on any network (issue 18)', '<a href="https://matrix.to/#/@carol:hs">Carol</a>', 'Carol', []],
    ['lists', '<ul><li>a</li><li>b</li></ul><ol start="3"><li>c</li></ol>', '• a\n• b\n3. c', []],
    ['entities decoded', '&lt;tag&gt; &amp;', '<tag> &', []],
  ];
  for (const [name, html, text, spans] of cases) {
    it(name, () => assert.deepEqual(htmlToSpans(html, mention), { text, spans }));
  }
});

describe('Matrix content', () => {
  it('strips the plain-text reply fallback', () => {
    assert.equal(stripReplyFallback('> <@a:hs> old\n> more\n\nnew text'), 'new text');
    assert.equal(stripReplyFallback('no quote'), 'no quote');
  });
  it('reads an edit from m.new_content', () => {
    const parsed = fromMatrix({ msgtype: 'm.text', body: '* new', 'm.new_content': { msgtype: 'm.text', body: 'new' }, 'm.relates_to': { rel_type: 'm.replace', event_id: '$old' } }, mention);
    assert.deepEqual(parsed, { content: { kind: 'text', text: 'new' }, replaces: '$old' });
  });
  it('reads media with a caption', () => {
    const parsed = fromMatrix({ msgtype: 'm.image', body: 'my cat', filename: 'cat.png', url: 'mxc://hs/abc', info: { mimetype: 'image/png', size: 10, w: 2, h: 3 } }, mention);
    assert.deepEqual(parsed, { content: { kind: 'text', text: 'my cat' }, media: { mxc: 'mxc://hs/abc', kind: 'image', name: 'cat.png', mime: 'image/png', size: 10, width: 2, height: 3 } });
  });
  it('reads an encrypted room\'s file object (its url inside) and keeps it for decryption; a broken one is not media', () => {
    const file = { url: 'mxc://hs/enc', v: 'v2', key: { k: 'x' }, iv: 'y', hashes: { sha256: 'z' } };
    const parsed = fromMatrix({ msgtype: 'm.file', body: 'doc.pdf', file, info: { mimetype: 'application/pdf' } }, mention);
    assert.deepEqual(parsed?.media, { mxc: 'mxc://hs/enc', file, kind: 'file', name: 'doc.pdf', mime: 'application/pdf' });
    assert.equal(fromMatrix({ msgtype: 'm.file', body: 'x', file: { url: 'https://evil/x' } }, mention), undefined);
    assert.equal(fromMatrix({ msgtype: 'm.file', body: 'x', file: ['mxc://hs/a'] }, mention), undefined);
    // A clear url wins: the file object is then not used to decrypt it.
    assert.equal(fromMatrix({ msgtype: 'm.image', body: 'x', url: 'mxc://hs/a', file }, mention)?.media?.file, undefined);
  });
  it('refuses content without msgtype or body', () => {
    assert.equal(fromMatrix({ body: 'x' }, mention), undefined);
    assert.equal(fromMatrix({ msgtype: 'm.image', body: 'no url' }, mention), undefined);
  });
  it('emotes and notices keep their kind; edits carry a fallback', () => {
    const emote: MessageContent = { kind: 'emote', text: 'waves' };
    assert.deepEqual(textToMatrix(emote, ghostOf), { msgtype: 'm.emote', body: 'waves', 'm.mentions': {} });
    const edit = asEdit(textToMatrix({ kind: 'text', text: 'fixed' }, ghostOf)!, matrixEventId('$t'));
    assert.equal(edit.body, '* fixed');
    assert.deepEqual(edit['m.relates_to'], { rel_type: 'm.replace', event_id: '$t' });
  });
  it('round-trips formatting through HTML', () => {
    const spans: FormatSpan[] = [{ kind: 'bold', offset: 0, length: 4 }, { kind: 'code', offset: 5, length: 4 }, { kind: 'strike', offset: 10, length: 3 }];
    const html = spansToHtml('bold code del', spans, ghostOf);
    assert.deepEqual(htmlToSpans(html, mention), { text: 'bold code del', spans });
  });
});

describe('parsers bounded by their input (issue 19, item 7; growth measured in bench/parsers.ts)', () => {
  it('a run of spaces before text in <pre>, and tags closing nothing open, parse to what they say', () => {
    const parsed = htmlToSpans(`<pre>${' '.repeat(60_000)}x</pre>${'</i>'.repeat(1000)}`, mention);
    assert.equal(parsed.text, `${' '.repeat(60_000)}x`);
    assert.deepEqual(parsed.spans, [{ kind: 'pre', offset: 0, length: 60_001 }]);
  });

  it('more tags than MAX_HTML_TAGS: the plain body is used, never the HTML parser', () => {
    const html = `${'<b>'.repeat(MAX_HTML_TAGS + 1)}x`;
    assert.equal(tooManyTags(html), true);
    assert.equal(tooManyTags('<b>'.repeat(MAX_HTML_TAGS)), false);
    const parsed = fromMatrix({ msgtype: 'm.text', body: 'the plain text', format: 'org.matrix.custom.html', formatted_body: html }, mention);
    assert.deepEqual(parsed?.content, { kind: 'text', text: 'the plain text' });
  });

  it('past MAX_SPANS spans, formatting is dropped and the text kept', () => {
    const text = 'ab'.repeat(MAX_SPANS + 10);
    const spans: FormatSpan[] = Array.from({ length: MAX_SPANS + 10 }, (_, i) => ({ kind: 'bold', offset: i * 2, length: 1 }));
    const html = spansToHtml(text, spans, ghostOf);
    assert.equal(html.split('<strong>').length - 1, MAX_SPANS);
    assert.equal(html.replace(/<\/?strong>/g, ''), text);
  });
});

describe('what is never bridged as a link or as text (issue 19, smaller items)', () => {
  it('script, style, math and textarea content is not text', () => {
    for (const tag of ['script', 'style', 'math', 'textarea', 'svg', 'noscript']) {
      assert.equal(htmlToSpans(`before <${tag}>hidden stuff</${tag}> after`, mention).text, 'before after', tag);
    }
  });

  it('links of schemes not on the allow-list become their text, both ways', () => {
    for (const url of ['javascript:alert(1)', ' JaVaScRiPt:alert(1)', 'java\nscript:x', 'vbscript:msgbox', 'data:text/html,<b>x</b>', 'file:///etc/passwd', 'chrome://settings']) {
      assert.equal(isAllowedLink(url), false, url);
      assert.deepEqual(htmlToSpans(`<a href="${url.replace(/"/g, '&quot;')}">click</a>`, mention), { text: 'click', spans: [] }, url);
      const out = textToMatrix({ kind: 'text', text: 'click', spans: [{ kind: 'link', offset: 0, length: 5, url }] }, ghostOf)!;
      assert.equal(out.formatted_body, undefined, url);
    }
    for (const url of ['https://example.org', 'mailto:a@b.c', 'xmpp:a@b.c', 'matrix:u/a:b.c', 'tel:+123', 'geo:1,2']) assert.equal(isAllowedLink(url), true, url);
  });
});
