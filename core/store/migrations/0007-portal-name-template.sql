-- 0007-portal-name-template: how the people of a linked chat are named when a gateway room
-- relays them into its other chats (`link ... as [tg] {name}`); NULL is the default,
-- "{name} ({network})".
ALTER TABLE portals ADD COLUMN name_template TEXT;
