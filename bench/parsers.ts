/**
 * How the parsers of untrusted input grow with adversarial input (issue 19, item 7):
 * each case at 10,000 and 100,000 units; a linear parser takes about 10x as long for
 * the larger one, a quadratic one about 100x. Median of 3 runs. Reported in
 * docs/performance.md; never asserted by time.
 *
 *   node --import tsx bench/parsers.ts
 */
import { fromMatrix } from '../core/convert/from-matrix.js';
import { htmlToSpans, spansToHtml } from '../core/convert/html.js';
import { textToMatrix } from '../core/convert/to-matrix.js';
import type { FormatSpan } from '../core/events.js';
import { matrixUserId, remoteUserId } from '../core/ids.js';
import { entitiesToSpans } from '../bridges/telegram/entities.js';
import { parseStyling, toStyled } from '../bridges/xmpp/styling.js';

const none = () => undefined;
const ghostOf = (u: string) => matrixUserId(`@_x_${u}:hs`);
const html = (formatted: string) => ({ msgtype: 'm.text', body: 'plain', format: 'org.matrix.custom.html', formatted_body: formatted });
const bolds = (n: number): FormatSpan[] => Array.from({ length: n }, (_, i) => ({ kind: 'bold', offset: i * 2, length: 1 }));

const CASES: [string, (n: number) => () => unknown][] = [
  ['Matrix HTML: `<pre>` of n spaces then a letter', (n) => () => fromMatrix(html(`<pre>${' '.repeat(n)}x</pre>`), none)],
  ['Matrix HTML: n/10 tags left open, n/10 closing tags never opened', (n) => () => fromMatrix(html('<b>'.repeat(n / 10) + 'x' + '</i>'.repeat(n / 10)), none)],
  ['Matrix HTML: n/40 mention pills, unclosed', (n) => () => fromMatrix(html('<a href="https://matrix.to/#/@x:y">'.repeat(n / 40)), () => remoteUserId('u'))],
  ['htmlToSpans: n/20 unclosed `<b>` (no tag cap)', (n) => () => htmlToSpans('<b>'.repeat(n / 20) + 'x' + '</i>'.repeat(n / 20), none)],
  ['spans -> HTML: n/2 one-letter bold spans', (n) => () => spansToHtml('ab'.repeat(n / 2), bolds(n / 2), ghostOf)],
  ['spans -> Matrix content (sanitised): n/2 spans', (n) => () => textToMatrix({ kind: 'text', text: 'ab'.repeat(n / 2), spans: bolds(n / 2) }, ghostOf)],
  ['XEP-0393 in: n/3 unclosed `*a `', (n) => () => parseStyling('*a '.repeat(n / 3))],
  ['XEP-0393 in: n/6 nested `*_~` openers and closers', (n) => () => parseStyling('*_~'.repeat(n / 6) + 'x' + '~_*'.repeat(n / 6))],
  ['XEP-0393 out: n/3 bold spans', (n) => () => toStyled({ kind: 'text', text: 'ab '.repeat(n / 3), spans: Array.from({ length: n / 3 }, (_, i) => ({ kind: 'bold', offset: i * 3, length: 2 })) })],
  ['Telegram entities: n/2 entities', (n) => () => entitiesToSpans('ab'.repeat(n / 2), Array.from({ length: n / 2 }, (_, i) => ({ type: 'bold', offset: i * 2, length: 1 })))],
];

/** `BENCH_RUNS` (default 3) runs per size; the first call of each case warms the JIT up and is not counted. */
const RUNS = Number(process.env.BENCH_RUNS ?? 3);

function median(run: () => unknown): number {
  const times: number[] = [];
  for (let i = 0; i < RUNS; i++) {
    const start = performance.now();
    run();
    times.push(performance.now() - start);
  }
  return times.sort((a, b) => a - b)[Math.floor(RUNS / 2)]!;
}

// `node --import tsx bench/parsers.ts 3` runs only case 3 (to time one case of older code under a `timeout`).
const only = process.argv[2] === undefined ? undefined : Number(process.argv[2]);
if (only === undefined) {
  console.log('| adversarial input | n = 10,000 | n = 100,000 | growth |');
  console.log('|---|---:|---:|---:|');
}
for (const [index, [name, make]] of CASES.entries()) {
  if (only !== undefined && index !== only) continue;
  make(1_000)();
  const small = median(make(10_000));
  const large = median(make(100_000));
  console.log(`| ${name} | ${small.toFixed(1)} ms | ${large.toFixed(1)} ms | ${(large / Math.max(small, 0.05)).toFixed(0)}x |`);
}
