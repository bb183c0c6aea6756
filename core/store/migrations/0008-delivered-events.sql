-- 0008-delivered-events: every room event the homeserver delivered, whatever the bridge
-- did with it (a command, a notice, a message before a link, one refused), so that gap
-- repair never takes a delivered event for one the homeserver skipped. Pruned by age.
CREATE TABLE delivered_events (
  event_id TEXT PRIMARY KEY,
  received_at INTEGER NOT NULL
);
CREATE INDEX delivered_events_received_at ON delivered_events (received_at);
