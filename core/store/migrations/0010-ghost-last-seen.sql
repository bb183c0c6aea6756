-- 0010-ghost-last-seen: when a ghost's remote person was last seen (at most hourly), so
-- identifiers.forget_after_days can forget the identifiers of people long gone.
ALTER TABLE ghosts ADD COLUMN last_seen INTEGER;
