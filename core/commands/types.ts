/** What a bot command is given and what it declares about itself. */
import type { PermissionLevel } from '../config.js';
import type { BridgeContext } from '../context.js';
import type { MatrixEventId, MatrixRoomId, MatrixUserId } from '../ids.js';
import type { LoginManager } from '../accounts/logins.js';
import type { PortalRow } from '../store/store.js';
import type { LoginChat } from './login-chat.js';

/** Engine services commands use beyond the context. */
export interface CommandServices {
  logins: LoginManager;
  loginChat: LoginChat;
  /** Refresh a portal's room from the remote chat (name, topic, member profiles); returns a summary. */
  syncPortal(portal: PortalRow): Promise<string>;
  version: string;
  /** Parked inbox rows back into their portals' queues (`retry`); returns how many were parked. */
  retryParked(seqs: readonly number[]): number;
  /** The command list, for `help`. */
  commands(): readonly Command[];
}

export interface CommandCall {
  ctx: BridgeContext;
  services: CommandServices;
  sender: MatrixUserId;
  level: PermissionLevel;
  roomId: MatrixRoomId;
  eventId: MatrixEventId;
  args: string[];
  /** The portals of this room (empty in a management room). */
  portals: PortalRow[];
}

/** Where a command may be used. */
export type CommandPlace = 'anywhere' | 'management' | 'portal';

export interface Command {
  name: string;
  /** Arguments, as shown in help: `<network> <chat>`. */
  usage?: string;
  help: string;
  /** The least permission level that may run it. */
  level: PermissionLevel;
  place: CommandPlace;
  /** Returns the bot's answer (plain text). Throwing a CommandError answers its message. */
  run(call: CommandCall): Promise<string>;
}

/** A refusal or usage error whose message is the answer. */
export class CommandError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'CommandError';
  }
}
