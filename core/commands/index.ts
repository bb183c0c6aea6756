/**
 * The bridge bot: accepts invites and answers commands in its management rooms (any
 * room without a portal that the bot is in) and, with the `!sb` prefix, in portals.
 * This file routes; the commands live in basic.ts, account.ts and portals.ts.
 */
import type { MatrixClientEvent } from '../convert/matrix-types.js';
import type { BridgeContext } from '../context.js';
import { matrixEventId, matrixRoomId, matrixUserId, type MatrixEventId, type MatrixRoomId } from '../ids.js';
import { atLeast, permissionOf } from '../config.js';
import type { LoginManager } from '../accounts/logins.js';
import { txnId } from '../portal/txn.js';
import type { PortalRow } from '../store/store.js';
import { accountCommands } from './account.js';
import { basicCommands } from './basic.js';
import { contactCommands } from './contacts.js';
import { identifierCommands } from './identifiers.js';
import { LoginChat } from './login-chat.js';
import { parkedCommands } from './parked.js';
import { portalCommands } from './portals.js';
import { PORTAL_PREFIX, PREFIX_RE } from './prefix.js';
import { CommandError, type Command, type CommandCall, type CommandServices } from './types.js';

export interface CommandsOptions {
  logins: LoginManager;
  version: string;
  syncPortal(portal: PortalRow): Promise<string>;
  retryParked(seqs: readonly number[]): number;
}

export class Commands {
  private readonly list: readonly Command[] = [...basicCommands, ...accountCommands, ...portalCommands, ...identifierCommands, ...parkedCommands, ...contactCommands];
  private readonly services: CommandServices;
  private readonly loginChat: LoginChat;

  constructor(private readonly ctx: BridgeContext, opts: CommandsOptions) {
    this.loginChat = new LoginChat(ctx, opts.logins);
    this.services = { logins: opts.logins, loginChat: this.loginChat, syncPortal: opts.syncPortal, retryParked: opts.retryParked, version: opts.version, commands: () => this.list };
  }

  /** An event in a room without portals, or not bridged: invites to the bot, and commands. */
  async handle(ev: MatrixClientEvent): Promise<void> {
    const { ctx } = this;
    const bot = ctx.naming.botUserId;
    const roomId = matrixRoomId(ev.room_id);
    if (ev.type === 'm.room.member' && ev.state_key === bot && ev.content.membership === 'invite') {
      await ctx.matrix.join(roomId, bot).catch((err: unknown) => ctx.log.warn({ roomId, err: String(err) }, 'could not accept invite'));
      return;
    }
    if (ev.type !== 'm.room.message' || typeof ev.content.body !== 'string') return;
    if (ev.content['m.relates_to'] && (ev.content['m.relates_to'] as { rel_type?: unknown }).rel_type === 'm.replace') return; // edits are not new commands
    const sender = matrixUserId(ev.sender);
    const level = permissionOf(ctx.config, sender);
    if (level === 'none') return;
    const eventId = matrixEventId(ev.event_id);
    const portals = ctx.store.portalsByRoom(roomId);
    let text = ev.content.body.trim();
    const prefixed = PREFIX_RE.test(text);
    if (prefixed) text = text.replace(PREFIX_RE, '');
    else if (portals.length) return; // ordinary talk in a bridged room

    // An open login conversation takes the next message (never in a portal: it would be bridged).
    if (!portals.length && this.loginChat.has(roomId, sender)) {
      await this.reply(roomId, eventId, await this.answerSafely(() => this.loginChat.answer(roomId, sender, eventId, prefixed ? text : (ev.content.body as string))));
      return;
    }
    const [name = '', ...args] = text.split(/\s+/);
    const call: CommandCall = { ctx, services: this.services, sender, level, roomId, eventId, args, portals };
    await this.reply(roomId, eventId, await this.answerSafely(() => this.run(name.toLowerCase(), call)));
  }

  private async run(name: string, call: CommandCall): Promise<string> {
    const command = this.list.find((c) => c.name === name);
    if (!command) return `Unknown command "${name}". ${suggest(name, this.list.filter((c) => atLeast(call.level, c.level)).map((c) => c.name))}Type "help" for the list.`;
    if (!atLeast(call.level, command.level)) {
      return `You may not use "${name}": it needs the bridge permission "${command.level}" and yours is "${call.level}". Ask the bridge's admin.`;
    }
    if (command.place === 'management' && call.portals.length) return `"${name}" works only in a management room (a direct chat with me), not in a bridged room.`;
    if (command.place === 'portal' && !call.portals.length) return `"${name}" works only in a bridged room (start it with "${PORTAL_PREFIX.trim()}").`;
    return command.run(call);
  }

  /** Refusals are answers; unexpected failures are logged and answered without internals. */
  private async answerSafely(run: () => Promise<string>): Promise<string> {
    try {
      return await run();
    } catch (err) {
      if (err instanceof CommandError) return err.message;
      this.ctx.log.error({ err: err instanceof Error ? err.stack : String(err) }, 'command failed');
      return 'Something went wrong on the bridge; the admin can find the details in its log.';
    }
  }

  private async reply(roomId: MatrixRoomId, eventId: MatrixEventId, body: string): Promise<void> {
    await this.ctx.matrix.sendEvent(roomId, this.ctx.naming.botUserId, 'm.room.message', { msgtype: 'm.notice', body: printable(body) }, txnId('cmd', eventId));
  }
}

/** "Did you mean" by edit distance, for typos. */
export function suggest(input: string, names: string[]): string {
  const dist = (a: string, b: string) => {
    const d = Array.from({ length: a.length + 1 }, (_, i) => [i, ...Array<number>(b.length).fill(0)]);
    for (let j = 1; j <= b.length; j++) d[0]![j] = j;
    for (let i = 1; i <= a.length; i++)
      for (let j = 1; j <= b.length; j++)
        d[i]![j] = Math.min(d[i - 1]![j]! + 1, d[i]![j - 1]! + 1, d[i - 1]![j - 1]! + (a[i - 1] === b[j - 1] ? 0 : 1));
    return d[a.length]![b.length]!;
  };
  const best = names.map((n) => ({ n, d: dist(input.toLowerCase(), n) })).sort((a, b) => a.d - b.d)[0];
  return best && best.d <= 2 ? `Did you mean "${best.n}"? ` : '';
}

/**
 * An answer may quote what was typed (an unknown command's name, a chat id): controls
 * other than line breaks and tabs, and bidirectional overrides that could make the
 * quote read differently, are removed, never echoed back.
 */
export function printable(text: string): string {
  return text.replace(/[\u0000-\u0008\u000b-\u001f\u007f-\u009f\u2028\u2029\u202a-\u202e\u2066-\u2069]/g, '');
}
