/**
 * What the connections of one IRC network share (one registry per network section):
 * - **own nicks**: every nick the bridge's connections use. A channel message from one
 *   of them came from Matrix and is never bridged back (an IRC server without
 *   echo-message relays it to our other connections in the channel like anyone's).
 * - **readers**: several of our connections may sit in one channel (the relay and
 *   people's own); exactly one of them, the reader, reports the channel's messages and
 *   members to the core: the relay when it is there, else the connection that joined
 *   first. Without IRCv3 message ids, two readers would report one line twice under two ids.
 * - **connection budget**: at most `max_connections` personal connections; the least
 *   recently active one is closed to make room (it opens again at its owner's next message).
 */
import { foldCase } from './names.js';

export interface Member {
  /** Stable for the process: the login id. */
  id: string;
  relay: boolean;
  /** Close this connection to make room for another (it reconnects when used). */
  evict(reason: string): void;
}

export class IrcRegistry {
  private readonly nicks = new Map<string, string>(); // folded nick -> member id
  private readonly joined = new Map<string, string[]>(); // folded channel -> member ids, join order
  private readonly members = new Map<string, Member>();
  private readonly lastActive = new Map<string, number>();

  constructor(private readonly maxPersonal: number, private readonly now: () => number = Date.now) {}

  // ------------------------------------------------------------ own nicks

  setNick(member: Member, nick: string | undefined): void {
    for (const [n, id] of this.nicks) if (id === member.id) this.nicks.delete(n);
    if (nick) this.nicks.set(foldCase(nick), member.id);
  }

  isOwnNick(nick: string): boolean {
    return this.nicks.has(foldCase(nick));
  }

  // ------------------------------------------------------------ readers

  joinedChannel(member: Member, channel: string): void {
    const key = foldCase(channel);
    const list = this.joined.get(key) ?? [];
    if (!list.includes(member.id)) list.push(member.id);
    this.joined.set(key, list);
  }

  leftChannel(member: Member, channel: string): void {
    const key = foldCase(channel);
    const list = (this.joined.get(key) ?? []).filter((id) => id !== member.id);
    if (list.length) this.joined.set(key, list);
    else this.joined.delete(key);
  }

  /** The connection dropped (it will come back): it reads no channel and owns no nick meanwhile. */
  leaveAll(member: Member): void {
    this.setNick(member, undefined);
    for (const channel of [...this.joined.keys()]) this.leftChannel(member, channel);
  }

  /** Whether `member` is the one that reports this channel to the core. */
  isReader(member: Member, channel: string): boolean {
    const list = this.joined.get(foldCase(channel)) ?? [];
    const relay = list.find((id) => this.members.get(id)?.relay);
    return (relay ?? list[0]) === member.id;
  }

  // ------------------------------------------------------------ connections

  /**
   * A connection is about to open. A personal one beyond the budget makes the least
   * recently active other personal connection close.
   */
  opening(member: Member): void {
    this.members.set(member.id, member);
    this.touch(member);
    if (member.relay) return;
    const personal = [...this.members.values()].filter((m) => !m.relay);
    if (personal.length <= this.maxPersonal) return;
    const victim = personal
      .filter((m) => m.id !== member.id)
      .sort((a, b) => (this.lastActive.get(a.id) ?? 0) - (this.lastActive.get(b.id) ?? 0))[0];
    victim?.evict(`closed to stay within this bridge's ${this.maxPersonal} connections to the network; it opens again when you write`);
  }

  /** The connection closed (for good or to make room): it no longer counts, reads or owns a nick. */
  closed(member: Member): void {
    this.members.delete(member.id);
    this.lastActive.delete(member.id);
    this.leaveAll(member);
  }

  touch(member: Member): void {
    this.lastActive.set(member.id, this.now());
  }

  idleSince(member: Member): number {
    return this.lastActive.get(member.id) ?? this.now();
  }

  get personalCount(): number {
    return [...this.members.values()].filter((m) => !m.relay).length;
  }
}
