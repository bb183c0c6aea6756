/**
 * The PostgreSQL store when its connection goes (core/store/postgres/): lost between
 * transactions, it is made again and the call goes on; lost inside one, the writes of
 * that transaction are gone, so nothing of it is acknowledged, the bridge is told
 * (it exits and replays its inbox at the next start) and the store does nothing more.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { after, before, describe, it } from 'node:test';
import { PostgresStore } from '../../core/store/postgres/store.js';
import { Postgres } from '../harness/postgres.js';

describe('the PostgreSQL store when its connection is cut', { timeout: 60_000 }, () => {
  let server: Postgres;

  before(async () => {
    server = await Postgres.create();
    await server.start();
  });
  after(() => server?.stop());

  const TERMINATE = "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = 'switchboard'";
  /** Cut the store's connection from the server side, as a restart or a network cut does. */
  const cut = () => server.sql(TERMINATE);
  /** The same without yielding to the event loop, so a group the store opened in this turn is still open. */
  const cutNow = () => execFileSync('psql', [server.url(), '-q', '-c', TERMINATE], { stdio: 'ignore' });

  it('lost between transactions: the next call reconnects and goes on', async () => {
    const store = new PostgresStore({ url: await server.createDatabase(), outageMs: 10_000 });
    store.addInbox({ direction: 'remote', portalKey: 'p', dedupKey: 'a', payload: '{}' });
    await store.durable();
    await cut();
    assert.equal(store.countInbox('pending'), 1, 'read on a new connection');
    assert.equal(typeof store.addInbox({ direction: 'remote', portalKey: 'p', dedupKey: 'b', payload: '{}' }), 'number');
    await store.durable();
    assert.equal(store.countInbox('pending'), 2);
    await store.close();
  });

  it('lost inside a transaction: never acknowledged, the bridge is told, the store refuses more work', async () => {
    const url = await server.createDatabase();
    const told: string[] = [];
    const store = new PostgresStore({ url, outageMs: 10_000, onLost: (err) => told.push(err.message) });
    store.addInbox({ direction: 'remote', portalKey: 'p', dedupKey: 'a', payload: '{}' });
    let acknowledged: boolean | string = false;
    void store.durable().then(() => { acknowledged = true; }, (err: Error) => { acknowledged = `refused: ${err.message}`; });
    cutNow(); // the group is open: its BEGIN and INSERT are on the connection being cut
    assert.throws(() => store.flush(), /connection lost inside a transaction/);
    assert.equal(told.length, 1);
    assert.match(told[0]!, /PostgreSQL connection lost inside a transaction/);
    await new Promise((r) => setTimeout(r, 50));
    assert.match(String(acknowledged), /^refused: PostgreSQL connection lost inside a transaction/, 'durable() rejects for writes that were lost, never resolves');
    assert.throws(() => store.countInbox('pending'), /connection lost inside a transaction/, 'nothing more on this store');
    await store.close(); // closing it is still allowed
    const fresh = new PostgresStore({ url, outageMs: 10_000 });
    assert.equal(fresh.countInbox('pending'), 0, 'the lost write is not in the database: a restart replays it from its source');
    await fresh.close();
  });
});
