/**
 * The loopback network's state on disk, as a journal: one JSON line per change, holding the
 * user, chat or message that changed as it is now. Appending costs the size of the change, so
 * a network of 10,000 messages takes a new one as fast as an empty one (rewriting the whole
 * state on every change made each message cost the size of the network). Written before the
 * change is acknowledged, so a bridge killed right after still has it. Compacted at load.
 */
import { appendFileSync, existsSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import type { UserInfo } from '../../core/events.js';
import type { RemoteUserId } from '../../core/ids.js';
import { parseWithBytes, stringifyWithBytes } from '../../core/json-bytes.js';
import type { Chat, LoopbackMessage } from './world.js';

export type SavedChat = Omit<Chat, 'members'> & { members: RemoteUserId[] };
export type SavedMessage = Omit<LoopbackMessage, 'reactions'> & { reactions: [RemoteUserId, string[]][] };

/** One line: the network's message counter, and the one thing that changed. */
export type WorldRecord = { seq: number } & ({ user: UserInfo } | { chat: SavedChat } | { message: SavedMessage });

export const saveChat = (c: Chat): SavedChat => ({ ...c, members: [...c.members] });
export const saveMessage = (m: LoopbackMessage): SavedMessage => ({ ...m, reactions: [...m.reactions].map(([u, keys]): [RemoteUserId, string[]] => [u, [...keys]]) });

/** The journal's records, oldest first; later records of the same user, chat or message replace earlier ones. */
export function loadWorld(file: string): WorldRecord[] | undefined {
  if (!existsSync(file)) return undefined;
  const records: WorldRecord[] = [];
  const lines = readFileSync(file, 'utf8').split('\n');
  for (const [i, line] of lines.entries()) {
    if (!line) continue;
    let parsed: unknown;
    try {
      parsed = parseWithBytes(line);
    } catch (err) {
      // A crash mid-append leaves a last line without its newline: that change was never
      // acknowledged, so it is dropped. Any other unreadable line is an error.
      if (i === lines.length - 1) break;
      throw new Error(`loopback state_file ${file} is unreadable at line ${i + 1}: ${(err as Error).message}`);
    }
    records.push(...fromLegacy(parsed));
  }
  return records;
}

/** A line as records: itself, or, for the whole-state file of earlier versions, one record per user, chat and message. */
function fromLegacy(parsed: unknown): WorldRecord[] {
  const old = parsed as { seq: number; users?: UserInfo[]; chats?: SavedChat[]; messages?: SavedMessage[] };
  if (!Array.isArray(old.messages)) return [parsed as WorldRecord];
  const seq = old.seq;
  return [...(old.users ?? []).map((user) => ({ seq, user })), ...(old.chats ?? []).map((chat) => ({ seq, chat })), ...old.messages.map((message) => ({ seq, message }))];
}

export function appendRecord(file: string, record: WorldRecord): void {
  appendFileSync(file, `${stringifyWithBytes(record)}\n`);
}

/** Replace the journal with these records (one per user, chat and message: the compacted state). */
export function rewriteWorld(file: string, records: WorldRecord[]): void {
  const tmp = `${file}.tmp`;
  writeFileSync(tmp, records.map((r) => `${stringifyWithBytes(r)}\n`).join(''));
  renameSync(tmp, file);
}
