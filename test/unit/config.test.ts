import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { parse } from 'yaml';
import { ConfigError, loadConfigFile, parseConfig, permissionOf } from '../../core/config.js';
import { buildRegistration, readRegistration } from '../../core/matrix/registration.js';
import { Naming } from '../../core/identity/naming.js';
import { loadNetworks } from '../../core/networks.js';
import { builtInAdapters } from '../../bridges/index.js';

const minimal = { homeserver: { url: 'http://127.0.0.1:8008', domain: 'example.org' }, appservice: { url: 'http://127.0.0.1:29330' } };

describe('config', () => {
  it('the annotated config.example.yaml parses, with every network section valid', async () => {
    const config = loadConfigFile('config.example.yaml', {});
    assert.equal(config.homeserver.domain, 'example.org');
    assert.deepEqual(loadNetworks(config, await builtInAdapters()).map((n) => n.id), ['loopback']);
  });

  const broken: [string, unknown, RegExp][] = [
    ['missing homeserver', { appservice: minimal.appservice }, /^homeserver: /],
    ['bad port', { ...minimal, appservice: { ...minimal.appservice, port: 70000 } }, /^appservice\.port: /],
    ['misspelled key', { ...minimal, brigde: {} }, /unknown key\(s\) brigde/],
    ['bad url', { ...minimal, homeserver: { ...minimal.homeserver, url: 'ftp://x' } }, /^homeserver\.url: must be an http\(s\) URL/],
    ['bad permission level', { ...minimal, bridge: { permissions: { '*': 'god' } } }, /^bridge\.permissions\.\*: /],
    ['bad network id', { ...minimal, networks: { 'Bad-Net': {} } }, /^networks\.Bad-Net/],
    ['public media without a key', { ...minimal, public_media: { enabled: true, url: 'https://bridge.example.org/_switchboard/media' } }, /^public_media: url and signing_key must be set/],
    ['public media with a bad url', { ...minimal, public_media: { url: 'bridge.example.org' } }, /^public_media\.url: must be an http\(s\) URL/],
  ];
  for (const [name, raw, message] of broken) {
    it(`names the path of the problem: ${name}`, () => {
      assert.throws(() => parseConfig(raw, {}), (err: unknown) => err instanceof ConfigError && message.test(err.message));
    });
  }

  it('two sections naming one adapter get an instance each, with their own login ids', async () => {
    const config = parseConfig({ ...minimal, networks: {
      loopback: { relay_user: 'relaybot' },
      lb2: { adapter: 'loopback', relay_user: 'relay2' },
      telegram: { bot_token: '111:AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA' },
      tg2: { adapter: 'telegram', bot_token: '222:BBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBB' },
    } }, {});
    const networks = loadNetworks(config, await builtInAdapters());
    assert.deepEqual(networks.map((n) => [n.id, n.adapter.network]), [['loopback', 'loopback'], ['lb2', 'lb2'], ['telegram', 'telegram'], ['tg2', 'tg2']]);
    assert.notEqual(networks[0]!.adapter, networks[1]!.adapter, 'no shared state (a loopback world, a webhook listener)');
    const logins = networks.flatMap((n) => n.adapter.configuredLogins(n.config).map((l) => `${l.id} ${l.network}`));
    assert.deepEqual(logins, ['loopback:relay loopback', 'lb2:relay lb2', 'telegram:relay telegram', 'tg2:relay tg2']);
    const [loopback] = await builtInAdapters();
    const single = { ...loopback!, network: loopback!.network, forNetwork: undefined, parseConfig: () => ({}) };
    assert.throws(() => loadNetworks(parseConfig({ ...minimal, networks: { other: { adapter: 'loopback' } } }, {}), [single as never]), /networks\.other: the loopback adapter can serve one network only/);
  });

  it('an adapter rejects a bad network section with the path', async () => {
    const config = parseConfig({ ...minimal, networks: { loopback: { puppets: 'alice' } } }, {});
    const adapters = await builtInAdapters();
    assert.throws(() => loadNetworks(config, adapters), /^Error: networks\.loopback: puppets: must be a list|networks\.loopback: puppets/);
  });

  it('reads secrets from the environment, and names the key when a variable is unset', () => {
    const raw = { ...minimal, store: { login_data_key: '${SB_KEY}' } };
    assert.equal(parseConfig(raw, { SB_KEY: 'sixteen-chars-key!' }).store.login_data_key, 'sixteen-chars-key!');
    assert.throws(() => parseConfig(raw, {}), /store\.login_data_key: environment variable SB_KEY is not set/);
  });

  it('resolves permissions by user, then server, then *', () => {
    const config = parseConfig({ ...minimal, bridge: { permissions: { '*': 'relay', 'example.org': 'user', '@boss:example.org': 'admin' } } }, {});
    assert.equal(permissionOf(config, '@boss:example.org'), 'admin');
    assert.equal(permissionOf(config, '@joe:example.org'), 'user');
    assert.equal(permissionOf(config, '@eve:elsewhere.net'), 'relay');
  });

  it('gives users of other servers relay at most from *, unless an entry names them or their server', () => {
    const config = parseConfig({ ...minimal, bridge: { permissions: { '*': 'admin', 'friends.net': 'user', '@ally:far.org': 'admin' } } }, {});
    assert.equal(permissionOf(config, '@joe:example.org'), 'admin', 'local users get * as it is');
    assert.equal(permissionOf(config, '@eve:elsewhere.net'), 'relay', 'federated users are capped at relay');
    assert.equal(permissionOf(config, '@amy:friends.net'), 'user');
    assert.equal(permissionOf(config, '@ally:far.org'), 'admin');
    const none = parseConfig({ ...minimal, bridge: { permissions: { '*': 'none' } } }, {});
    assert.equal(permissionOf(none, '@eve:elsewhere.net'), 'none');
  });
});

