-- 0002-portal-relay: whether Matrix users without their own login are relayed in a portal (`relay on|off`).
ALTER TABLE portals ADD COLUMN relay INTEGER NOT NULL DEFAULT 1 CHECK (relay IN (0, 1));
