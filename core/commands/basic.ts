/** help, version, ping, cancel: the commands everyone who may use the bridge has. */
import { atLeast } from '../config.js';
import { PORTAL_PREFIX } from './prefix.js';
import type { Command } from './types.js';

export const basicCommands: Command[] = [
  {
    name: 'help',
    help: 'list the commands you may use',
    level: 'relay',
    place: 'anywhere',
    async run({ services, level, portals }) {
      const mine = services.commands().filter((c) => atLeast(level, c.level));
      const line = (c: Command) => `• ${c.name}${c.usage ? ` ${c.usage}` : ''} — ${c.help}${c.place === 'anywhere' ? '' : ` (${c.place === 'portal' ? 'in a bridged room' : 'in this management room'})`}`;
      return [
        'Switchboard commands:',
        ...mine.map(line),
        portals.length ? `In a bridged room like this one, start commands with "${PORTAL_PREFIX.trim()}".` : `In a bridged room, start commands with "${PORTAL_PREFIX.trim()}".`,
      ].join('\n');
    },
  },
  {
    name: 'version',
    help: 'show the Switchboard version',
    level: 'relay',
    place: 'anywhere',
    async run({ services }) {
      return `Switchboard ${services.version}`;
    },
  },
  {
    name: 'ping',
    help: 'check the homeserver connection, and show the networks and the state of your logins',
    level: 'relay',
    place: 'anywhere',
    async run({ ctx, sender, level }) {
      const homeserver = await ctx.matrix.pingHomeserver().then(
        (ms) => `reachable both ways (${ms} ms)`,
        (err: unknown) => `not answering the bridge's ping (${(err as Error).message})`,
      );
      const nets = ctx.sessions.allNetworks().map((n) => n.id).join(', ') || 'none';
      const mine = ctx.sessions.all().filter((l) => l.login.owner === sender);
      const logins = mine.length ? mine.map((l) => `${l.login.network}: ${l.state.state}`).join('; ') : 'no logins';
      return `Bridge is running. Homeserver: ${homeserver}. Networks: ${nets}. Your logins: ${logins}. Your permission: ${level}.`;
    },
  },
];
