/**
 * `npm run stack`: a whole Switchboard deployment on this machine, on loopback only, for
 * trying the bridge without a homeserver of your own. Starts Synapse (installed into a
 * cached virtualenv on first use), Prosody, and the bridge with every network it ships
 * (loopback; XMPP against the Prosody, with a relay account; the XMPP federation gateway
 * as that Prosody's components; IRC against an InspIRCd, with a relay connection),
 * creates two Matrix users
 * and two XMPP accounts, seeds a few loopback people, prints what to do next, and tears
 * everything down on Ctrl-C.
 */
import { Command } from 'commander';
import { randomBytes } from 'node:crypto';
import { resolve } from 'node:path';
import { mkdirSync } from 'node:fs';
import { Stack } from '../test/harness/stack.js';
import { freePort } from '../test/harness/proc.js';
import { canConnect } from '../test/harness/tcp.js';
import { CONTROL_ROUTES } from '../bridges/loopback/control.js';
import { localpartOfMatrixUser } from '../bridges/xmppgw/addresses.js';

const gatewayAddress = (userId: string, component: string) => `${localpartOfMatrixUser(userId)}@${component}`;

const opts = new Command()
  .name('npm run stack --')
  .description('run Synapse, Prosody, InspIRCd and Switchboard (loopback, XMPP, the XMPP gateway and IRC) on 127.0.0.1 until Ctrl-C')
  .option('--user <name>', 'Matrix user to create (and the same name on XMPP)', 'alice')
  .option('--password <password>', 'their password (the other accounts get it too)', 'switchboard')
  .option('--second-user <name>', 'a second Matrix user, to try rooms with two people', 'dave')
  .option('--contact <name>', 'an XMPP account to talk to your XMPP login from', 'bob')
  .option('--synapse-port <port>', 'Synapse port (default 8008, or a free one if taken)', (v) => Number(v))
  .option('--dir <path>', 'keep all data and logs in this directory (default: a temp dir removed at exit)')
  .option('--no-prosody', 'do not start Prosody')
  .option('--no-irc', 'do not start the IRC server (InspIRCd)')
  .option('--ngircd', 'also start ngircd')
  .option('--no-seed', 'do not create the demo loopback people and their first message')
  .parse()
  .opts<{ user: string; password: string; secondUser: string; contact: string; synapsePort?: number; dir?: string; prosody: boolean; irc: boolean; ngircd?: boolean; seed: boolean }>();

const say = (s = '') => process.stdout.write(`${s}\n`);

