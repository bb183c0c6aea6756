/** The Telegram adapter's pure parts: config, entities (UTF-16), and updates with hostile input. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { TelegramAdapter } from '../../bridges/telegram/index.js';
import { parseTelegramConfig } from '../../bridges/telegram/config.js';
import { entitiesToSpans, spansToEntities, truncate } from '../../bridges/telegram/entities.js';
import { normaliseEmoji } from '../../bridges/telegram/outbound.js';
import { convertUpdate, parseMessageRef } from '../../bridges/telegram/updates.js';
import { remoteUserId } from '../../core/ids.js';

const TOKEN = '123456:AAHdqTcvCH1vGWJxfSeofSAs0K5PALDsaw';
const group = { id: -1001234, type: 'supergroup', title: 'Hikers' };
const ann = { id: 42, is_bot: false, first_name: 'Ann', last_name: 'Lee' };

describe('Telegram config', () => {
  it('takes a token and defaults, and names what is wrong', () => {
    const c = parseTelegramConfig({ bot_token: TOKEN });
    assert.equal(c.apiRoot, 'https://api.telegram.org');
    assert.equal(c.mode, 'polling');
    assert.deepEqual(c.rateLimits, { perChatPerSecond: 1, perGroupPerMinute: 20, globalPerSecond: 30 });
    assert.throws(() => parseTelegramConfig({ bot_token: 'not-a-token' }), /bot_token/);
    assert.throws(() => parseTelegramConfig({ mode: 'webhook' }), /webhook.public_url/);
    assert.throws(() => parseTelegramConfig({ mode: 'webhook', webhook: { public_url: 'https://x.org/tg', listen_port: 8443, secret: 'short' } }), /webhook.secret/);
    assert.throws(() => parseTelegramConfig({ rate_limits: { global_per_second: 0 } }), /rate_limits.global_per_second/);
    assert.throws(() => parseTelegramConfig({ poll_timeout_s: 90 }), /poll_timeout_s/);
  });

  it('chat ids: negative numbers or public @usernames', () => {
    const a = new TelegramAdapter();
    assert.equal(a.parseChatId('-1001234567890'), '-1001234567890');
    assert.equal(a.parseChatId('@hikers_club'), '@hikers_club');
    assert.throws(() => a.parseChatId('12345'), /negative number/);
    assert.throws(() => a.parseChatId('@a'), /username/);
  });
});

describe('Telegram entities', () => {
  it('map to spans in UTF-16 units; entities beyond the text or splitting a surrogate pair are dropped', () => {
    const text = '😀 hi there';
    const spans = entitiesToSpans(text, [
      { type: 'bold', offset: 3, length: 2 },
      { type: 'pre', offset: 6, length: 5, language: 'js' },
      { type: 'text_mention', offset: 0, length: 2, user: { id: 7 } },
      { type: 'italic', offset: 1, length: 3 }, // starts inside the emoji's surrogate pair
      { type: 'underline', offset: 8, length: 50 }, // beyond the end
      { type: 'hashtag', offset: 3, length: 2 },
      { type: 'bold', offset: '3', length: 2 },
      null,
    ]);
    assert.deepEqual(spans, [
      { kind: 'bold', offset: 3, length: 2 },
      { kind: 'pre', offset: 6, length: 5, language: 'js' },
      { kind: 'mention', offset: 0, length: 2, user: '7' },
    ]);
  });

  it('spans map back; mentions only of Telegram users; truncation never splits a pair', () => {
    assert.deepEqual(spansToEntities([{ kind: 'strike', offset: 0, length: 1 }, { kind: 'link', offset: 1, length: 2, url: 'https://a.b/' }, { kind: 'mention', offset: 0, length: 1, user: remoteUserId('@bob:matrix') }]), [
      { type: 'strikethrough', offset: 0, length: 1 },
      { type: 'text_link', offset: 1, length: 2, url: 'https://a.b/' },
    ]);
    const cut = truncate('ab😀cd', [{ type: 'bold', offset: 0, length: 6 }], 4);
    assert.equal(cut.text, 'ab…');
    assert.deepEqual(cut.entities, [{ type: 'bold', offset: 0, length: 2 }]);
    assert.equal(normaliseEmoji('❤️'), '❤');
  });
});

describe('Telegram updates', () => {
  it('a shared contact is a card for the core to show (it masks the number), not a message dropped in silence', () => {
    const out = convertUpdate({ update_id: 2, message: { message_id: 10, from: ann, chat: group, date: 1700000000, contact: { phone_number: '4915112345678', first_name: 'Bob', last_name: 'Builder' } } });
    assert.ok('events' in out && out.events[0]!.type === 'message');
    assert.deepEqual(out.events[0]!.content, { kind: 'text', text: '', contact: { name: 'Bob Builder', phone: '4915112345678' } });
  });

  it('a message carries its chat-qualified id, sender name, reply and largest photo', () => {
    const out = convertUpdate({ update_id: 1, message: { message_id: 9, from: ann, chat: group, date: 1700000000, caption: 'view', photo: [{ file_id: 'small', width: 90, height: 90 }, { file_id: 'big', width: 1280, height: 960, file_size: 5000 }], reply_to_message: { message_id: 3, chat: group } } });
    assert.ok('events' in out);
    const ev = out.events[0]!;
    assert.ok(ev.type === 'message');
    assert.equal(ev.id, '-1001234:9');
    assert.equal(ev.replyTo, '-1001234:3');
    assert.deepEqual(ev.sender, { id: '42', name: 'Ann Lee' });
    assert.equal(ev.timestamp, 1700000000000);
    assert.equal(ev.content.text, 'view');
    assert.deepEqual(ev.content.attachments?.[0]?.source, { kind: 'remote', ref: 'big' });
    assert.deepEqual(parseMessageRef(ev.id), { chat: '-1001234', messageId: 9 });
  });

  it('forum topics: the implicit reply to the topic root is not a reply', () => {
    const out = convertUpdate({ update_id: 1, message: { message_id: 12, from: ann, chat: { ...group, is_forum: true }, date: 1, text: 'in a topic', message_thread_id: 10, is_topic_message: true, reply_to_message: { message_id: 10, chat: group, forum_topic_created: { name: 'Trips' } } } });
    assert.ok('events' in out && out.events[0]!.type === 'message' && out.events[0]!.replyTo === undefined);
  });

  it('edits get one id per version; reactions arrive as added and removed keys; custom emoji are skipped', () => {
    const edit = (text: string, date: number) => convertUpdate({ update_id: 2, edited_message: { message_id: 9, from: ann, chat: group, date: 1, edit_date: date, text } });
    const a = edit('v2', 100), b = edit('v2', 100), c = edit('v3', 100);
    assert.ok('events' in a && 'events' in b && 'events' in c);
    const id = (x: typeof a) => ('events' in x && x.events[0]!.type === 'edit' ? x.events[0]!.id : undefined);
    assert.equal(id(a), id(b));
    assert.notEqual(id(a), id(c));
    const r = convertUpdate({ update_id: 3, message_reaction: { chat: group, message_id: 9, user: ann, date: 1, old_reaction: [{ type: 'emoji', emoji: '👍' }], new_reaction: [{ type: 'emoji', emoji: '🔥' }, { type: 'custom_emoji', custom_emoji_id: '5' }] } });
    assert.ok('events' in r);
    assert.deepEqual(r.events.map((e) => e.type === 'reaction' && `${e.removed ? '-' : '+'}${e.key}`), ['+🔥', '-👍']);
  });

  it('service messages: joins, kicks, titles and migration; channels and unknown kinds are skipped with a reason', () => {
    const bob = { id: 43, is_bot: false, first_name: 'Bob' };
    const kick = convertUpdate({ update_id: 4, message: { message_id: 20, from: ann, chat: group, date: 1, left_chat_member: bob } });
    assert.ok('events' in kick && kick.events[0]!.type === 'member' && kick.events[0]!.change === 'kick' && kick.events[0]!.by === '42');
    const title = convertUpdate({ update_id: 5, message: { message_id: 21, from: ann, chat: group, date: 1, new_chat_title: 'Hikers 2' } });
    assert.ok('events' in title && title.events[0]!.type === 'chat-info' && title.events[0]!.info.name === 'Hikers 2');
    const moved = convertUpdate({ update_id: 6, message: { message_id: 22, from: ann, chat: { id: -55, type: 'group' }, date: 1, migrate_to_chat_id: -1009 } });
    assert.ok('events' in moved && moved.events[0]!.type === 'chat-moved' && moved.events[0]!.to === '-1009');
    const animated = convertUpdate({ update_id: 7, message: { message_id: 23, from: ann, chat: group, date: 1, sticker: { file_id: 's', is_animated: true, emoji: '😀' } } });
    assert.ok('events' in animated && animated.events[0]!.type === 'message' && animated.events[0]!.content.text === '😀 (sticker)');
    for (const bad of [{ update_id: 8, channel_post: { message_id: 1, chat: { id: -3, type: 'channel' }, text: 'x' } }, { update_id: 9, message: { message_id: 1, chat: { id: -3, type: 'channel' }, date: 1, text: 'x' } }, { update_id: 10, message: { message_id: 2, from: ann, chat: group, date: 1, poll: {} } }, { update_id: 11 }]) {
      const out = convertUpdate(bad);
      assert.ok('skip' in out, JSON.stringify(bad));
    }
  });
});
