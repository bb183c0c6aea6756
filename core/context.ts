/** Everything a portal handler may use, passed as one object rather than imported globals. */
import type { Logger } from './adapter.js';
import type { Config } from './config.js';
import type { DmInvites } from './accounts/dm-invites.js';
import type { Encryption } from './crypto/encryption.js';
import type { Ghosts } from './identity/ghosts.js';
import type { MediaLinks } from './media/links.js';
import type { MatrixSide } from './matrix/side.js';
import type { Naming } from './identity/naming.js';
import type { OwnSends } from './pipeline/own-sends.js';
import type { Rooms } from './portal/rooms.js';
import type { Sessions } from './accounts/sessions.js';
import type { Store } from './store/store.js';

export interface BridgeContext {
  config: Config;
  store: Store;
  matrix: MatrixSide;
  naming: Naming;
  ghosts: Ghosts;
  rooms: Rooms;
  sessions: Sessions;
  /** Open direct-chat invites through relay accounts. */
  invites: DmInvites;
  /** Remote ids of the bridge's own recent sends, so their echoes are dropped before being recorded. */
  ownSends: OwnSends;
  /** Signed public links to Matrix media, when `public_media` is enabled. */
  mediaLinks?: MediaLinks;
  /** End-to-bridge encryption, when `encryption.allow` is on. */
  encryption?: Encryption;
  log: Logger;
}
