-- 0001-initial: portals, ghosts, logins, message and reaction maps, durable inbox, transactions.

-- One row per remote chat the bridge knows; room_id is null until the Matrix room exists.
CREATE TABLE portals (
  portal_key   TEXT PRIMARY KEY,
  network      TEXT NOT NULL,
  chat_id      TEXT NOT NULL,
  receiver     TEXT,
  kind         TEXT NOT NULL CHECK (kind IN ('dm', 'group')),
  room_id      TEXT,
  name         TEXT,
  topic        TEXT,
  avatar_mxc   TEXT,
  data         TEXT NOT NULL DEFAULT '{}',
  created_at   INTEGER NOT NULL
);
CREATE INDEX portals_by_room ON portals (room_id);

-- Matrix users standing for remote users, with the profile last set on Matrix.
CREATE TABLE ghosts (
  user_id      TEXT PRIMARY KEY,
  network      TEXT NOT NULL,
  remote_id    TEXT NOT NULL,
  name         TEXT,
  avatar_mxc   TEXT,
  avatar_ref   TEXT,
  registered   INTEGER NOT NULL DEFAULT 0,
  UNIQUE (network, remote_id)
);

-- Remote accounts the bridge drives. data is adapter-owned and encrypted when a key is configured.
CREATE TABLE logins (
  login_id     TEXT PRIMARY KEY,
  network      TEXT NOT NULL,
  kind         TEXT NOT NULL CHECK (kind IN ('puppet', 'relay')),
  owner        TEXT,
  remote_user  TEXT,
  data         TEXT NOT NULL DEFAULT '{}',
  created_at   INTEGER NOT NULL
);
CREATE INDEX logins_by_owner ON logins (owner, network);

-- Message map: one remote message (several parts: text, attachments) <-> several Matrix events,
-- and one Matrix event <-> several remote messages (long text split); part orders them.
CREATE TABLE message_map (
  portal_key   TEXT NOT NULL,
  remote_id    TEXT NOT NULL,
  part         INTEGER NOT NULL DEFAULT 0,
  room_id      TEXT NOT NULL,
  event_id     TEXT NOT NULL,
  created_at   INTEGER NOT NULL,
  PRIMARY KEY (portal_key, remote_id, part)
);
CREATE UNIQUE INDEX message_map_by_event ON message_map (event_id, portal_key, part);

-- Reactions: who reacted with what on which message, and the Matrix event that carries it.
CREATE TABLE reactions (
  portal_key   TEXT NOT NULL,
  target_id    TEXT NOT NULL,
  sender       TEXT NOT NULL,
  reaction_key TEXT NOT NULL,
  event_id     TEXT NOT NULL,
  PRIMARY KEY (portal_key, target_id, sender, reaction_key)
);
CREATE UNIQUE INDEX reactions_by_event ON reactions (event_id, portal_key);

-- Durable inbox for both directions: recorded before acknowledging, processed in seq order.
CREATE TABLE inbox (
  seq          INTEGER PRIMARY KEY AUTOINCREMENT,
  direction    TEXT NOT NULL CHECK (direction IN ('matrix', 'remote')),
  portal_key   TEXT NOT NULL,
  dedup_key    TEXT NOT NULL,
  login_id     TEXT,
  payload      TEXT NOT NULL,
  state        TEXT NOT NULL DEFAULT 'pending' CHECK (state IN ('pending', 'done', 'failed')),
  attempts     INTEGER NOT NULL DEFAULT 0,
  last_error   TEXT,
  created_at   INTEGER NOT NULL,
  UNIQUE (direction, portal_key, dedup_key)
);
CREATE INDEX inbox_pending ON inbox (state, seq);

-- Appservice transactions already processed (the homeserver retries them).
CREATE TABLE transactions (
  txn_id       TEXT PRIMARY KEY,
  received_at  INTEGER NOT NULL
);
