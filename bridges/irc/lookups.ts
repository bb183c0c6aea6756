/**
 * Questions a connection asks the server: WHOIS (is someone on the network, and how is
 * their nick spelt), WHO with WHOX (who in a channel has which account), and PING (has
 * everything the server sent so far been read). Each answer is waited for a bounded
 * time; none of them rejects.
 */
import type { Client } from 'irc-framework';
import type { Accounts } from './accounts.js';
import { foldCase } from './names.js';
import { fromWire } from './wire.js';

/** How long an answer is waited for. */
export const LOOKUP_TIMEOUT_MS = 15_000;

/** The nick as the server spells it, if someone has it now. */
export function whois(client: Client, write: (command: string, params: string[]) => Promise<void>, nick: string): Promise<string | undefined> {
  return new Promise((resolve) => {
    const t = setTimeout(() => { client.removeListener('whois', on); resolve(undefined); }, LOOKUP_TIMEOUT_MS);
    const on = (e: { nick?: string; error?: string }) => {
      if (foldCase(fromWire(e.nick ?? '')) !== foldCase(nick)) return;
      clearTimeout(t);
      client.removeListener('whois', on);
      resolve(e.error ? undefined : fromWire(e.nick!));
    };
    client.on('whois', on);
    void write('WHOIS', [nick]).catch(() => resolve(undefined));
  });
}

/** Learn the accounts of a channel's members (WHOX `a` field); resolves when answered or given up on. */
export function whoAccounts(client: Client, channel: string, accounts: Accounts): Promise<void> {
  return new Promise<void>((resolve) => {
    const t = setTimeout(resolve, LOOKUP_TIMEOUT_MS);
    client.who(channel, (res) => {
      clearTimeout(t);
      for (const u of res.users ?? []) if (u.nick) accounts.learn(fromWire(u.nick), u.account ? fromWire(u.account) : false);
      resolve();
    });
  });
}

/** Resolves when the server answers a PING with `token` (or after a while): every line it sent before has been read. */
export function roundTrip(client: Client, write: (command: string, params: string[]) => Promise<void>, token: string): Promise<void> {
  return new Promise<void>((resolve) => {
    const t = setTimeout(done, LOOKUP_TIMEOUT_MS);
    function done() {
      clearTimeout(t);
      client.removeListener('pong', on);
      resolve();
    }
    const on = (e: { message?: string }) => { if (e.message === token) done(); };
    client.on('pong', on);
    void write('PING', [token]).catch(done);
  });
}
