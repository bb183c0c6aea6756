/**
 * The provisioning API over real HTTP, in front of a whole bridge (loopback network,
 * recording Matrix side). The homeserver's /whoami and OpenID userinfo answers come
 * from a small local HTTP server; the real-Synapse version is in test/e2e.
 */
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { readFileSync } from 'node:fs';
import { after, before, describe, it } from 'node:test';
import { parse as parseYaml } from 'yaml';
import { parseConfig, ConfigError } from '../../core/config.js';
import { silentLogger } from '../../core/log.js';
import { PROVISION_PREFIX, ProvisioningApi } from '../../core/provisioning/api.js';
import { isPublicAddress } from '../../core/net/guarded-http.js';
import { startHarness, testConfig, type Harness } from '../fakes/harness.js';

const SECRET = 'provisioning-secret-0123456789';
const ERIN = '@erin:example.org';
const ROOM = '!team:example.org';

async function listen(server: Server): Promise<string> {
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

/** Stands in for the homeserver: who an access token or an OpenID token belongs to. */
function fakeHomeserver(): Server {
  return createServer((req, res) => {
    const url = new URL(req.url!, 'http://x');
    const send = (status: number, body: unknown) => res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(body));
    if (url.pathname === '/_matrix/client/v3/account/whoami') {
      const users: Record<string, string> = { 'Bearer tok-erin': ERIN, 'Bearer tok-stranger': '@mallory:example.org', 'Bearer tok-root': '@root:example.org' };
      const user = users[req.headers.authorization ?? ''];
      return user ? send(200, { user_id: user }) : send(401, { errcode: 'M_UNKNOWN_TOKEN', error: 'unknown token' });
    }
    if (url.pathname === '/_matrix/federation/v1/openid/userinfo') {
      return url.searchParams.get('access_token') === 'oid-erin' ? send(200, { sub: ERIN }) : send(401, { errcode: 'M_UNKNOWN_TOKEN' });
    }
    send(404, { errcode: 'M_UNRECOGNIZED' });
  });
}

