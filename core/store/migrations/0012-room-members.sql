-- 0012-room-members: the users the bridge made members of a room (ghosts it joined, owners
-- it invited), so a restart does not ask the homeserver again in every portal (a join and
-- an invite each, queued behind a backlog: core/portal/rooms.ts). A leave or ban seen in a
-- transaction removes the row.
CREATE TABLE room_members (
  room_id TEXT NOT NULL,
  user_id TEXT NOT NULL,
  PRIMARY KEY (room_id, user_id)
);
