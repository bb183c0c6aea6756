/**
 * One connection's channels: the ones it should be in (kept in the login data and
 * rejoined after every reconnect, in their display spelling), who is in each as this
 * connection saw it (from NAMES, joins, parts, quits, kicks, nick changes), which of
 * them are operators, and the JOINs it is waiting on. Keys are case-folded (names.ts).
 */
import { foldCase } from './names.js';

export class Channels {
  private readonly wanted = new Map<string, string>();
  private readonly members = new Map<string, Set<string>>();
  private readonly ops = new Map<string, Set<string>>();
  private readonly waiting = new Map<string, { resolve: () => void; reject: (e: Error) => void }[]>();

  constructor(initial: readonly string[] = []) {
    for (const c of initial) this.wanted.set(foldCase(c), c);
  }

  // ------------------------------------------------------------ the channels to be in

  wants(channel: string): boolean {
    return this.wanted.has(foldCase(channel));
  }
  want(channel: string): void {
    this.wanted.set(foldCase(channel), channel);
  }
  drop(channel: string): void {
    this.wanted.delete(foldCase(channel));
  }
  /** Display spellings, for JOIN after a reconnect and for the login data. */
  list(): string[] {
    return [...this.wanted.values()];
  }
  /** The display spelling of a channel we know, else the name as given. */
  display(channel: string): string {
    return this.wanted.get(foldCase(channel)) ?? channel;
  }

  // ------------------------------------------------------------ who is in them

  membersOf(channel: string): ReadonlySet<string> | undefined {
    return this.members.get(foldCase(channel));
  }
  setMembers(channel: string, nicks: readonly string[], ops: readonly string[] = []): void {
    this.members.set(foldCase(channel), new Set(nicks.map(foldCase)));
    this.ops.set(foldCase(channel), new Set(ops.map(foldCase)));
  }
  addMember(channel: string, nick: string): void {
    const key = foldCase(channel);
    const set = this.members.get(key) ?? new Set<string>();
    set.add(foldCase(nick));
    this.members.set(key, set);
  }
  removeMember(channel: string, nick: string): void {
    this.members.get(foldCase(channel))?.delete(foldCase(nick));
    this.ops.get(foldCase(channel))?.delete(foldCase(nick));
  }
  /** The same person under a new nick: membership and operator status follow. */
  renameMember(channel: string, from: string, to: string): void {
    const op = this.isOp(channel, from);
    this.removeMember(channel, from);
    this.addMember(channel, to);
    if (op) this.setOp(channel, to, true);
  }
  isOp(channel: string, nick: string): boolean {
    return this.ops.get(foldCase(channel))?.has(foldCase(nick)) ?? false;
  }
  /** Whether this changed what we knew. */
  setOp(channel: string, nick: string, op: boolean): boolean {
    const key = foldCase(channel);
    const set = this.ops.get(key) ?? new Set<string>();
    this.ops.set(key, set);
    if (set.has(foldCase(nick)) === op) return false;
    if (op) set.add(foldCase(nick));
    else set.delete(foldCase(nick));
    return true;
  }
  isMember(channel: string, nick: string): boolean {
    return this.members.get(foldCase(channel))?.has(foldCase(nick)) ?? false;
  }
  /** The channels (display spelling) where `nick` is, as this connection saw it. */
  channelsOf(nick: string): string[] {
    const folded = foldCase(nick);
    return [...this.members].filter(([, set]) => set.has(folded)).map(([key]) => this.wanted.get(key) ?? key);
  }
  /** The connection dropped: it is in no channel until it joins again. */
  forgetMembers(): void {
    this.members.clear();
    this.ops.clear();
  }

  // ------------------------------------------------------------ JOINs in flight

  /** Resolves when our JOIN of `channel` is confirmed, rejects with the server's refusal. */
  waitForJoin(channel: string): Promise<void> {
    const key = foldCase(channel);
    return new Promise((resolve, reject) => {
      const list = this.waiting.get(key) ?? [];
      list.push({ resolve, reject });
      this.waiting.set(key, list);
    });
  }
  joined(channel: string): void {
    const key = foldCase(channel);
    for (const w of this.waiting.get(key) ?? []) w.resolve();
    this.waiting.delete(key);
  }
  refused(channel: string, why: string): void {
    const key = foldCase(channel);
    for (const w of this.waiting.get(key) ?? []) w.reject(new Error(`cannot join ${channel}: ${why}`));
    this.waiting.delete(key);
  }
}