describe('provisioning API', () => {
  let h: Harness;
  let hs: Server;
  let api: Server;
  let base: string;

  before(async () => {
    hs = fakeHomeserver();
    const hsUrl = await listen(hs);
    const config = testConfig({
      homeserver: { url: hsUrl, domain: 'example.org' },
      bridge: { permissions: { '*': 'relay', 'example.org': 'user', '@mallory:example.org': 'none', '@root:example.org': 'admin' } },
      provisioning: { enabled: true, shared_secret: SECRET, requests_per_minute: 1000 },
    });
    h = await startHarness({ config });
    h.world.addUser('bob', 'Bob');
    h.world.addGroup('team', { name: 'Team', members: ['bob', 'relaybot'] });
    h.world.addGroup('annex', { name: 'Annex', members: ['bob', 'relaybot'] });
    const prov = new ProvisioningApi(h.engine.ctx, h.engine.logins, silentLogger());
    api = createServer((req, res) => void prov.handle(req, res));
    base = (await listen(api)) + PROVISION_PREFIX;
  });
  after(async () => {
    api.close();
    hs.close();
    await h.stop();
  });

  const call = async (method: string, path: string, opts: { body?: unknown; token?: string | null; secret?: string | null; headers?: Record<string, string> } = {}) => {
    const headers: Record<string, string> = { ...opts.headers };
    if (opts.secret !== null) headers.authorization = `Bearer ${opts.secret ?? SECRET}`;
    if (opts.token !== null) headers['x-matrix-access-token'] = opts.token ?? 'tok-erin';
    const res = await fetch(base + path, { method, headers, ...(opts.body !== undefined && { body: JSON.stringify(opts.body) }) });
    return { status: res.status, body: (await res.json().catch(() => undefined)) as Record<string, any> };
  };

  it('refuses a missing or wrong shared secret, a missing identity and a bad token', async () => {
    assert.deepEqual(await call('GET', '/whoami', { secret: null }), { status: 401, body: { errcode: 'M_MISSING_TOKEN', error: 'missing Authorization: Bearer <provisioning shared secret>' } });
    assert.equal((await call('GET', '/whoami', { secret: 'x'.repeat(30) })).body.errcode, 'M_UNKNOWN_TOKEN');
    assert.equal((await call('GET', '/whoami', { token: null })).status, 401);
    assert.deepEqual(await call('GET', '/whoami', { token: 'tok-nobody' }), { status: 403, body: { errcode: 'M_FORBIDDEN', error: 'the Matrix access token is not valid' } });
    assert.deepEqual(await call('GET', '/whoami', { token: 'tok-stranger' }), { status: 403, body: { errcode: 'M_FORBIDDEN', error: '@mallory:example.org may not use this bridge' } });
  });

  it('whoami and networks describe the caller and the bridge', async () => {
    const who = await call('GET', '/whoami');
    assert.deepEqual(who, { status: 200, body: { user_id: ERIN, permission: 'user', logins: [], networks: ['loopback'] } });
    const nets = await call('GET', '/networks');
    assert.equal(nets.body.networks[0].id, 'loopback');
    assert.equal(nets.body.networks[0].relay, true);
    assert.equal(nets.body.networks[0].capabilities.edits, true);
  });

  it('GET /audit: the phone-number ledger for bridge admins only, counts and never a number', async () => {
    assert.equal((await call('GET', '/audit')).status, 403, 'a user may not');
    const audit = await call('GET', '/audit', { token: 'tok-root' });
    assert.equal(audit.status, 200);
    assert.deepEqual(audit.body, { numbers: 0, byRegion: {}, byNetwork: {}, byPlace: {}, kept: {} });
  });

  it('a login runs through start, step and complete, and logout forgets it', async () => {
    const start = await call('POST', '/login/loopback');
    assert.equal(start.status, 200);
    assert.equal(start.body.step.type, 'fields');
    assert.deepEqual(start.body.step.fields.map((f: { id: string }) => f.id), ['user', 'password']);
    // Another user cannot drive erin's flow.
    assert.equal((await call('POST', `/login/flows/${start.body.flowId}`, { token: 'tok-root', body: { input: { user: 'x' } } })).status, 404);
    const done = await call('POST', `/login/flows/${start.body.flowId}`, { body: { input: { user: 'erin', password: 'pw' } } });
    assert.deepEqual(done.body.step, { type: 'complete', loginId: `loopback:${ERIN}`, remoteUser: 'erin' });
    assert.deepEqual((await call('GET', '/logins')).body.logins, [{ login_id: `loopback:${ERIN}`, network: 'loopback', remote_user: 'erin', state: 'connected' }]);
    assert.equal((await call('POST', '/login/loopback')).status, 409);
    assert.deepEqual((await call('POST', '/logout/loopback')).body, { logged_out: true });
    assert.deepEqual((await call('GET', '/logins')).body.logins, []);

    const again = await call('POST', '/login/loopback');
    assert.deepEqual((await call('DELETE', `/login/flows/${again.body.flowId}`)).body, {});
    assert.equal((await call('POST', `/login/flows/${again.body.flowId}`, { body: { input: {} } })).status, 404);
  });

  it('link and unlink follow the room-admin rule; bad bodies get 400', async () => {
    assert.deepEqual(await call('POST', '/link', { body: { room_id: ROOM, network: 'loopback', chat: 'team' } }), {
      status: 403, body: { errcode: 'M_FORBIDDEN', error: 'Only admins of this room (power level 100) or bridge admins may link it.' },
    });
    h.matrix.powers.set(`${ROOM}|${ERIN}`, 100);
    const linked = await call('POST', '/link', { body: { room_id: ROOM, network: 'loopback', chat: 'team' } });
    assert.deepEqual(linked.body, { portal: { network: 'loopback', chat_id: 'team', kind: 'group', room_id: ROOM, name: 'Team', relay: true, direction: 'both', name_template: null }, bridge_state_set: true });
    assert.equal((await call('POST', '/link', { body: { room_id: ROOM, network: 'loopback', chat: 'team' } })).status, 409);
    assert.equal((await call('GET', '/portals?all=true')).status, 403);
    assert.equal((await call('GET', '/portals?all=true', { token: 'tok-root' })).body.portals.length, 1);
    assert.equal((await call('POST', '/link', { body: { room_id: 'not-a-room', network: 'loopback', chat: 'team' } })).body.errcode, 'M_INVALID_PARAM');
    assert.equal((await call('POST', '/link', { body: { room_id: '!r:example.org', network: 'loopback', chat: 'a\r\nb' } })).body.error, 'That chat id cannot be used: it contains a line break or another control character.');
    const raw = await fetch(`${base}/link`, { method: 'POST', headers: { authorization: `Bearer ${SECRET}`, 'x-matrix-access-token': 'tok-erin' }, body: '{nope' });
    assert.equal(raw.status, 400);
    // A second chat of the same network, with a name template; unlink must then say which chat.
    assert.equal((await call('POST', '/link', { body: { room_id: ROOM, network: 'loopback', chat: 'annex', name_template: '[annex]' } })).body.error, 'That name template cannot be used: it must contain {name} (e.g. "[tg] {name}").');
    const annex = await call('POST', '/link', { body: { room_id: ROOM, network: 'loopback', chat: 'annex', name_template: '[annex] {name}' } });
    assert.equal(annex.body.portal.name_template, '[annex] {name}');
    assert.equal((await call('POST', '/unlink', { body: { room_id: ROOM, network: 'loopback' } })).status, 400);
    assert.equal((await call('POST', '/unlink', { body: { room_id: ROOM, network: 'loopback', chat: 'annex' } })).body.portal.chat_id, 'annex');
    assert.deepEqual((await call('POST', '/unlink', { body: { room_id: ROOM } })).body.portal.room_id, null);
    assert.equal((await call('GET', '/nothing')).status, 404);
  });

  it('an OpenID token is accepted only for the user it belongs to', async () => {
    const oid = (user: string, token = 'oid-erin') => call('GET', `/whoami?user_id=${encodeURIComponent(user)}`, { token: null, headers: { 'x-matrix-openid-token': token } });
    assert.equal((await oid(ERIN)).body.user_id, ERIN);
    assert.deepEqual((await oid('@root:example.org')).body, { errcode: 'M_FORBIDDEN', error: `the OpenID token belongs to ${ERIN}, not @root:example.org` });
    assert.equal((await oid(ERIN, 'forged')).status, 403);
  });

  it('an OpenID user id that is not one (a space, a bad server part) is a 400, never a 500', async () => {
    const oid = (user: string) => call('GET', `/whoami?user_id=${encodeURIComponent(user)}`, { token: null, headers: { 'x-matrix-openid-token': 'oid-erin' } });
    for (const user of ['@a b:example.org', '@x:exa mple.org', '@x:bad/server', '@x:', '@:example.org', '@x:example.org:99999999', `@x:${'a'.repeat(300)}`, '@x:[zz]']) {
      const res = await oid(user);
      assert.equal(res.status, 400, user);
      assert.equal(res.body.errcode, 'M_INVALID_PARAM', user);
    }
  });

  it('serves every path of docs/provisioning.openapi.yaml, and nothing it does not list', async () => {
    const doc = parseYaml(readFileSync('docs/provisioning.openapi.yaml', 'utf8')) as { paths: Record<string, Record<string, unknown>> };
    for (const [path, ops] of Object.entries(doc.paths)) {
      for (const method of Object.keys(ops).filter((k) => ['get', 'post', 'delete'].includes(k))) {
        const res = await call(method.toUpperCase(), path.replace('{network}', 'loopback').replace('{flowId}', 'nope'), method === 'get' ? {} : { body: {} });
        assert.notEqual(res.body?.errcode, 'M_UNRECOGNIZED', `${method} ${path}`);
      }
    }
    assert.equal((await call('PUT', '/link', { body: {} })).body.errcode, 'M_UNRECOGNIZED');
  });

  it('OpenID lookups never reach private or loopback addresses of other servers', async () => {
    for (const user of ['@x:127.0.0.1:8448', '@x:[::1]:8448', '@x:10.1.2.3', '@x:localhost:8448']) {
      const res = await call('GET', `/whoami?user_id=${encodeURIComponent(user)}`, { token: null, headers: { 'x-matrix-openid-token': 'oid-erin' } });
      assert.equal(res.status, 403, user);
      assert.match(res.body.error, /private or reserved address/, user);
    }
  });
});

