/**
 * Every SQL statement of the SQLite store, prepared once with bound parameters: no SQL is
 * ever assembled from input. Kept apart from sqlite.ts, which says what each call means.
 */
import type { SqlDriver } from './sql-driver.js';

export type Statements = ReturnType<typeof prepareStatements>;

export function prepareStatements(db: SqlDriver) {
  const p = (sql: string) => db.prepare(sql);
  return {
    getPortal: p('SELECT * FROM portals WHERE portal_key = ?'),
    portalsByRoom: p('SELECT * FROM portals WHERE room_id = ? ORDER BY created_at'),
    insertPortal: p(`INSERT INTO portals (portal_key, network, chat_id, receiver, kind, room_id, name, topic, avatar_mxc, relay, direction, created_at)
      VALUES (@portalKey, @network, @chatId, @receiver, @kind, @roomId, @name, @topic, @avatarMxc, @relay, @direction, @now)
      ON CONFLICT (portal_key) DO NOTHING`),
    // One fixed statement: each column changes only when its flag is set, so no SQL is ever assembled from input.
    updatePortal: p(`UPDATE portals SET
        room_id = CASE WHEN @setRoomId THEN @roomId ELSE room_id END,
        name = CASE WHEN @setName THEN @name ELSE name END,
        topic = CASE WHEN @setTopic THEN @topic ELSE topic END,
        avatar_mxc = CASE WHEN @setAvatarMxc THEN @avatarMxc ELSE avatar_mxc END,
        relay = CASE WHEN @setRelay THEN @relay ELSE relay END,
        direction = CASE WHEN @setDirection THEN @direction ELSE direction END,
        name_template = CASE WHEN @setNameTemplate THEN @nameTemplate ELSE name_template END,
        show_numbers = CASE WHEN @setShowNumbers THEN @showNumbers ELSE show_numbers END
      WHERE portal_key = @portalKey`),
    listPortals: p('SELECT * FROM portals ORDER BY created_at, portal_key'),
    countPortals: p('SELECT count(*) AS n FROM portals'),
    getGhost: p('SELECT * FROM ghosts WHERE user_id = ?'),
    ghostsOf: p('SELECT * FROM ghosts WHERE network = ? ORDER BY user_id'),
    deleteGhost: p('DELETE FROM ghosts WHERE user_id = ?'),
    ghostByRemote: p('SELECT * FROM ghosts WHERE network = ? AND remote_id = ?'),
    touchGhost: p('UPDATE ghosts SET last_seen = ? WHERE user_id = ?'),
    ghostsUnseenSince: p("SELECT * FROM ghosts WHERE network = ? AND coalesce(last_seen, first_seen, 0) < ? AND remote_id NOT LIKE 'forgotten:%'"),
    forgetGhost: p('UPDATE ghosts SET remote_id = ?, name = NULL, avatar_mxc = NULL, avatar_ref = NULL WHERE user_id = ?'),
    forgetPortalParts: p('DELETE FROM message_map WHERE portal_key = ?'),
    forgetPortalReactions: p('DELETE FROM reactions WHERE portal_key = ?'),
    forgetPortalInbox: p("DELETE FROM inbox WHERE portal_key = ? AND state != 'pending'"),
    forgetPortalRow: p('DELETE FROM portals WHERE portal_key = ?'),
    reassignSender: p('UPDATE message_map SET sender = ? WHERE sender = ?'),
    putGhost: p(`INSERT INTO ghosts (user_id, network, remote_id, name, avatar_mxc, avatar_ref, registered, first_seen)
      VALUES (@userId, @network, @remoteId, @name, @avatarMxc, @avatarRef, @registered, @firstSeen)
      ON CONFLICT (user_id) DO UPDATE SET name = excluded.name, avatar_mxc = excluded.avatar_mxc,
        avatar_ref = excluded.avatar_ref, registered = excluded.registered`),
    storedIdentifiers: p(`SELECT 'ghost' AS kept, network, remote_id AS id, first_seen AS since FROM ghosts
      UNION ALL SELECT 'login', network, remote_user, created_at FROM logins WHERE remote_user IS NOT NULL
      UNION ALL SELECT 'portal', network, chat_id, created_at FROM portals`),
    getLogin: p('SELECT * FROM logins WHERE login_id = ?'),
    listLogins: p('SELECT * FROM logins ORDER BY created_at, login_id'),
    listLoginsOf: p('SELECT * FROM logins WHERE network = ? ORDER BY created_at, login_id'),
    putLogin: p(`INSERT INTO logins (login_id, network, kind, owner, remote_user, data, notice_room, created_at)
      VALUES (@loginId, @network, @kind, @owner, @remoteUser, @data, @noticeRoom, @now)
      ON CONFLICT (login_id) DO UPDATE SET kind = excluded.kind, owner = excluded.owner,
        remote_user = excluded.remote_user, data = excluded.data, notice_room = excluded.notice_room`),
    updateLoginData: p('UPDATE logins SET data = ? WHERE login_id = ?'),
    plainLogins: p("SELECT login_id, data FROM logins WHERE data NOT LIKE 'v1:%'"),
    deleteLogin: p('DELETE FROM logins WHERE login_id = ?'),
    addPart: p(`INSERT INTO message_map (portal_key, remote_id, part, room_id, event_id, sender, created_at)
      VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING`),
    parts: p('SELECT * FROM message_map WHERE portal_key = ? AND remote_id = ? ORDER BY part'),
    partByEvent: p('SELECT * FROM message_map WHERE event_id = ? AND portal_key = ? ORDER BY part'),
    deleteMessage: p('DELETE FROM message_map WHERE portal_key = ? AND remote_id = ?'),
    addReaction: p(`INSERT INTO reactions (portal_key, target_id, sender, reaction_key, event_id)
      VALUES (@portalKey, @targetId, @sender, @key, @eventId) ON CONFLICT DO NOTHING`),
    reactionsBy: p('SELECT * FROM reactions WHERE portal_key = ? AND target_id = ? AND sender = ? ORDER BY rowid'),
    reactionByEvent: p('SELECT * FROM reactions WHERE event_id = ? AND portal_key = ?'),
    deleteReaction: p('DELETE FROM reactions WHERE event_id = ? AND portal_key = ?'),
    addInbox: p(`INSERT INTO inbox (direction, portal_key, dedup_key, login_id, payload, attempts, created_at)
      VALUES (@direction, @portalKey, @dedupKey, @loginId, @payload, @attempts, @now) ON CONFLICT DO NOTHING RETURNING seq`),
    getInbox: p('SELECT * FROM inbox WHERE seq = ?'),
    pendingInbox: p("SELECT * FROM inbox WHERE state = 'pending' ORDER BY seq"),
    pruneInbox: p(`DELETE FROM inbox WHERE state = 'done' AND created_at < ?
      AND seq NOT IN (SELECT max(seq) FROM inbox WHERE direction = 'matrix' GROUP BY portal_key)`),
    finishInbox: p('UPDATE inbox SET state = ?, last_error = ? WHERE seq = ?'),
    markAttempt: p('UPDATE inbox SET attempts = attempts + 1 WHERE seq = ?'),
    countInbox: p('SELECT count(*) AS n FROM inbox WHERE state = ?'),
    // Network ids are lowercase letters and digits (config.ts), so LIKE sees no wildcard in them.
    parkedInbox: p("SELECT * FROM inbox WHERE state = 'failed' AND (CAST(@network AS TEXT) IS NULL OR portal_key LIKE CAST(@network AS TEXT) || '/%') ORDER BY seq DESC LIMIT @limit"),
    unpark: p("UPDATE inbox SET state = 'pending' WHERE seq = ? AND state = 'failed'"),
    dropParked: p("UPDATE inbox SET state = 'done', last_error = coalesce(last_error, '') || ? WHERE seq = ? AND state = 'failed'"),
    matrixEventKnown: p("SELECT 1 FROM inbox WHERE direction = 'matrix' AND portal_key = ? AND dedup_key = ?"),
    lastMatrixEventAt: p("SELECT max(created_at) AS at FROM inbox WHERE direction = 'matrix' AND portal_key = ?"),
    isRoomMember: p('SELECT 1 FROM room_members WHERE room_id = ? AND user_id = ?'),
    addRoomMember: p('INSERT INTO room_members (room_id, user_id) VALUES (?, ?) ON CONFLICT DO NOTHING'),
    removeRoomMember: p('DELETE FROM room_members WHERE room_id = ? AND user_id = ?'),
    markDelivered: p('INSERT INTO delivered_events (event_id, received_at) VALUES (?, ?) ON CONFLICT DO NOTHING'),
    wasDelivered: p('SELECT 1 FROM delivered_events WHERE event_id = ?'),
    pruneDelivered: p('DELETE FROM delivered_events WHERE received_at < ?'),
    // A new id, or a known id with other contents (the homeserver reused it): recorded and processed.
    addTxn: p(`INSERT INTO transactions (txn_id, digest, received_at) VALUES (@txnId, @digest, @now)
      ON CONFLICT (txn_id) DO UPDATE SET digest = excluded.digest, received_at = excluded.received_at
      WHERE transactions.digest IS NOT excluded.digest`),
  };
}
