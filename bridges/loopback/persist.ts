/** The loopback network's state on disk: one JSON file, replaced atomically on every change. */
import { existsSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import type { UserInfo } from '../../core/events.js';
import type { RemoteUserId } from '../../core/ids.js';
import { parseWithBytes, stringifyWithBytes } from '../../core/json-bytes.js';
import type { Chat, LoopbackMessage } from './world.js';

export interface WorldSnapshot {
  seq: number;
  users: UserInfo[];
  chats: (Omit<Chat, 'members'> & { members: RemoteUserId[] })[];
  messages: (Omit<LoopbackMessage, 'reactions'> & { reactions: [RemoteUserId, string[]][] })[];
}

export function loadWorld(file: string): WorldSnapshot | undefined {
  if (!existsSync(file)) return undefined;
  try {
    return parseWithBytes(readFileSync(file, 'utf8')) as WorldSnapshot;
  } catch (err) {
    throw new Error(`loopback state_file ${file} is unreadable: ${(err as Error).message}`);
  }
}

export function saveWorld(file: string, snapshot: WorldSnapshot): void {
  const tmp = `${file}.tmp`;
  writeFileSync(tmp, stringifyWithBytes(snapshot));
  renameSync(tmp, file);
}