describe('registration', () => {
  const config = loadConfigFile('config.example.yaml', {});
  const naming = new Naming(config);

  it('claims exclusive, anchored, escaped namespaces that include the server name', () => {
    const reg = buildRegistration(config, naming);
    assert.deepEqual(reg.namespaces.users, [
      { exclusive: true, regex: '^@switchboard:example\\.org$' },
      { exclusive: true, regex: '^@_loopback_.+:example\\.org$' },
    ]);
    assert.notEqual(reg.as_token, reg.hs_token);
    assert.ok(reg.as_token.length >= 32);
    // Used as given, the way a homeserver does (match from the start).
    const ns = new RegExp(reg.namespaces.users[1]!.regex);
    assert.ok(ns.test('@_loopback_bob:example.org'));
    assert.ok(!ns.test('@_loopback_bob:example.org.evil.com'));
    assert.ok(!ns.test('@_loopback_bob:exampleXorg'));
  });

  it('the committed example registration matches the example config except for its placeholder tokens', () => {
    const committed = parse(readFileSync('registration.yaml', 'utf8')) as { namespaces: unknown };
    assert.deepEqual(committed.namespaces, buildRegistration(config, naming).namespaces);
    assert.throws(() => readRegistration('registration.yaml', config, naming), /placeholder tokens/);
  });

  it('a generated registration reads back; one for other namespaces is refused', () => {
    const dir = mkdtempSync(join(tmpdir(), 'sb-reg-'));
    const file = join(dir, 'reg.yaml');
    const reg = buildRegistration(config, naming);
    writeFileSync(file, JSON.stringify(reg));
    assert.equal(readRegistration(file, config, naming).hs_token, reg.hs_token);
    writeFileSync(file, JSON.stringify({ ...reg, namespaces: { users: [{ exclusive: true, regex: '@.*' }] } }));
    assert.throws(() => readRegistration(file, config, naming), /does not claim the namespaces/);
  });

  it('with encryption: the registration asks for MSC3202 and MSC4190, and one without them is refused with the fix', () => {
    assert.equal(buildRegistration(config, naming)['org.matrix.msc3202'], undefined, 'off unless encryption is allowed');
    const encrypted = parseConfig({ ...parse(readFileSync('config.example.yaml', 'utf8')), encryption: { allow: true } }, {});
    const reg = buildRegistration(encrypted, naming);
    assert.equal(reg['org.matrix.msc3202'], true);
    assert.equal(reg['io.element.msc4190'], true);
    assert.equal(reg['de.sorunome.msc2409.push_ephemeral'], true);
    const dir = mkdtempSync(join(tmpdir(), 'sb-reg-'));
    const file = join(dir, 'reg.yaml');
    writeFileSync(file, JSON.stringify(reg));
    assert.equal(readRegistration(file, encrypted, naming).as_token, reg.as_token);
    writeFileSync(file, JSON.stringify(buildRegistration(config, naming)));
    assert.throws(() => readRegistration(file, encrypted, naming), /lacks what encryption needs.*experimental_features/);
    assert.throws(() => parseConfig({ ...parse(readFileSync('config.example.yaml', 'utf8')), encryption: { default: true } }, {}), /need encryption.allow/);
  });
});
