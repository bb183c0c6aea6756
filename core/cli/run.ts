/** `switchboard start`: wire store, Matrix side, listener and engine; drain cleanly on SIGTERM/SIGINT. */
import { resolve } from 'node:path';
import type { Config } from '../config.js';
import { Engine } from '../pipeline/engine.js';
import { createLogger } from '../log.js';
import { AppserviceMatrixSide } from '../matrix/appservice.js';
import { AppserviceListener } from '../matrix/listener.js';
import { readRegistration } from '../matrix/registration.js';
import { Naming } from '../identity/naming.js';
import { identifiersSecretFrom } from '../identity/phone-config.js';
import { openStore } from '../store/open.js';
import { leaderByLock, soleLeader } from './leadership.js';
import { makeCreatedFilesPrivate, readableByOthers } from '../store/private-files.js';
import { PROVISION_PREFIX, ProvisioningApi } from '../provisioning/api.js';
import { MediaServer } from '../media/server.js';
import { Metrics } from '../metrics/metrics.js';
import { HealthEndpoints, Readiness } from '../metrics/endpoints.js';
import { builtInAdapters } from '../../bridges/index.js';

export async function runBridge(config: Config, baseDir: string, version: string, configFile?: string): Promise<void> {
  const regions = [...new Set(Object.values(config.networks).filter((n) => n.enabled && n.identifiers.region).map((n) => n.identifiers.region!))];
  const log = createLogger(config.logging.level, undefined, regions);
  const naming = new Naming(config);
  const registration = readRegistration(resolve(baseDir, config.appservice.registration), config, naming);
  // The database, its WAL, the key file: nobody but the bridge's user reads them.
  makeCreatedFilesPrivate();
  const metrics = new Metrics({ processMetrics: true });
  const { store, key, where } = openStore(config, baseDir, log, {
    onCommit: (seconds) => metrics.committed(seconds),
    onLost: (err) => {
      // Writes of the open transaction are gone; what this process holds in memory may say otherwise.
      log.error({ err: err.message }, 'PostgreSQL connection lost inside a transaction, or with the leader lock: exiting so the inbox is replayed at the next start');
      process.exit(75);
    },
  });
  if (configFile && readableByOthers(configFile)) log.warn({ file: configFile }, 'the config file holds secrets and may be read by other users: chmod 600 it');
  if (key.source === 'generated') log.warn({ file: key.file }, 'store.login_data_key is not set: generated a key into this file; back it up with the database (without it, stored logins cannot be read)');
  const leadership = config.store.url ? leaderByLock(config.store.url, log) : soleLeader();
  const matrix = new AppserviceMatrixSide(config, registration, naming, log.child({ part: 'matrix' }), (userId) => store.getGhost(userId)?.registered === true);
  const e2ee = config.encryption;
  // The crypto library loads only when encryption is allowed (about 30 ms of every start otherwise).
  const encryption = e2ee.allow
    ? new (await import('../crypto/encryption.js')).Encryption({
      homeserverUrl: config.homeserver.url, asToken: registration.as_token, botUserId: naming.botUserId, deviceId: e2ee.device_id,
      storePath: resolve(baseDir, e2ee.store_path ?? `${config.store.path}.crypto`), loginDataKey: key.value, shareWith: e2ee.share_with,
      keyWaitMs: e2ee.key_wait_s * 1000, encryptNewRooms: e2ee.default || e2ee.require, requireEncrypted: e2ee.require, log: log.child({ part: 'crypto' }),
      observe: (outcome, waited) => metrics.decryption(outcome, waited),
    }, matrix)
    : undefined;
  matrix.encryptor = encryption;
  const engine = new Engine({ config, store, matrix, adapters: await builtInAdapters(config), log, version, identifiersSecret: identifiersSecretFrom(key.value), metrics, encryption });
  const readiness = new Readiness({ homeserver: () => matrix.homeserverAnswers(), store: () => store.writable(), leader: () => leadership.isLeader() });
  const ownPort = config.metrics.enabled ? config.metrics.bind_address : undefined;
  const health = new HealthEndpoints(readiness, config.metrics.enabled && !ownPort ? metrics : undefined, log.child({ part: 'metrics' }));
  const provisioning = config.provisioning.enabled ? new ProvisioningApi(engine.ctx, engine.logins, log.child({ part: 'provisioning' })) : undefined;
  const media = engine.ctx.mediaLinks ? new MediaServer(engine.ctx.mediaLinks, matrix, config.bridge.max_media_bytes, log.child({ part: 'media' })) : undefined;
  const listener = new AppserviceListener(
    {
      onTransaction: (txnId, events, ephemeral) => engine.handleTransaction(txnId, events, ephemeral),
      beforeTransaction: (txnId, events) => engine.repairGaps(txnId, events),
      ...(encryption && { receiveCrypto: (body: Record<string, unknown>) => encryption.receiveTransaction(body) }),
      isBridgeUser: (u) => naming.isBridgeUser(u),
      accepting: () => leadership.isLeader(),
      extras: [
        { owns: health.owns, handle: health.handle },
        ...(provisioning ? [{ owns: ProvisioningApi.owns, handle: provisioning.handle.bind(provisioning) }] : []),
        ...(media ? [{ owns: MediaServer.owns, handle: media.handle.bind(media) }] : []),
      ],
    },
    { hsToken: registration.hs_token, maxBodyBytes: config.appservice.max_body_bytes, log: log.child({ part: 'listener' }), observeTransaction: (outcome, seconds) => metrics.transaction(outcome, seconds) },
  );
  // Listen first: the homeserver may already be sending transactions, and they are durable once recorded.
  const port = await listener.listen(config.appservice.port, config.appservice.bind_address);
  const metricsServer = ownPort ? await new HealthEndpoints(readiness, metrics, log.child({ part: 'metrics' })).listen(...splitHostPort(ownPort)) : undefined;
  if (config.metrics.enabled) log.info({ metrics: ownPort ? `http://${ownPort}/metrics` : 'on the appservice port, /metrics' }, 'metrics served');
  log.info({ address: config.appservice.bind_address, port, version, store: where, provisioning: provisioning ? PROVISION_PREFIX : 'off', publicMedia: media ? config.public_media.url : 'off' }, 'appservice listening');

  let stopping = false;
  const stop = async (signal: string) => {
    if (stopping) return;
    stopping = true;
    log.info({ signal }, 'stopping: draining queues');
    await listener.close();
    metricsServer?.server.close();
    leadership.stop();
    encryption?.endWaits(); // events waiting for keys stay pending for the next start
    await engine.stop();
    await encryption?.close();
    await store.close();
    log.info({}, 'stopped cleanly');
    process.exit(0);
  };
  // A library's stray rejection must not take every network down with it: logged loudly,
  // and what it interrupted is retried from the inbox or the network's own recovery.
  process.on('unhandledRejection', (err) => log.error({ err: err instanceof Error ? err.stack : String(err) }, 'unhandled rejection (bug): logged, bridge keeps running'));
  process.on('SIGTERM', () => void stop('SIGTERM'));
  process.on('SIGINT', () => void stop('SIGINT'));

  // A standby waits here, answering /health and /ready (503) only.
  const { waitedMs } = await leadership.lead();
  if (waitedMs) log.info({ waitedMs }, 'took over as the leader');
  leadership.watch(() => {
    // Another process may hold the lock by now: this one must not write another event.
    log.error({}, 'the leader lock was lost (its PostgreSQL connection ended): exiting');
    process.exit(75);
  });
  // The homeserver is asked while the login-data key is still being derived (both wait).
  const matrixStarted = matrix.start();
  matrixStarted.catch(() => {}); // awaited below; not an unhandled rejection meanwhile
  await store.loginKeyReady();
  if (stopping) return; // a SIGTERM while starting: stop() closes the store and exits
  const resealed = store.sealPlainLogins();
  if (resealed) log.info({ logins: resealed }, 'login data stored unencrypted by an older version is now encrypted');
  await matrixStarted;
  await encryption?.start();
  await engine.start();
  log.info({ bot: naming.botUserId, networks: naming.networks() }, 'bridge ready');
}

/** `host:port`, `[v6]:port`: the host as `listen` wants it (no brackets) and the port. */
function splitHostPort(address: string): [string, number] {
  const cut = address.lastIndexOf(':');
  return [address.slice(0, cut).replace(/^\[(.*)\]$/, '$1'), Number(address.slice(cut + 1))];
}
