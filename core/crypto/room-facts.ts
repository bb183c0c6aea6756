/**
 * What encryption needs to know of a Matrix room: whether it is encrypted (and its key
 * rotation settings) and who its members are, the users whose devices get its room keys.
 * Learnt from the room's events as transactions bring them, asked of the homeserver when
 * not known yet. Encryption cannot be turned off in a room (the spec), so "encrypted" is
 * kept for good; the member list is dropped at every membership change and read again.
 */
import type { MatrixClientEvent } from '../convert/matrix-types.js';
import { matrixRoomId, type MatrixRoomId, type MatrixUserId } from '../ids.js';
import type { MatrixSide } from '../matrix/side.js';

export interface RoomEncryptionSettings {
  rotationPeriodMs?: number;
  rotationMessages?: number;
}

const positive = (v: unknown): number | undefined => (typeof v === 'number' && Number.isSafeInteger(v) && v > 0 ? v : undefined);

function settingsOf(content: Record<string, unknown>): RoomEncryptionSettings | undefined {
  if (content.algorithm !== 'm.megolm.v1.aes-sha2') return undefined;
  return { rotationPeriodMs: positive(content.rotation_period_ms), rotationMessages: positive(content.rotation_period_msgs) };
}

export class RoomFacts {
  /** Encrypted rooms and their settings; `null`: known not to be encrypted. */
  private readonly encryption = new Map<string, RoomEncryptionSettings | null>();
  private readonly members = new Map<string, Promise<string[]>>();

  constructor(private readonly matrix: MatrixSide) {}

  /** Every event of a transaction passes here (core/pipeline/plan.ts). */
  observe(ev: MatrixClientEvent): void {
    if (ev.type === 'm.room.encryption' && ev.state_key === '') {
      const settings = settingsOf(ev.content);
      if (settings) this.encryption.set(ev.room_id, settings);
    } else if (ev.type === 'm.room.member') {
      this.members.delete(ev.room_id);
    }
  }

  /** The room's encryption settings, or undefined when it is not encrypted; asked as `reader` (one of ours in the room: the bot is not in a DM portal). */
  async settings(roomId: string, reader: MatrixUserId): Promise<RoomEncryptionSettings | undefined> {
    const known = this.encryption.get(roomId);
    if (known !== undefined) return known ?? undefined;
    const content = await this.matrix.roomState(matrixRoomId(roomId), 'm.room.encryption', '', reader);
    const settings = content ? settingsOf(content) ?? null : null;
    // Only a positive answer is final; a negative one may be overtaken by an event already on its way.
    if (settings || !this.encryption.has(roomId)) this.encryption.set(roomId, settings);
    return settings ?? undefined;
  }

  /** Joined and invited members (an invited user reads what was said before joining, as clients do), from the homeserver at most once per membership change. */
  memberIds(roomId: MatrixRoomId, reader: MatrixUserId): Promise<string[]> {
    let list = this.members.get(roomId);
    if (!list) {
      list = Promise.all([this.matrix.joinedMembers(roomId, reader), this.matrix.invitedMembers(roomId, reader)])
        .then(([joined, invited]) => [...joined.map((m) => m.userId as string), ...invited]);
      this.members.set(roomId, list);
      list.catch(() => this.members.delete(roomId));
    }
    return list;
  }
}
