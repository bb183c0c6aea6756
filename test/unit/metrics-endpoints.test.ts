/** `/metrics`, `/ready` and `/health` (core/metrics/endpoints.ts), on the appservice port and on a port of their own. */
import assert from 'node:assert/strict';
import type { Server } from 'node:http';
import { after, before, describe, it } from 'node:test';
import { silentLogger } from '../../core/log.js';
import { AppserviceListener } from '../../core/matrix/listener.js';
import { HealthEndpoints, Readiness } from '../../core/metrics/endpoints.js';
import { Metrics } from '../../core/metrics/metrics.js';

describe('metrics and readiness endpoints', () => {
  const state = { homeserver: true, store: true, leader: true, probes: 0 };
  const readiness = new Readiness({
    homeserver: async () => (state.probes++, state.homeserver),
    store: () => state.store,
    leader: () => state.leader,
  });
  const metrics = new Metrics();
  const onListener = new HealthEndpoints(readiness, metrics, silentLogger());
  let failNext = false;
  const listener = new AppserviceListener(
    {
      onTransaction() { if (failNext) { failNext = false; throw new Error('disk full'); } },
      isBridgeUser: () => false,
      extras: [{ owns: onListener.owns, handle: onListener.handle }],
    },
    { hsToken: 'secret-hs-token', maxBodyBytes: 2048, log: silentLogger(), observeTransaction: (outcome, seconds) => metrics.transaction(outcome, seconds) },
  );
  let base = '';
  let own: { server: Server; port: number };
  before(async () => {
    base = `http://127.0.0.1:${await listener.listen(0, '127.0.0.1')}`;
    own = await new HealthEndpoints(readiness, metrics, silentLogger()).listen('127.0.0.1', 0);
  });
  after(async () => {
    own.server.close();
    await listener.close();
  });

  const txn = (id: string) => fetch(`${base}/_matrix/app/v1/transactions/${id}`, { method: 'PUT', body: '{"events":[]}', headers: { authorization: 'Bearer secret-hs-token' } });

  it('/metrics counts appservice transactions, recorded and failed, in the Prometheus text format', async () => {
    assert.equal((await txn('a')).status, 200);
    failNext = true;
    assert.equal((await txn('b')).status, 500);
    const res = await fetch(`${base}/metrics`);
    assert.equal(res.status, 200);
    assert.match(res.headers.get('content-type') ?? '', /^text\/plain; version=0\.0\.4/);
    const text = await res.text();
    assert.match(text, /^switchboard_appservice_transactions_total\{outcome="recorded"\} 1$/m);
    assert.match(text, /^switchboard_appservice_transactions_total\{outcome="failed"\} 1$/m);
    assert.match(text, /^switchboard_appservice_transaction_seconds_count 2$/m);
    assert.match(text, /^# TYPE switchboard_store_commit_seconds histogram$/m);
  });

  it('/ready is 200 only when the homeserver answers, the store takes writes and this process leads; it says which check failed', async () => {
    const ready = await fetch(`${base}/ready`);
    assert.equal(ready.status, 200);
    assert.deepEqual(await ready.json(), { ready: true, homeserver: true, store: true, leader: true });
    state.store = false;
    const noStore = await fetch(`${base}/ready`);
    assert.equal(noStore.status, 503);
    assert.deepEqual(await noStore.json(), { ready: false, homeserver: true, store: false, leader: true });
    state.store = true;
    state.leader = false;
    assert.equal((await fetch(`http://127.0.0.1:${own.port}/ready`)).status, 503, 'a standby is not ready');
    state.leader = true;
  });

  it('reuses a homeserver probe for two seconds: an unauthenticated caller cannot flood the homeserver through /ready', async () => {
    const before = state.probes;
    await Promise.all(Array.from({ length: 20 }, () => fetch(`${base}/ready`).then((r) => r.arrayBuffer())));
    assert.ok(state.probes - before <= 1, `${state.probes - before} probes for 20 requests`);
  });

  it('a port of its own serves /metrics, /ready and /health and nothing of the appservice API', async () => {
    const port = `http://127.0.0.1:${own.port}`;
    assert.equal((await fetch(`${port}/health`)).status, 200);
    assert.match(await (await fetch(`${port}/metrics`)).text(), /switchboard_messages_total/);
    const txnThere = await fetch(`${port}/_matrix/app/v1/transactions/c`, { method: 'PUT', body: '{}', headers: { authorization: 'Bearer secret-hs-token' } });
    assert.equal(txnThere.status, 404);
    assert.equal((await fetch(`${port}/metrics`, { method: 'POST' })).status, 405);
  });

  it('without metrics on the appservice port, /metrics there is not found while /ready still answers', async () => {
    const quiet = new HealthEndpoints(readiness, undefined, silentLogger());
    assert.equal(quiet.owns('/metrics'), false);
    assert.equal(quiet.owns('/ready'), true);
  });
});
