/**
 * Atheme IRC services (Debian package `atheme-services`), linked to the harness's InspIRCd
 * as `services.int`: NickServ registers accounts and SaslServ answers SASL PLAIN, so
 * logins with a password are tested against real services. A minimal configuration of
 * our own (no mail: `auth = none`). Runs in the foreground; the pid is ours.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { ATHEME, ensureDebianPackages } from './apt.js';
import { spawnServer, waitReady, type ServerProcess } from './proc.js';

/** What InspIRCd needs to let services link (appended to its config). */
export function inspircdServicesConfig(linkPort: number): string {
  return `
<module name="spanningtree">
<module name="services_account">
<module name="sasl">
<bind address="127.0.0.1" port="${linkPort}" type="servers">
<link name="services.int" ipaddr="127.0.0.1" port="${linkPort}" allowmask="127.0.0.1/32" sendpass="linkpw" recvpass="linkpw">
<uline server="services.int" silent="yes">
<sasl target="services.int">
`;
}

export class Atheme {
  private proc: ServerProcess | undefined;

  constructor(private readonly dir: string, private readonly linkPort: number) {
    ensureDebianPackages([ATHEME]);
    mkdirSync(dir, { recursive: true });
    writeFileSync(join(dir, 'atheme.conf'), CONFIG.replace('LINKPORT', String(linkPort)));
  }

  /** Start and wait until it has linked to the IRC server and synced. */
  async start(timeoutMs = 20_000): Promise<void> {
    const proc = spawnServer('atheme', ATHEME.binary, ['-n', '-c', join(this.dir, 'atheme.conf'), '-D', this.dir, '-l', join(this.dir, 'atheme.log'), '-p', join(this.dir, 'atheme.pid')], {
      cwd: this.dir, logFile: join(this.dir, 'atheme-out.log'),
    });
    this.proc = proc;
    await waitReady(proc, 'services linked to the IRC server', async () => proc.output().includes('finished synching with uplink'), timeoutMs);
  }

  async stop(): Promise<void> {
    await this.proc?.stop();
  }
}

const CONFIG = `/* Written by the Switchboard test harness. */
loadmodule "modules/protocol/inspircd";
loadmodule "modules/backend/opensex";
loadmodule "modules/crypto/pbkdf2v2";
loadmodule "modules/nickserv/main";
loadmodule "modules/nickserv/register";
loadmodule "modules/nickserv/identify";
loadmodule "modules/saslserv/main";
loadmodule "modules/saslserv/plain";

serverinfo {
	name = "services.int";
	desc = "Switchboard test services";
	numeric = "00A";
	recontime = 2;
	netname = "SwitchboardTest";
	hidehostsuffix = "users.test";
	adminname = "Switchboard tests";
	adminemail = "admin@irc3.test";
	registeremail = "noreply@irc3.test";
	mta = "/bin/true";
	loglevel = { error; info; };
	maxlogins = 5;
	maxusers = 5;
	mdlimit = 30;
	emaillimit = 10;
	emailtime = 300;
	auth = none;
	casemapping = rfc1459;
};

uplink "irc3.test" {
	host = "127.0.0.1";
	send_password = "linkpw";
	receive_password = "linkpw";
	port = LINKPORT;
};

nickserv {
	nick = "NickServ";
	user = "NickServ";
	host = "services.int";
	real = "Nickname Services";
};

saslserv {
	nick = "SaslServ";
	user = "SaslServ";
	host = "services.int";
	real = "SASL Authentication Agent";
};

general {
	helpchan = "#help";
	helpurl = "";
	verbose_wallops;
	join_chans;
	leave_chans;
	uflags = { hidemail; };
	cflags = { guard; verbose; };
	flood_msgs = 7;
	flood_time = 10;
	ratelimit_uses = 5;
	ratelimit_period = 60;
	kline_time = 7;
	commit_interval = 5;
	default_clone_allowed = 5;
	default_clone_warn = 4;
	clone_time = 0;
	uplink_sendq_limit = 1048576;
	language = "en";
};
`;
