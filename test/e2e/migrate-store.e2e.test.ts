/**
 * `switchboard migrate-store --to postgres://...` through the real CLI: a deployment's
 * SQLite store copied into a real PostgreSQL 15, row counts compared, a second run copying
 * nothing twice, and the copy read back by the PostgreSQL store with the same key.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { promisify } from 'node:util';
import { stringify } from 'yaml';
import { loginId, matrixEventId, matrixRoomId, networkId, remoteMessageId } from '../../core/ids.js';
import { PostgresStore } from '../../core/store/postgres/store.js';
import { SqliteStore } from '../../core/store/sqlite.js';
import { REPO_ROOT } from '../harness/bridge.js';
import { Postgres } from '../harness/postgres.js';
import { tempDir } from '../harness/proc.js';

const KEY = 'a-login-data-key-for-the-copy';

async function cli(configFile: string, ...args: string[]): Promise<{ code: number; out: string }> {
  try {
    const { stdout } = await promisify(execFile)(process.execPath, ['--import', 'tsx', join(REPO_ROOT, 'core', 'cli', 'main.ts'), '-c', configFile, ...args], { cwd: REPO_ROOT });
    return { code: 0, out: stdout };
  } catch (err) {
    const e = err as { code: number; stdout: string; stderr: string };
    return { code: e.code, out: `${e.stdout}${e.stderr}` };
  }
}

describe('migrate-store: SQLite into PostgreSQL', { timeout: 120_000 }, () => {
  const dir = tempDir('migrate-store');
  let pg: Postgres;
  let configFile: string;
  let target: string;

  before(async () => {
    pg = await Postgres.create();
    await pg.start();
    target = await pg.createDatabase('copy');
    configFile = join(dir.path, 'config.yaml');
    writeFileSync(configFile, stringify({
      homeserver: { url: 'http://127.0.0.1:8008', domain: 'example.org' },
      appservice: { url: 'http://127.0.0.1:29330' },
      store: { path: 'switchboard.db', login_data_key: KEY },
    }));
    const s = new SqliteStore({ path: join(dir.path, 'switchboard.db'), loginDataKey: KEY });
    for (let i = 0; i < 1_200; i++) s.upsertPortal({ portalKey: `xmpp/g${i}/`, network: networkId('xmpp'), chatId: `g${i}` as never, kind: 'group', roomId: matrixRoomId(`!r${i}:example.org`) });
    s.putGhost({ userId: '@_xmpp_bob:example.org' as never, network: networkId('xmpp'), remoteId: 'bob@example.org' as never, name: 'Bob', registered: true });
    s.putLogin({ loginId: loginId('xmpp:@alice:example.org'), network: networkId('xmpp'), kind: 'puppet', owner: '@alice:example.org' as never, data: { password: 'hunter2' } });
    s.addMessagePart('xmpp/g1/', { remoteId: remoteMessageId('m1'), part: 0, roomId: matrixRoomId('!r1:example.org'), eventId: matrixEventId('$e1') });
    for (const key of ['👍', '🎉', '❤️']) s.addReaction({ portalKey: 'xmpp/g1/', targetId: remoteMessageId('m1'), sender: 'carol@example.org', key, eventId: matrixEventId(`$r${key}`) });
    for (let i = 0; i < 30; i++) s.addInbox({ direction: 'remote', portalKey: 'xmpp/g1/', dedupKey: `d${i}`, payload: '{}' });
    s.addTransaction('txn-1', 'digest');
    s.markDelivered(['$e1']);
    await s.close();
  });

  after(async () => {
    await pg?.stop();
    dir.remove();
  });

  it('copies every table with the same row counts, and the PostgreSQL store reads it back (logins decrypted, order kept)', async () => {
    const { code, out } = await cli(configFile, 'migrate-store', '--to', target);
    assert.equal(code, 0, out);
    assert.match(out, /\| portals \| 1200 \| 1200 \| 1200 \|/);
    assert.match(out, /\| inbox \| 30 \| 30 \| 30 \|/);
    assert.match(out, /Every table has the same number of rows in both/);
    const store = new PostgresStore({ url: target, loginDataKey: KEY, outageMs: 5_000 });
    try {
      assert.deepEqual(store.getLogin(loginId('xmpp:@alice:example.org'))?.data, { password: 'hunter2' }, 'the login still opens with the same key');
      assert.equal(store.getGhost('@_xmpp_bob:example.org' as never)?.name, 'Bob');
      assert.deepEqual(store.reactionsBy('xmpp/g1/', remoteMessageId('m1'), 'carol@example.org').map((r) => r.key), ['👍', '🎉', '❤️'], 'reactions in the order they were made');
      assert.equal(store.countInbox('pending'), 30);
      assert.equal(store.addInbox({ direction: 'remote', portalKey: 'xmpp/g1/', dedupKey: 'new', payload: '{}' }), 31, 'new inbox rows are numbered after the copied ones');
      assert.equal(store.addInbox({ direction: 'remote', portalKey: 'xmpp/g1/', dedupKey: 'd3', payload: '{}' }), undefined, 'a copied row still deduplicates');
      assert.equal(store.addTransaction('txn-1', 'digest'), false);
      assert.equal(store.wasDelivered('$e1'), true);
    } finally {
      await store.close();
    }
  });

  it('run again, copies nothing twice; into a database holding other rows, says so and exits 1', async () => {
    const again = await cli(configFile, 'migrate-store', '--to', target);
    assert.equal(again.code, 1, 'the row added by the store above is not in the SQLite file');
    assert.match(again.out, /\| portals \| 1200 \| 0 \| 1200 \|/, 'nothing copied twice');
    assert.match(again.out, /Row counts differ for inbox/);
    const fresh = await pg.createDatabase('second');
    const first = await cli(configFile, 'migrate-store', '--to', fresh);
    const second = await cli(configFile, 'migrate-store', '--to', fresh);
    assert.equal(first.code, 0, first.out);
    assert.equal(second.code, 0, second.out);
    assert.match(second.out, /\| message_map \| 1 \| 0 \| 1 \|/);
    const bad = await cli(configFile, 'migrate-store', '--to', 'mysql://nope');
    assert.equal(bad.code, 2);
    assert.match(bad.out, /--to must be a postgres:\/\/ URL/);
  });
});
