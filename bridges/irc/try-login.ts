/** A login's first connection: registers the nick (and SASL) once, to tell the person now what the network says. */
import { readFileSync } from 'node:fs';
import { Client } from 'irc-framework';
import type { IrcConfig } from './config.js';
import type { IrcLoginData } from './session.js';
import { fromWire, guardLines, toWire } from './wire.js';

const TIMEOUT_MS = 20_000;

/** Undefined when the network took the nick (and password); else why not, in words for the person. */
export function tryIrcLogin(config: IrcConfig, data: IrcLoginData): Promise<string | undefined> {
  const client = new Client();
  guardLines(client, () => undefined);
  return new Promise<string | undefined>((resolve) => {
    const done = (why: string | undefined) => {
      clearTimeout(timer);
      resolve(why);
      client.removeAllListeners();
      client.on('error', () => undefined);
      client.quit('Switchboard: login checked');
    };
    const timer = setTimeout(() => done(`${config.host} did not let the connection register within ${TIMEOUT_MS / 1000} s`), TIMEOUT_MS);
    client.on('registered', () => done(undefined));
    client.on('nick in use', () => done(`the nick ${data.nick} is in use on this network`));
    client.on('nick invalid', () => done(`the network does not accept the nick ${data.nick}`));
    client.on('sasl failed', () => done('the network refused that nick and password (SASL)'));
    client.on('irc error', (e: { error?: string; reason?: string }) => done(`the network refused the connection (${e.error ?? 'error'}${e.reason ? `: ${fromWire(e.reason)}` : ''})`));
    client.on('close', () => done(`could not connect to ${config.host}:${config.port}`));
    client.connect({
      host: config.host, port: config.port, nick: data.nick, username: data.nick.replace(/[^A-Za-z0-9]/g, '').slice(0, 10).toLowerCase() || 'switchbrd',
      gecos: toWire(config.realname), tls: config.tls, rejectUnauthorized: true, ...(config.tlsCaFile && { ca: readFileSync(config.tlsCaFile) }),
      encoding: 'latin1', auto_reconnect: false, ...(data.sasl && { account: { account: data.sasl.account, password: data.sasl.password } }), sasl_disconnect_on_fail: true,
    });
  });
}
