/** login, logout, logins, cancel: a user's own accounts on other networks. */
import { networkId, type NetworkId } from '../ids.js';
import { LoginRefused } from '../accounts/logins.js';
import { CommandError, type Command, type CommandCall } from './types.js';

/** The network a command names, or the only one the user could mean. */
function pickNetwork({ ctx, args, sender }: CommandCall, mine: boolean): NetworkId {
  const named = args[0]?.toLowerCase();
  const all = ctx.sessions.allNetworks().map((n) => n.id);
  if (named) {
    if (!all.includes(networkId(named))) throw new CommandError(`There is no network "${named}". Networks: ${all.join(', ') || 'none'}.`);
    return networkId(named);
  }
  const candidates = mine ? all.filter((n) => ctx.sessions.ownedBy(n, sender)) : all;
  if (candidates.length === 1) return candidates[0]!;
  throw new CommandError(`Which network? ${mine ? 'Your logins' : 'Networks'}: ${candidates.join(', ') || 'none'}.`);
}

/** A LoginRefused becomes the answer; anything else is a real failure. */
async function refusalsAnswered(run: () => Promise<string>): Promise<string> {
  try {
    return await run();
  } catch (err) {
    if (err instanceof LoginRefused) throw new CommandError(`Cannot do that: ${err.message}.`);
    throw err;
  }
}

async function invite(call: CommandCall): Promise<string> {
  const network = pickNetwork(call, false);
  const relay = call.ctx.sessions.relay(network);
  if (!relay?.session.directInvite) throw new CommandError(`${network} has no relay account that people can write to directly.`);
  const code = call.ctx.invites.create(network, call.sender);
  const { link, instructions } = relay.session.directInvite(code);
  return [
    `Send this link to the person you want to talk with on ${network}: ${link}`,
    ...(instructions ? [instructions] : []),
    'It works once, for a day. When they open it, a direct chat with them appears here; they see your messages with your name in front.',
  ].join('\n');
}

export const accountCommands: Command[] = [
  {
    name: 'login',
    usage: '<network>',
    help: 'log in to a network with your own account',
    level: 'user',
    place: 'management',
    async run(call) {
      const network = pickNetwork(call, false);
      return refusalsAnswered(() => call.services.loginChat.begin(call.roomId, call.sender, network));
    },
  },
  {
    name: 'invite',
    usage: '<network>',
    help: "get a link that lets someone on a network start a direct chat with you through the bridge's relay account",
    level: 'user',
    place: 'management',
    run: invite,
  },
  {
    name: 'cancel',
    help: 'stop a login in progress',
    level: 'user',
    place: 'management',
    async run(call) {
      return call.services.loginChat.cancel(call.roomId, call.sender);
    },
  },
  {
    name: 'logout',
    usage: '[network]',
    help: 'log out of a network and forget your credentials',
    level: 'user',
    place: 'anywhere',
    async run(call) {
      const network = pickNetwork(call, true);
      return refusalsAnswered(async () =>
        (await call.services.logins.logout(call.sender, network)) ? `Logged out of ${network}; your credentials are deleted.` : `You are not logged in to ${network}.`,
      );
    },
  },
  {
    name: 'logins',
    help: 'list your logins and their state',
    level: 'user',
    place: 'anywhere',
    async run({ ctx, sender }) {
      const mine = ctx.sessions.all().filter((l) => l.login.owner === sender);
      if (!mine.length) return 'You have no logins. Use "login <network>" to add one.';
      return ['Your logins:', ...mine.map((l) => `• ${l.login.network} as ${l.login.remoteUser ?? '(unknown)'}: ${l.state.state}${'reason' in l.state ? ` (${l.state.reason})` : ''}`)].join('\n');
    },
  },
];
