-- 0006-transaction-digest: what a transaction contained (a digest of its event ids), so a
-- transaction id the homeserver uses again for other events is not mistaken for a repeat
-- (Synapse with SQLite restarts its appservice transaction counter after a restart).
ALTER TABLE transactions ADD COLUMN digest TEXT;
