/**
 * The leader lock of a hot standby (core/store/postgres/leader.ts) on a real PostgreSQL:
 * taken only when free, freed when its holder's connection dies, and a holder whose
 * connection is cut knows it no longer leads. Another process is played by a plain
 * node-postgres client.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import pg from 'pg';
import { LEADER_LOCK_KEY, LeaderLock } from '../../core/store/postgres/leader.js';
import { PgSyncDriver } from '../../core/store/postgres/sync-driver.js';
import { Postgres } from '../harness/postgres.js';

describe('the leader lock on PostgreSQL', { timeout: 60_000 }, () => {
  let server: Postgres;
  let url: string;

  before(async () => {
    server = await Postgres.create();
    await server.start();
    url = await server.createDatabase('leader');
  });
  after(() => server?.stop());

  async function otherProcess(): Promise<pg.Client> {
    const client = new pg.Client({ connectionString: url });
    await client.connect();
    return client;
  }

  /** A process that took the leader lock, with a store that tells it when it must stop (`lost`). */
  function leaderWithStore() {
    const lost: Error[] = [];
    const lock = new LeaderLock(url);
    assert.equal(lock.tryTake(), true);
    return { lock, lost, store: new PgSyncDriver({ url, outageMs: 30_000, onLost: (err) => lost.push(err) }) };
  }
  const lostWithLock = (err: Error & { code?: string }) => err.code === 'SB_CONNECTION_LOST' && /leader lock/.test(err.message);

  it('a standby takes the lock only once the leader is gone', async () => {
    const leader = await otherProcess();
    assert.equal((await leader.query('SELECT pg_try_advisory_lock($1) AS got', [LEADER_LOCK_KEY])).rows[0].got, true);
    const lock = new LeaderLock(url);
    assert.equal(lock.tryTake(), false, 'held elsewhere');
    assert.equal(lock.isLeader, false);
    await leader.end(); // the leader dies: PostgreSQL frees its session's locks
    assert.equal(lock.tryTake(), true);
    assert.equal(lock.held(), true);
    const late = await otherProcess();
    assert.equal((await late.query('SELECT pg_try_advisory_lock($1) AS got', [LEADER_LOCK_KEY])).rows[0].got, false, 'now nobody else gets it');
    lock.release();
    assert.equal((await late.query('SELECT pg_try_advisory_lock($1) AS got', [LEADER_LOCK_KEY])).rows[0].got, true, 'released');
    await late.end();
  });

  it('a leader whose lock connection is cut no longer leads, and says so at its next check', async () => {
    const lock = new LeaderLock(url);
    assert.equal(lock.tryTake(), true);
    const admin = await otherProcess();
    const { rows } = await admin.query("SELECT pid FROM pg_locks WHERE locktype = 'advisory' AND objid = $1 AND granted", [LEADER_LOCK_KEY]);
    assert.equal(rows.length, 1);
    await admin.query('SELECT pg_terminate_backend($1)', [rows[0].pid]);
    assert.equal(lock.held(), false);
    assert.equal(lock.isLeader, false);
    assert.equal(lock.tryTake(), true, 'free again: taken on a new connection');
    lock.release();
    await admin.end();
  });

  it("a leader's store that reconnects after a server restart finds its lock gone and writes nothing more; without a lock it goes on", async () => {
    const { lock, store, lost } = leaderWithStore();
    store.exec('CREATE TABLE IF NOT EXISTS written (n integer)');
    const plain = new PgSyncDriver({ url, outageMs: 30_000 });
    // Every session ends with the server; the lock is free for whoever asks first after it.
    await server.stop({ keepDir: true });
    await server.start();
    assert.throws(() => store.query({ text: 'INSERT INTO written VALUES (1)' }), lostWithLock);
    assert.equal(lost.length, 1, 'the bridge is told (it exits)');
    assert.equal(lock.held(), false);
    assert.deepEqual(plain.query({ text: 'SELECT count(*) AS n FROM written' }).rows, [{ n: 0 }], 'nothing written; a store without a lock reconnects and goes on');
    plain.close();
    store.close();
  });

  it('a leader whose lock connection alone is cut commits nothing more: the lock is checked before each commit', async () => {
    const { lock, store, lost } = leaderWithStore();
    store.exec('CREATE TABLE IF NOT EXISTS committed (n integer)');
    store.transaction(() => store.query({ text: 'INSERT INTO committed VALUES (1)' }));
    const admin = await otherProcess();
    const { rows } = await admin.query("SELECT pid FROM pg_locks WHERE locktype = 'advisory' AND objid = $1 AND granted", [LEADER_LOCK_KEY]);
    await admin.query('SELECT pg_terminate_backend($1)', [rows[0].pid]);
    // The store's own connection is fine; the next group's COMMIT finds the lock gone.
    assert.throws(() => store.transaction(() => store.query({ text: 'INSERT INTO committed VALUES (2)' })), lostWithLock);
    assert.equal(lost.length, 1, 'the bridge is told (it exits)');
    store.close(); // the open transaction goes with the connection
    assert.deepEqual((await admin.query('SELECT n FROM committed ORDER BY n')).rows, [{ n: 1 }], 'the second group was never committed');
    await admin.end();
  });
});
