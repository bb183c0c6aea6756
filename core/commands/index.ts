/**
 * The bridge bot: accepts invites and answers commands in its management rooms (any
 * room without a portal that the bot is in) and, with the `!sb` prefix, in portals.
 * The full command set (login, link, permissions) is built on this router.
 */
import type { MatrixClientEvent } from '../convert/matrix-types.js';
import type { BridgeContext } from '../context.js';
import { matrixRoomId, matrixUserId, type MatrixRoomId, type MatrixUserId } from '../ids.js';
import { permissionOf } from '../config.js';
import { txnId } from '../portal/txn.js';

export const PORTAL_PREFIX = '!sb ';

interface Command {
  name: string;
  help: string;
  run(ctx: BridgeContext, args: string[], sender: MatrixUserId): string;
}

export class Commands {
  private readonly list: Command[];

  constructor(private readonly ctx: BridgeContext, version: string) {
    this.list = [
      { name: 'help', help: 'list the commands', run: () => this.helpText() },
      { name: 'version', help: 'show the Switchboard version', run: () => `Switchboard ${version}` },
      {
        name: 'ping',
        help: "show the bridge's networks and your logins",
        run: (c, _a, sender) => {
          const nets = c.sessions.allNetworks().map((n) => n.id).join(', ') || 'none';
          const mine = c.sessions.all().filter((l) => l.login.owner === sender);
          const logins = mine.length ? mine.map((l) => `${l.login.network}: ${l.state.state}`).join('; ') : 'no logins';
          return `Bridge is running. Networks: ${nets}. Your logins: ${logins}. Your permission: ${permissionOf(c.config, sender)}.`;
        },
      },
    ];
  }

  private helpText(): string {
    return ['Switchboard commands:', ...this.list.map((c) => `• ${c.name} — ${c.help}`), `In a portal room, prefix commands with "${PORTAL_PREFIX.trim()}".`].join('\n');
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
    let text = ev.content.body.trim();
    const inPortal = ctx.store.portalsByRoom(roomId).length > 0;
    if (inPortal) {
      if (!text.startsWith(PORTAL_PREFIX)) return;
      text = text.slice(PORTAL_PREFIX.length);
    }
    const [name = '', ...args] = text.split(/\s+/);
    const sender = matrixUserId(ev.sender);
    if (permissionOf(ctx.config, sender) === 'none') return;
    const command = this.list.find((c) => c.name === name.toLowerCase());
    const reply = command
      ? command.run(ctx, args, sender)
      : `Unknown command "${name}". ${suggest(name, this.list.map((c) => c.name))}Type "help" for the list.`;
    await this.reply(roomId, ev.event_id, reply);
  }

  private async reply(roomId: MatrixRoomId, eventId: string, body: string): Promise<void> {
    await this.ctx.matrix.sendEvent(roomId, this.ctx.naming.botUserId, 'm.room.message', { msgtype: 'm.notice', body }, txnId('cmd', eventId));
  }
}

/** "Did you mean" by edit distance, for typos. */
function suggest(input: string, names: string[]): string {
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
