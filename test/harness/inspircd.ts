/**
 * A real InspIRCd 3 (Debian package `inspircd`) on 127.0.0.1 with its IRCv3 modules on:
 * cap negotiation, server-time, message ids, echo-message, client tags (`+draft/reply`,
 * `+draft/react`, `+typing` relayed by `ircv3_ctctags`), account-tag, batch,
 * labeled-response, and `chanhistory` (replays a channel's recent lines on join, with
 * server-time: InspIRCd 3 has no CHATHISTORY; every new channel gets `+H 5000:1d`, so its
 * last 5,000 lines of a day are replayed on join: enough for a test to read a whole stream). New channels are `+n`, not `+t`: here a
 * channel's creator is not made an op, and tests change topics as ordinary people; an
 * IRC operator of the harness gives channel modes (`mode`, SAMODE).
 * No flood penalty (`fakelag` off), no
 * connection cap: tests open many connections at once. Runs in the foreground as root
 * (`--runasroot`); the pid is ours.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { ensureDebianPackages, INSPIRCD } from './apt.js';
import { freePort, spawnServer, waitReady, type ServerProcess } from './proc.js';
import { canConnect } from './tcp.js';
import { Atheme, inspircdServicesConfig } from './atheme.js';
import { IrcPerson } from './irc-person.js';

/** The password of the harness's IRC operator (loopback only, a throwaway server). */
const OPER_PASSWORD = 'harness-oper';

export class Inspircd {
  private proc: ServerProcess | undefined;
  readonly configFile: string;
  /** Atheme, when asked for. */
  services: Atheme | undefined;

  private constructor(readonly dir: string, readonly port: number, readonly serverName: string) {
    this.configFile = join(dir, 'inspircd.conf');
  }

  /** `services`: link Atheme (NickServ, SaslServ) to it, for logins with a password (atheme.ts). */
  static async create(opts: { dir: string; serverName?: string; services?: boolean }): Promise<Inspircd> {
    ensureDebianPackages([INSPIRCD]);
    const s = new Inspircd(opts.dir, await freePort(), opts.serverName ?? 'irc3.test');
    const linkPort = opts.services ? await freePort() : undefined;
    if (linkPort) s.services = new Atheme(join(opts.dir, 'atheme'), linkPort);
    const modules = ['samode', 'cap', 'ircv3', 'ircv3_capnotify', 'ircv3_servertime', 'ircv3_msgid', 'ircv3_echomessage', 'ircv3_ctctags', 'ircv3_accounttag', 'ircv3_batch', 'ircv3_labeledresponse', 'chanhistory', 'namesx', 'uhnames'];
    writeFileSync(s.configFile, `# Written by the Switchboard test harness.
<server name="${s.serverName}" description="Switchboard test IRC server" network="SwitchboardTest">
<admin name="Switchboard tests" nick="admin" email="admin@${s.serverName}">
<bind address="127.0.0.1" port="${s.port}" type="clients">
<power diepass="" restartpass="">
<connect name="main" allow="*" timeout="60" pingfreq="120" hardsendq="1048576" softsendq="262144" recvq="65536"
         resolvehostnames="no" threshold="1000" commandrate="100000000" fakelag="no" localmax="10000" globalmax="10000" useident="no" limit="10000" modes="">
<options prefixquit="Quit: " suffixquit="" prefixpart="" suffixpart="" syntaxhints="no" cyclehosts="no" announcets="no" hostintopic="no"
         defaultmodes="nH 5000:1d" maskinlist="long" maskintopic="long" exemptchanops="" invitebypassmodes="yes" nosnoticestack="no">
<security announceinvites="dynamic" hideulines="no" flatlinks="no" hidebans="no" hidekills="" hidesplits="no" maxtargets="20"
          customversion="" operspywhois="no" runasuser="" runasgroup="" restrictbannedusers="yes" genericoper="no" userstats="Pu">
<performance netbuffersize="10240" somaxconn="128" softlimit="12800" clonesonconnect="no" quietbursts="yes">
<limits maxnick="30" maxchan="64" maxmodes="20" maxident="11" maxhost="64" maxquit="255" maxtopic="307" maxkick="255" maxreal="128" maxgecos="128" maxaway="200">
<dns timeout="1">
<files motd="${join(s.dir, 'motd.txt')}">
<pid file="${join(s.dir, 'inspircd.pid')}">
<log method="file" type="* -USERINPUT -USEROUTPUT" level="default" target="${join(s.dir, 'ircd.log')}">
${modules.map((m) => `<module name="${m}">`).join('\n')}
<chanhistory maxlines="5000" notice="no" bots="yes">
<class name="HarnessModes" commands="SAMODE">
<type name="HarnessOper" classes="HarnessModes">
<oper name="harness" password="${OPER_PASSWORD}" host="*@*" type="HarnessOper">
${linkPort ? inspircdServicesConfig(linkPort) : ''}`);
    writeFileSync(join(s.dir, 'motd.txt'), 'Switchboard test server\n');
    return s;
  }

  get process(): ServerProcess | undefined {
    return this.proc;
  }

  async start(timeoutMs = 20_000): Promise<void> {
    this.proc = spawnServer('inspircd', INSPIRCD.binary, ['--nofork', '--runasroot', '--nopid', `--config=${this.configFile}`], { cwd: this.dir, logFile: join(this.dir, 'inspircd.log') });
    await waitReady(this.proc, `port ${this.port}`, () => canConnect(this.port), timeoutMs);
    await this.services?.start();
  }

  async stop(): Promise<void> {
    await this.services?.stop();
    await this.proc?.stop();
  }

  /** Set channel modes as an IRC operator would (SAMODE), e.g. `mode('#lobby', '+o', 'ian')`. */
  async mode(channel: string, modes: string, ...params: string[]): Promise<void> {
    const oper = await IrcPerson.connect(this.port, 'harnessop');
    try {
      oper.raw(`OPER harness ${OPER_PASSWORD}`);
      oper.raw(`SAMODE ${channel} ${modes} ${params.join(' ')}`.trimEnd());
    } finally {
      await oper.stop(); // QUIT is read after both lines
    }
  }

  /** Register `nick` with NickServ (a real account, for SASL), as a person would. */
  async registerAccount(nick: string, password: string): Promise<void> {
    const person = await IrcPerson.connect(this.port, nick);
    try {
      person.raw(`PRIVMSG NickServ :REGISTER ${password} ${nick}@example.org`);
      await person.waitFor((h) => h.command === 'notice' && /is now registered/.test(h.message ?? ''), `NickServ registering ${nick}`);
    } finally {
      await person.stop();
    }
  }
}
