/** IRC: mIRC formatting both ways, line splitting at 512 bytes, and the flood-control queue. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { parseIrcFormatting, toIrcFormatting } from '../../bridges/irc/format.js';
import { IRC_LINE_BYTES, splitLines, textBudget } from '../../bridges/irc/split.js';
import { SendQueue } from '../../bridges/irc/send-queue.js';
import { remoteUserId } from '../../core/ids.js';

describe('mIRC formatting', () => {
  const cases: [string, string, string, unknown[]][] = [
    ['bold and italic', '\x02bold\x02 and \x1ditalic\x1d', 'bold and italic', [{ kind: 'bold', offset: 0, length: 4 }, { kind: 'italic', offset: 9, length: 6 }]],
    ['reset closes everything', '\x02\x1dboth\x0f plain', 'both plain', [{ kind: 'bold', offset: 0, length: 4 }, { kind: 'italic', offset: 0, length: 4 }]],
    ['unclosed runs to the end', '\x1fund', 'und', [{ kind: 'underline', offset: 0, length: 3 }]],
    ['colours are dropped, their text kept', '\x0304red\x03 \x0312,01blue\x03 \x03,x \x04ff00aagreen', 'red blue ,x green', []],
    ['monospace and strike', '\x11code\x11 \x1egone\x1e', 'code gone', [{ kind: 'code', offset: 0, length: 4 }, { kind: 'strike', offset: 5, length: 4 }]],
    ['other control bytes vanish', 'a\x00b\x07c\x16d\x7fe', 'abcde', []],
  ];
  for (const [name, raw, text, spans] of cases) it(`in: ${name}`, () => assert.deepEqual(parseIrcFormatting(raw), { text, spans }));

  it('out: toggles for spans, links with their address, mentions as nicks, and no control byte of the text itself', () => {
    assert.equal(toIrcFormatting({ text: 'bold and code', spans: [{ kind: 'bold', offset: 0, length: 4 }, { kind: 'code', offset: 9, length: 4 }] }), '\x02bold\x02 and \x11code\x11');
    assert.equal(toIrcFormatting({ text: 'see site', spans: [{ kind: 'link', offset: 4, length: 4, url: 'https://example.org/' }] }), 'see site (https://example.org/)');
    assert.equal(toIrcFormatting({ text: 'Bob Smith: hi', spans: [{ kind: 'mention', offset: 0, length: 9, user: remoteUserId('bob') }] }, (u) => `${u}_`), 'bob_: hi');
    assert.equal(toIrcFormatting({ text: 'evil\x02\x03\x00\r text' }), 'evil text');
  });

  it('a round trip keeps text and spans', () => {
    const content = { text: 'a bold italic word', spans: [{ kind: 'bold' as const, offset: 2, length: 4 }, { kind: 'italic' as const, offset: 7, length: 6 }] };
    assert.deepEqual(parseIrcFormatting(toIrcFormatting(content)), content);
  });
});

describe('IRC line splitting', () => {
  const render = (p: { text: string; spans?: unknown[] }) => toIrcFormatting(p as never);

  it('the budget leaves room for the prefix the server adds', () => {
    const budget = textBudget('alice!~alice@host.example', 'PRIVMSG', '#chan');
    assert.equal(budget, IRC_LINE_BYTES - Buffer.byteLength(':alice!~alice@host.example PRIVMSG #chan :\r\n'));
  });

  it('cuts at line breaks, then at spaces, never inside a character, each line within the budget', () => {
    const text = `first line\n${'wörd '.repeat(60)}\n\n${'😀'.repeat(100)}`;
    const lines = splitLines({ text }, 100, render);
    assert.equal(lines[0], 'first line');
    for (const l of lines) {
      assert.ok(Buffer.byteLength(l) <= 100, `${Buffer.byteLength(l)} bytes`);
      assert.ok(l.isWellFormed());
    }
    const words = lines.filter((l) => l.startsWith('w'));
    assert.equal(words.join(' '), 'wörd '.repeat(60).trim(), 'every word, cut between words');
    assert.equal(lines.filter((l) => l.startsWith('😀')).join(''), '😀'.repeat(100), 'every emoji, none cut');
  });

  it('a span crossing a cut is closed and opened again on the next line', () => {
    const lines = splitLines({ text: 'aaaa bbbb', spans: [{ kind: 'bold', offset: 0, length: 9 }] }, 7, render);
    assert.deepEqual(lines, ['\x02aaaa\x02', '\x02bbbb\x02']);
  });
});

describe('IRC flood control', () => {
  it('a burst goes at once, the rest at the rate, in order, and nothing is dropped', async () => {
    let clock = 0;
    const q = new SendQueue({ burst: 3, perSecond: 100 }, () => clock);
    const sent: number[] = [];
    const all = Array.from({ length: 6 }, (_, i) => q.push(() => sent.push(i)));
    assert.deepEqual(sent, [0, 1, 2]);
    clock += 30;
    await Promise.all(all);
    assert.deepEqual(sent, [0, 1, 2, 3, 4, 5]);
  });

  it('clearing refuses what waits (the core retries it), and a closed queue takes nothing', async () => {
    const q = new SendQueue({ burst: 1, perSecond: 0.001 });
    await q.push(() => undefined);
    const waiting = q.push(() => undefined);
    q.close(new Error('disconnected'));
    await assert.rejects(waiting, /disconnected/);
    await assert.rejects(q.push(() => undefined), /disconnected/);
    q.reopen();
    await q.push(() => undefined);
  });
});
