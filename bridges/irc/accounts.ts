/**
 * Who is logged in to which services account, as one connection learns it: IRCv3
 * `extended-join` (the account on JOIN), `account-tag` (on every line; no tag means not
 * logged in), `account-notify` (ACCOUNT when it changes) and WHOX after our own join.
 * A person with an account keeps one ghost across nick changes: their id is `~account`
 * (folded), which no nick id can be (a nick never starts with `~`, and folding turns a
 * nick's `~` into `^`). Without an account, the id is the folded nick, as before.
 */
import type { SenderRef } from '../../core/events.js';
import { remoteUserId, type RemoteUserId } from '../../core/ids.js';
import { foldCase, userIdOf } from './names.js';

/** Nicks one connection remembers an account for; the oldest is forgotten past this. */
const MAX_KNOWN = 20_000;
const ACCOUNT_PREFIX = '~';
/** Services account names as networks allow them: one word, at most 64 characters. */
const USABLE_ACCOUNT = /^[^\s\u0000-\u001f\u007f]{1,64}$/;

export const accountIdOf = (account: string): RemoteUserId => remoteUserId(`${ACCOUNT_PREFIX}${foldCase(account)}`);
export const isAccountId = (id: string): boolean => id.startsWith(ACCOUNT_PREFIX);

export class Accounts {
  /** Folded nick -> account (as the server spells it). */
  private readonly byNick = new Map<string, string>();
  /** Folded account -> the nick it was last seen with. */
  private readonly nickOf = new Map<string, string>();

  /** What the server said of a nick: an account, `false` (not logged in), or undefined (it did not say). */
  learn(nick: string, account: string | false | undefined): void {
    if (account === undefined) return;
    const key = foldCase(nick);
    this.byNick.delete(key);
    // An account a ghost id cannot be made of (a server's 4 KB tag, spaces, controls) counts as none: the nick is the id.
    if (account === false || account === '*' || !USABLE_ACCOUNT.test(account)) return;
    if (this.byNick.size >= MAX_KNOWN) this.byNick.delete(this.byNick.keys().next().value!);
    this.byNick.set(key, account);
    this.nickOf.delete(foldCase(account));
    if (this.nickOf.size >= MAX_KNOWN) this.nickOf.delete(this.nickOf.keys().next().value!);
    this.nickOf.set(foldCase(account), nick);
  }

  accountOf(nick: string): string | undefined {
    return this.byNick.get(foldCase(nick));
  }

  renamed(from: string, to: string): void {
    const account = this.accountOf(from);
    this.byNick.delete(foldCase(from));
    if (account) this.learn(to, account);
  }

  forget(nick: string): void {
    this.byNick.delete(foldCase(nick));
  }

  clear(): void {
    this.byNick.clear();
    this.nickOf.clear();
  }

  /** The id of whoever has this nick now. */
  idOf(nick: string): RemoteUserId {
    const account = this.accountOf(nick);
    return account ? accountIdOf(account) : userIdOf(nick);
  }

  senderOf(nick: string): SenderRef {
    return { id: this.idOf(nick), name: nick };
  }

  /** The nick to write for a user id (a mention): an account's last nick, else the account name; a nick id is the nick. */
  nickFor(id: string): string {
    if (!isAccountId(id)) return id;
    const account = id.slice(ACCOUNT_PREFIX.length);
    return this.nickOf.get(account) ?? account;
  }
}
