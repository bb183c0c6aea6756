/**
 * `npm run stack`: a whole Switchboard deployment on this machine, on loopback only, for
 * trying the bridge without a homeserver of your own. Starts Synapse (installed into a
 * cached virtualenv on first use), Prosody, and the bridge with the loopback network,
 * creates a Matrix user, seeds a few loopback people, prints what to do next, and tears
 * everything down on Ctrl-C.
 */
import { Command } from 'commander';
import { randomBytes } from 'node:crypto';
import { resolve } from 'node:path';
import { mkdirSync } from 'node:fs';
import { Stack } from '../test/harness/stack.js';
import { freePort } from '../test/harness/proc.js';
import { canConnect } from '../test/harness/tcp.js';

const opts = new Command()
  .name('npm run stack --')
  .description('run Synapse, Prosody and Switchboard (loopback network) on 127.0.0.1 until Ctrl-C')
  .option('--user <name>', 'Matrix user to create', 'alice')
  .option('--password <password>', 'their password', 'switchboard')
  .option('--synapse-port <port>', 'Synapse port (default 8008, or a free one if taken)', (v) => Number(v))
  .option('--dir <path>', 'keep all data and logs in this directory (default: a temp dir removed at exit)')
  .option('--no-prosody', 'do not start Prosody')
  .option('--ngircd', 'also start ngircd')
  .option('--no-seed', 'do not create the demo loopback people and their first message')
  .parse()
  .opts<{ user: string; password: string; synapsePort?: number; dir?: string; prosody: boolean; ngircd?: boolean; seed: boolean }>();

const say = (s = '') => process.stdout.write(`${s}\n`);

async function main(): Promise<void> {
  const synapsePort = opts.synapsePort ?? ((await canConnect(8008)) ? await freePort() : 8008);
  const dir = opts.dir ? resolve(opts.dir) : undefined;
  if (dir) mkdirSync(dir, { recursive: true });
  say('Starting Synapse, Prosody and Switchboard on 127.0.0.1 (the first run installs Synapse: about a minute)...');
  const started = Date.now();
  const provisioningSecret = randomBytes(18).toString('base64url');
  const stack = await Stack.start({
    ...(dir && { dir }),
    synapsePort,
    prosody: opts.prosody,
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
  const xmpp = stack.prosody?.register(opts.user, opts.password);
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
  Bridge bot   ${stack.botUserId}   (start a DM with it and say "help")
  Appservice   ${stack.bridge.url}
  Loopback     control API ${stack.bridge.controlUrl}${opts.seed ? `
               bob has written to you, and carol in the "Loopback lobby" group: accept the invites` : ''}${xmpp ? `
  Prosody      127.0.0.1:${stack.prosody!.c2sPort}   ${xmpp.jid} / ${xmpp.password}   MUC ${stack.prosody!.mucDomain}
               (self-signed certificate: ${stack.prosody!.certFile})` : ''}${stack.ngircd ? `
  ngircd       127.0.0.1:${stack.ngircd.port}` : ''}

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