async function main(): Promise<void> {
  const synapsePort = opts.synapsePort ?? ((await canConnect(8008)) ? await freePort() : 8008);
  const dir = opts.dir ? resolve(opts.dir) : undefined;
  if (dir) mkdirSync(dir, { recursive: true });
  say('Starting Synapse, Prosody, InspIRCd and Switchboard on 127.0.0.1 (the first run installs Synapse: about a minute)...');
  const started = Date.now();
  const provisioningSecret = randomBytes(18).toString('base64url');
  const stack = await Stack.start({
    ...(dir && { dir }),
    synapsePort,
    // The bridge gets its XMPP network (with a relay account) whenever Prosody runs.
    xmpp: opts.prosody,
    // And the federation gateway: Matrix users get XMPP addresses, public rooms become MUCs.
    xmppGateway: opts.prosody,
    irc: opts.irc,
    ngircd: Boolean(opts.ngircd),
    bridge: {
      logLevel: 'info',
      loopback: { puppets: [{ owner: `@${opts.user}:switchboard.test`, user: opts.user }] },
      extra: { provisioning: { enabled: true, shared_secret: provisioningSecret } },
    },
  });
  let stopping = false;
  const stop = async (signal: string) => {
    if (stopping) return;
    stopping = true;
    say(`\n${signal}: stopping the bridge${stack.prosody ? ', Prosody' : ''}${stack.ngircd ? ', ngircd' : ''} and Synapse...`);
    await stack.stop({ keepDir: Boolean(dir) });
    say(dir ? `Stopped. Data and logs kept in ${dir}` : 'Stopped; temporary data removed.');
    process.exit(0);
  };
  process.on('SIGINT', () => void stop('Ctrl-C'));
  process.on('SIGTERM', () => void stop('SIGTERM'));

  const account = await stack.synapse.register(opts.user, opts.password);
  const second = await stack.synapse.register(opts.secondUser, opts.password);
  const xmpp = stack.prosody?.register(opts.user, opts.password);
  const contact = stack.prosody?.register(opts.contact, opts.password);
  const lb = stack.loopback;
  if (opts.seed) {
    await lb.addUser('bob', 'Bob (loopback)');
    await lb.addUser('carol', 'Carol (loopback)');
    await lb.addGroup('lobby', { name: 'Loopback lobby', topic: 'A group chat on the pretend loopback network', members: [opts.user, 'bob', 'carol'] });
    await lb.dm('bob', opts.user, `Hi ${opts.user}! I am Bob, on the loopback network. Write back and I will get it there.`);
    await lb.say('carol', 'lobby', 'Welcome to the lobby, a group chat bridged from the loopback network.');
  }

  say(`
Switchboard dev stack is up (${((Date.now() - started) / 1000).toFixed(1)} s). Everything listens on 127.0.0.1 only.

  Homeserver   ${stack.synapse.url}   (server name ${stack.synapse.serverName})
  Log in as    ${account.userId}   password: ${account.password}
               with any Matrix client, homeserver URL ${stack.synapse.url}
  Second user  ${second.userId}   password: ${second.password}   (invite them to try a room with two people)
  Bridge bot   ${stack.botUserId}   (start a DM with it and say "help")
  Appservice   ${stack.bridge.url}
  Networks     loopback${xmpp ? ', xmpp, xmppgw' : ''}${stack.ircd ? ', irc' : ''}
  Loopback     control API ${stack.bridge.controlUrl}${opts.seed ? `
               bob has written to you, and carol in the "Loopback lobby" group: accept the invites` : ''}${xmpp && contact ? `
  XMPP         Prosody on 127.0.0.1:${stack.prosody!.c2sPort}, MUCs on ${stack.prosody!.mucDomain}
               your XMPP account: ${xmpp.jid}   password: ${xmpp.password}
                 say "login xmpp" to the bot and give it these, and your XMPP chats become rooms
               someone to talk to: ${contact.jid}   password: ${contact.password}
                 log in with any XMPP client (server 127.0.0.1, port ${stack.prosody!.c2sPort}; it will
                 ask you to accept the self-signed certificate ${stack.prosody!.certFile}) and write to ${xmpp.jid}
               the bridge's relay account speaks in linked MUCs: "link xmpp room@${stack.prosody!.mucDomain}" in a room
  XMPP gateway components ${stack.prosody!.gatewayDomain} and ${stack.prosody!.gatewayMucDomain} (no XMPP account needed)
                 say "login xmppgw" to the bot: you get the address ${gatewayAddress(account.userId, stack.prosody!.gatewayDomain)}
                 which ${contact.jid} (or anyone on XMPP) can write to; "open xmppgw ${contact.jid}" writes first
               a public Matrix room with the alias #name:${stack.synapse.serverName} is the MUC
                 name\\40${stack.synapse.serverName}@${stack.prosody!.gatewayMucDomain} for XMPP people` : ''}${stack.ircd ? `
  IRC          InspIRCd on 127.0.0.1:${stack.ircd.port} (no TLS), channel #lobby
                 join #lobby with any IRC client (server 127.0.0.1, port ${stack.ircd.port}), then in a Matrix room:
                 "link irc #lobby"; the relay speaks there as Switchboard. "login irc" to appear as yourself` : ''}${stack.ngircd ? `
  ngircd       127.0.0.1:${stack.ngircd.port} (a second IRC server; add it as a network section to bridge it)` : ''}

The loopback control API (${stack.bridge.controlUrl}):
${CONTROL_ROUTES}

Make a loopback user talk:
  curl -s -X POST ${stack.bridge.controlUrl}/messages -H 'content-type: application/json' \\
       -d '{"from":"bob","to":"${opts.user}","text":"hello from the loopback network"}'
See what the bridge sent to the loopback network:
  curl -s '${stack.bridge.controlUrl}/from-bridge?since=0'
Ask the provisioning API who you are (docs/provisioning.md):
  curl -s ${stack.bridge.url}/_switchboard/provision/v1/whoami -H 'Authorization: Bearer ${provisioningSecret}' \\
       -H 'X-Matrix-Access-Token: ${account.accessToken}'

Logs: ${stack.dir}/bridge/bridge-1.log  ${stack.dir}/synapse/homeserver.log
Press Ctrl-C to stop everything.`);
}

main().catch((err: unknown) => {
  process.stderr.write(`stack: ${(err as Error).message}\n`);
  process.exit(1);
});
