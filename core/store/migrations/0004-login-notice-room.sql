-- 0004-login-notice-room: the management room where a login was made, where the bot reports its connection trouble.
ALTER TABLE logins ADD COLUMN notice_room TEXT;
