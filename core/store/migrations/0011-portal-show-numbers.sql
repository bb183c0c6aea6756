-- 0011-portal-show-numbers: a room's admins chose to see phone numbers in contact cards
-- whole (`numbers visible`); NULL or 0 is the network's rule (core/identity/phone.ts).
ALTER TABLE portals ADD COLUMN show_numbers INTEGER;
