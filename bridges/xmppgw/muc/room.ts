/**
 * One Matrix room as a MUC (XEP-0045) on the rooms component: who is in it as whom. XMPP
 * occupants join with a nick; Matrix members get their display name as nick, made unique.
 * The room is non-anonymous (everyone's real address is shown, as on Matrix, where every
 * member's ID is), unmoderated, and everyone is a participant. Pure state and stanzas.
 */
import { createHash, randomUUID } from 'node:crypto';
import xml, { type Element } from '@xmpp/xml';

export const NS_MUC = 'http://jabber.org/protocol/muc';
export const NS_MUC_USER = 'http://jabber.org/protocol/muc#user';

export interface XmppOccupant {
  nick: string;
  /** The full JID that joined (presence and messages go to it). */
  full: string;
  bare: string;
  /** Stanzas for it while it is being welcomed (join presences, history), sent right after. */
  held?: Element[];
}

export class HostedRoom {
  readonly xmpp = new Map<string, XmppOccupant>();
  /** Matrix ID -> nick. */
  readonly matrix = new Map<string, string>();
  /** Matrix ID -> their gateway address (their "real JID" in the room). */
  private readonly addresses = new Map<string, string>();

  constructor(readonly jid: string, public subject: string, public name: string | undefined) {}

  occupantByFull(full: string): XmppOccupant | undefined {
    for (const o of this.xmpp.values()) if (o.full === full) return o;
    return undefined;
  }

  nickTaken(nick: string): boolean {
    if (this.xmpp.has(nick)) return true;
    for (const n of this.matrix.values()) if (n === nick) return true;
    return false;
  }

  /**
   * The nick of a Matrix member, given one if new: their display name, with their Matrix ID
   * after it where the name is taken. Returns whether they are new (their presence is due).
   */
  matrixNick(matrixId: string, displayName: string, address: string): { nick: string; added: boolean } {
    const known = this.matrix.get(matrixId);
    if (known !== undefined) return { nick: known, added: false };
    const name = cleanNick(displayName) || cleanNick(matrixId) || 'someone';
    let nick = name;
    if (this.nickTaken(nick)) nick = `${name} (${matrixId})`;
    for (let i = 2; this.nickTaken(nick); i++) nick = `${name} (${matrixId}) ${i}`;
    this.matrix.set(matrixId, nick);
    this.addresses.set(matrixId, address);
    return { nick, added: true };
  }

  /** A Matrix member renamed: their nick from and to, or undefined when it stays. */
  renameMatrix(matrixId: string, displayName: string): { from: string; to: string } | undefined {
    const from = this.matrix.get(matrixId);
    if (from === undefined) return undefined;
    this.matrix.delete(matrixId);
    const { nick } = this.matrixNick(matrixId, displayName, this.addresses.get(matrixId) ?? '');
    return nick === from ? undefined : { from, to: nick };
  }

  /** A Matrix member left: their nick, if they were in. */
  leaveMatrix(matrixId: string): string | undefined {
    const nick = this.matrix.get(matrixId);
    this.matrix.delete(matrixId);
    return nick;
  }

  addressOf(matrixId: string): string | undefined {
    return this.addresses.get(matrixId) || undefined;
  }

  /**
   * The room's stanza id (XEP-0359) for a message an XMPP occupant sent with `clientId`
   * (its origin id, else its `id`): derived from the room, the sender and that id, so a
   * message sent again (a client retrying after an error, across a bridge restart) gets
   * the same id and the core takes it once, and a correction naming `clientId` finds its
   * message without anything remembered. One sender cannot reach another's ids.
   */
  stanzaIdFor(bare: string, clientId: string | undefined): string {
    if (!clientId) return randomUUID();
    return `gw-${createHash('sha256').update(`${this.jid}\n${bare}\n${clientId}`).digest('base64url').slice(0, 27)}`;
  }

  /** Every occupant's presence, as a joiner receives them before its own. */
  presences(to: string): Element[] {
    const list: Element[] = [];
    for (const [id, nick] of this.matrix) list.push(this.presence(nick, to, this.addresses.get(id)));
    for (const o of this.xmpp.values()) if (o.full !== to) list.push(this.presence(o.nick, to, o.full));
    return list;
  }

  /** An occupant's presence (or its leaving, `unavailable`) for one XMPP occupant; `self` adds the status codes of its own. */
  presence(nick: string, to: string, realJid: string | undefined, opts: { unavailable?: boolean; self?: boolean; newNick?: string } = {}): Element {
    // XEP-0045 7.6: a nick change is the old nick leaving with 303 and the new one.
    const codes = [...(opts.self ? ['110', ...(opts.unavailable ? [] : ['100'])] : []), ...(opts.newNick ? ['303'] : [])];
    return xml('presence', { from: `${this.jid}/${nick}`, to, ...(opts.unavailable && { type: 'unavailable' }) },
      xml('x', { xmlns: NS_MUC_USER },
        xml('item', { affiliation: 'none', role: opts.unavailable ? 'none' : 'participant', ...(realJid && { jid: realJid }), ...(opts.newNick && { nick: opts.newNick }) }),
        ...codes.map((code) => xml('status', { code }))));
  }

}

/**
 * A nick: one line of letters, marks, digits, punctuation, symbols and spaces (what XMPP's
 * resourceprep takes: no controls, unassigned or private-use code points, which would make
 * the server refuse every stanza from that occupant), NFC, at most 64 characters.
 */
export function cleanNick(s: string): string {
  const kept = s.normalize('NFC').replace(/[\u2028\u2029\t\n\r]/g, ' ').replace(/[^\p{L}\p{M}\p{N}\p{P}\p{S}\p{Zs}]/gu, '');
  return [...kept.trim()].slice(0, 64).join('').trim();
}