describe('provisioning limits and config', () => {
  it('rate-limits by address with 429 and Retry-After', async () => {
    const config = testConfig({ provisioning: { enabled: true, shared_secret: SECRET, requests_per_minute: 3 } });
    const h = await startHarness({ config });
    const prov = new ProvisioningApi(h.engine.ctx, h.engine.logins, silentLogger());
    const api = createServer((req, res) => void prov.handle(req, res));
    const base = (await listen(api)) + PROVISION_PREFIX;
    const statuses = [];
    let last: Response | undefined;
    for (let i = 0; i < 5; i++) {
      last = await fetch(`${base}/networks`, { headers: { authorization: 'Bearer wrong-secret-wrong-secret' } });
      statuses.push(last.status);
    }
    assert.deepEqual(statuses, [403, 403, 403, 429, 429]);
    assert.ok(Number(last!.headers.get('retry-after')) >= 1);
    assert.equal(((await last!.json()) as { errcode: string }).errcode, 'M_LIMIT_EXCEEDED');
    api.close();
    await h.stop();
  });

  it('refuses to enable provisioning without a secret of at least 16 characters', () => {
    const base = { homeserver: { url: 'http://127.0.0.1:8008', domain: 'example.org' }, appservice: { url: 'http://127.0.0.1:29330' } };
    assert.throws(() => parseConfig({ ...base, provisioning: { enabled: true, shared_secret: 'short' } }), (e: unknown) => e instanceof ConfigError && e.message === 'provisioning.shared_secret: must be set to at least 16 characters when provisioning is enabled');
    assert.throws(() => parseConfig({ ...base, provisioning: { enabled: true } }), /provisioning.shared_secret/);
    assert.equal(parseConfig({ ...base, provisioning: { enabled: false } }).provisioning.enabled, false);
  });

  it('knows which addresses are public', () => {
    for (const ip of ['127.0.0.1', '10.0.0.1', '172.16.0.1', '192.168.1.1', '169.254.169.254', '100.64.0.1', '0.0.0.0', '::1', '::ffff:127.0.0.1', 'fc00::1', 'fe80::1', '224.0.0.1', 'nonsense']) {
      assert.equal(isPublicAddress(ip), false, ip);
    }
    for (const ip of ['8.8.8.8', '1.1.1.1', '2001:4860:4860::8888']) assert.equal(isPublicAddress(ip), true, ip);
  });
});
