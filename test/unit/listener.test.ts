import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { AppserviceListener } from '../../core/matrix/listener.js';
import { silentLogger } from '../../core/log.js';

describe('appservice listener', () => {
  const received: { txnId: string; events: unknown[] }[] = [];
  let failNext = false;
  let leading = true;
  const listener = new AppserviceListener(
    {
      accepting: () => leading,
      onTransaction(txnId, events) {
        if (failNext) { failNext = false; throw new Error('disk full'); }
        received.push({ txnId, events });
      },
      isBridgeUser: (u) => u.startsWith('@_loopback_'),
    },
    { hsToken: 'secret-hs-token', maxBodyBytes: 2048, log: silentLogger() },
  );
  let base = '';
  before(async () => { base = `http://127.0.0.1:${await listener.listen(0, '127.0.0.1')}`; });
  after(() => listener.close());

  const put = (path: string, body: string, token?: string) =>
    fetch(base + path, { method: 'PUT', body, headers: { 'content-type': 'application/json', ...(token && { authorization: `Bearer ${token}` }) } });

  it('accepts a transaction with the right token and records it before answering', async () => {
    const res = await put('/_matrix/app/v1/transactions/1', JSON.stringify({ events: [{ type: 'x' }] }), 'secret-hs-token');
    assert.equal(res.status, 200);
    assert.deepEqual(await res.json(), {});
    assert.deepEqual(received.at(-1), { txnId: '1', events: [{ type: 'x' }] });
  });

  it('rejects a wrong token with 403 M_FORBIDDEN and a missing one with 401', async () => {
    const wrong = await put('/_matrix/app/v1/transactions/2', '{"events":[]}', 'secret-hs-tokeX');
    assert.equal(wrong.status, 403);
    assert.equal(((await wrong.json()) as { errcode: string }).errcode, 'M_FORBIDDEN');
    const missing = await put('/_matrix/app/v1/transactions/2', '{"events":[]}');
    assert.equal(missing.status, 401);
    // The legacy query-string token is not accepted.
    const query = await put('/_matrix/app/v1/transactions/2?access_token=secret-hs-token', '{"events":[]}');
    assert.equal(query.status, 401);
    assert.equal(received.filter((r) => r.txnId === '2').length, 0);
  });

  it('answers malformed JSON with 400 M_NOT_JSON, a non-object with M_BAD_JSON, and keeps serving', async () => {
    const bad = await put('/_matrix/app/v1/transactions/3', '{not json', 'secret-hs-token');
    assert.equal(bad.status, 400);
    assert.equal(((await bad.json()) as { errcode: string }).errcode, 'M_NOT_JSON');
    const arr = await put('/_matrix/app/v1/transactions/3', '[1]', 'secret-hs-token');
    assert.equal(((await arr.json()) as { errcode: string }).errcode, 'M_BAD_JSON');
    const ok = await put('/_matrix/app/v1/transactions/4', '{"events":[]}', 'secret-hs-token');
    assert.equal(ok.status, 200);
  });

  it('answers an oversized body with 413', async () => {
    const res = await put('/_matrix/app/v1/transactions/5', JSON.stringify({ events: [{ body: 'x'.repeat(5000) }] }), 'secret-hs-token');
    assert.equal(res.status, 413);
    assert.equal(((await res.json()) as { errcode: string }).errcode, 'M_TOO_LARGE');
  });

  it('answers unknown routes with 404 M_UNRECOGNIZED, and /ping with 200', async () => {
    const res = await fetch(`${base}/_matrix/app/v1/nope`);
    assert.equal(res.status, 404);
    assert.equal(((await res.json()) as { errcode: string }).errcode, 'M_UNRECOGNIZED');
    const ping = await fetch(`${base}/_matrix/app/v1/ping`, { method: 'POST', body: '{"transaction_id":"p1"}', headers: { authorization: 'Bearer secret-hs-token' } });
    assert.equal(ping.status, 200);
  });

  it('answers 500 when the transaction could not be recorded, so the homeserver retries it', async () => {
    failNext = true;
    const res = await put('/_matrix/app/v1/transactions/6', '{"events":[]}', 'secret-hs-token');
    assert.equal(res.status, 500);
  });

  it('answers user queries for the bridge namespace only', async () => {
    const get = (u: string) => fetch(`${base}/_matrix/app/v1/users/${encodeURIComponent(u)}`, { headers: { authorization: 'Bearer secret-hs-token' } });
    assert.equal((await get('@_loopback_bob:example.org')).status, 200);
    assert.equal((await get('@someone:example.org')).status, 404);
  });

  it('as a standby, answers 503 to everything but /health and records nothing; as the leader again, takes the same transaction', async () => {
    leading = false;
    const before = received.length;
    const res = await put('/_matrix/app/v1/transactions/standby-1', '{"events":[{"type":"x"}]}', 'secret-hs-token');
    assert.equal(res.status, 503);
    assert.match(((await res.json()) as { error: string }).error, /standby/);
    assert.equal((await fetch(`${base}/_matrix/app/v1/users/${encodeURIComponent('@_loopback_bob:example.org')}`, { headers: { authorization: 'Bearer secret-hs-token' } })).status, 503);
    assert.equal((await fetch(`${base}/health`)).status, 200);
    assert.equal(received.length, before, 'nothing recorded by a standby');
    leading = true;
    assert.equal((await put('/_matrix/app/v1/transactions/standby-1', '{"events":[{"type":"x"}]}', 'secret-hs-token')).status, 200);
    assert.equal(received.at(-1)?.txnId, 'standby-1');
  });
});
