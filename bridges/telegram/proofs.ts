/**
 * Link confirmations: a Matrix room admin asks to link a group, and an admin of that
 * Telegram group proves they agree by posting a one-time code there. Nobody can bridge a
 * group they do not control. Pending proofs live in memory (a restart asks again).
 */
import type { ChatControlProof, Logger } from '../../core/adapter.js';
import { remoteUserId, type RemoteChatId, type RemoteUserId } from '../../core/ids.js';
import type { TelegramApi } from './api.js';

type Json = Record<string, unknown>;

interface Pending { code: string; resolve(user: RemoteUserId): void; reject(err: Error): void }

export class LinkProofs {
  private readonly pending = new Map<string, Pending>();

  constructor(private readonly api: TelegramApi, private readonly log: Logger) {}

  expect(chat: RemoteChatId, code: string, botUsername: string, signal: AbortSignal): ChatControlProof {
    this.pending.get(chat)?.reject(new Error('a newer link request for this chat replaced this one'));
    const command = `/link${botUsername ? `@${botUsername}` : ''} ${code}`;
    const proof = new Promise<RemoteUserId>((resolve, reject) => {
      const entry: Pending = {
        code,
        resolve: (user) => { this.pending.delete(chat); resolve(user); },
        reject: (err) => { if (this.pending.get(chat) === entry) this.pending.delete(chat); reject(err); },
      };
      this.pending.set(chat, entry);
      signal.addEventListener('abort', () => entry.reject(new Error('no admin of the Telegram group confirmed in time')), { once: true });
    });
    return { instructions: `An admin of the Telegram group must send this message in the group: ${command}`, proof };
  }

  cancelAll(): void {
    for (const p of [...this.pending.values()]) p.reject(new Error('the Telegram session closed'));
  }

  /** Whether `message` was a confirmation (then it is not bridged, whoever sent it). */
  async consume(message: Json): Promise<boolean> {
    const chat = message.chat as Json | undefined;
    if (!chat || typeof chat.id !== 'number') return false;
    const entry = this.pending.get(String(chat.id));
    const text = typeof message.text === 'string' ? message.text.trim() : '';
    const m = /^\/link(?:@\w+)?\s+(\S+)$/.exec(text);
    if (!entry || !m || m[1] !== entry.code) return false;
    const from = message.from as Json | undefined;
    const senderChat = message.sender_chat as Json | undefined;
    // An anonymous admin posts as the group itself.
    let admin = senderChat?.id === chat.id;
    if (!admin && typeof from?.id === 'number') {
      const member = await this.api.call<Json>('getChatMember', { chat_id: chat.id, user_id: from.id }).catch(() => undefined);
      admin = member?.status === 'creator' || member?.status === 'administrator';
    }
    const reply = (text: string) => this.api.send('sendMessage', { chat_id: chat.id, text, reply_parameters: { message_id: message.message_id, allow_sending_without_reply: true } }, chat.id as number).catch(() => undefined);
    if (!admin) {
      this.log.info({ chat: chat.id, user: from?.id }, 'telegram: link code from a non-admin ignored');
      await reply('Only an admin of this group can confirm a link to Matrix.');
      return true;
    }
    entry.resolve(remoteUserId(String(typeof from?.id === 'number' ? from.id : chat.id)));
    await reply('Confirmed: this group is being linked to the Matrix room.');
    return true;
  }
}
