-- 0005-portal-direction: which way a linked chat carries messages (`link <network> <chat> in|out|both`):
-- both ways, `in` (into the room only) or `out` (from the room only).
ALTER TABLE portals ADD COLUMN direction TEXT NOT NULL DEFAULT 'both' CHECK (direction IN ('both', 'in', 'out'));
