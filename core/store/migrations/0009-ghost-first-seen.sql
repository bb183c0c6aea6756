-- 0009-ghost-first-seen: when each ghost was first seen, for the identifiers audit
-- (core/identity/audit.ts); unknown (NULL) for ghosts made before this version.
ALTER TABLE ghosts ADD COLUMN first_seen INTEGER;
