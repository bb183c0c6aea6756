/**
 * Login conversations in a management room: the bot asks for one field at a time,
 * deletes answers to secret fields right after reading them, and hands the answers
 * to the shared step machine (LoginManager). One conversation per user and room.
 */
import type { LoginStep } from '../adapter.js';
import type { BridgeContext } from '../context.js';
import type { MatrixEventId, MatrixRoomId, MatrixUserId, NetworkId } from '../ids.js';
import { flowGone, LoginRefused, type FlowView, type LoginManager } from '../accounts/logins.js';
import { txnId } from '../portal/txn.js';
import { holdsRedactPower } from '../portal/authority.js';

type Field = Extract<LoginStep, { type: 'fields' }>['fields'][number];

interface Conversation {
  flowId: string;
  network: NetworkId;
  fields: Field[];
  index: number;
  answers: Record<string, string>;
  /** A code was shown; the user says "done" when they have used it. */
  awaitingCode: boolean;
}

export class LoginChat {
  private readonly open = new Map<string, Conversation>();

  constructor(private readonly ctx: BridgeContext, private readonly logins: LoginManager) {}

  private static key(roomId: MatrixRoomId, sender: MatrixUserId): string {
    return `${roomId}|${sender}`;
  }

  has(roomId: MatrixRoomId, sender: MatrixUserId): boolean {
    return this.open.has(LoginChat.key(roomId, sender));
  }

  /** `login <network>`: start a flow and ask its first question. */
  async begin(roomId: MatrixRoomId, sender: MatrixUserId, network: NetworkId): Promise<string> {
    const key = LoginChat.key(roomId, sender);
    const old = this.open.get(key);
    if (old) await this.logins.cancel(sender, old.flowId).catch(() => undefined);
    this.open.delete(key);
    const view = await this.logins.start(sender, network, roomId);
    // A secret typed where the bot cannot delete it stays readable: check before asking, not after.
    if (asksSecret(view) && !(await holdsRedactPower(this.ctx, roomId, this.ctx.naming.botUserId))) {
      const room = await this.privateRoom(sender, network);
      await this.say(room, this.render(LoginChat.key(room, sender), view), `login-first-${view.flowId}`);
      return `I cannot delete messages in this room, and this login asks for a secret. I opened a room where I can and invited you: accept the invite, and the login goes on there.`;
    }
    return this.render(key, view);
  }

  /** A direct room the bot creates (so it holds the power to delete messages there), with the user invited. */
  private async privateRoom(sender: MatrixUserId, network: NetworkId): Promise<MatrixRoomId> {
    const bot = this.ctx.naming.botUserId;
    return this.ctx.matrix.createRoom({ creator: bot, name: `Switchboard: ${network} login`, invite: [sender], isDirect: true, initialState: [] });
  }

  private async say(roomId: MatrixRoomId, body: string, key: string): Promise<void> {
    await this.ctx.matrix.sendEvent(roomId, this.ctx.naming.botUserId, 'm.room.message', { msgtype: 'm.notice', body }, txnId(key));
  }

  /** The user's next message while a conversation is open. */
  async answer(roomId: MatrixRoomId, sender: MatrixUserId, eventId: MatrixEventId, text: string): Promise<string> {
    try {
      return await this.continue(roomId, sender, eventId, text);
    } catch (err) {
      // The flow is gone (expired after FLOW_TTL_MS, or the bridge restarted): end the conversation too.
      if (!(err instanceof LoginRefused)) throw err;
      this.open.delete(LoginChat.key(roomId, sender));
      return `Login stopped: ${err.message}.`;
    }
  }

  private async continue(roomId: MatrixRoomId, sender: MatrixUserId, eventId: MatrixEventId, text: string): Promise<string> {
    const key = LoginChat.key(roomId, sender);
    const conv = this.open.get(key)!;
    if (text.trim().toLowerCase() === 'cancel') return this.cancel(roomId, sender);
    if (!this.logins.current(sender, conv.flowId)) throw flowGone();
    if (conv.awaitingCode) {
      if (text.trim().toLowerCase() !== 'done') return 'Send "done" once you have used the code, or "cancel" to stop.';
      return this.render(key, await this.logins.submit(sender, conv.flowId, {}));
    }
    const field = conv.fields[conv.index]!;
    let note = '';
    if (field.secret) note = await this.removeSecret(roomId, eventId);
    conv.answers[field.id] = field.secret ? text : text.trim();
    conv.index++;
    if (conv.index < conv.fields.length) return note + this.ask(conv.fields[conv.index]!);
    return note + (await this.render(key, await this.logins.submit(sender, conv.flowId, conv.answers)));
  }

  async cancel(roomId: MatrixRoomId, sender: MatrixUserId): Promise<string> {
    const key = LoginChat.key(roomId, sender);
    const conv = this.open.get(key);
    if (!conv) return 'There is no login in progress here.';
    this.open.delete(key);
    await this.logins.cancel(sender, conv.flowId).catch(() => undefined);
    return `Login to ${conv.network} cancelled.`;
  }

  private render(key: string, view: FlowView): string {
    const { step } = view;
    switch (step.type) {
      case 'fields': {
        const conv: Conversation = { flowId: view.flowId, network: view.network, fields: step.fields, index: 0, answers: {}, awaitingCode: false };
        this.open.set(key, conv);
        const first = step.fields[0];
        return `${step.instructions}\n${first ? this.ask(first) : 'Send anything to continue.'}\n(Send "cancel" to stop.)`;
      }
      case 'show-code':
        this.open.set(key, { flowId: view.flowId, network: view.network, fields: [], index: 0, answers: {}, awaitingCode: true });
        return `${step.instructions}\n\n${step.code}\n\nSend "done" once you have used it, or "cancel".`;
      case 'complete':
        this.open.delete(key);
        return `Logged in to ${view.network} as ${step.displayName ? `${step.displayName} (${step.remoteUser})` : step.remoteUser}. Your chats will appear as rooms when their messages arrive.`;
      case 'failed':
        this.open.delete(key);
        return `Login to ${view.network} failed: ${step.reason}`;
    }
  }

  private ask(field: Field): string {
    return field.secret ? `Send your ${field.label}. I will delete your message right after reading it.` : `Send your ${field.label}.`;
  }

  /** Redact a message holding a secret; if the bot may not, tell the user to do it. */
  private async removeSecret(roomId: MatrixRoomId, eventId: MatrixEventId): Promise<string> {
    try {
      await this.ctx.matrix.redact(roomId, this.ctx.naming.botUserId, eventId, txnId('secret', eventId), 'login secret');
      return '';
    } catch (err) {
      this.ctx.log.warn({ roomId, err: String(err) }, 'could not redact a login secret');
      return 'I could not delete your message with the secret (I need power to remove messages here): please delete it yourself.\n';
    }
  }
}

/** Whether the flow's current step asks for a secret field. */
function asksSecret(view: FlowView): boolean {
  return view.step.type === 'fields' && view.step.fields.some((f) => f.secret);
}
