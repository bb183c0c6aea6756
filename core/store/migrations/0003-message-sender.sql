-- 0003-message-sender: who sent each mapped Matrix event (a ghost for remote messages, the person for Matrix ones), so an edit is applied only when it comes from the original sender.
ALTER TABLE message_map ADD COLUMN sender TEXT;
