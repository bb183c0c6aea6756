/**
 * A whole local deployment on loopback: Synapse with the bridge's registration, the
 * bridge as a child process with the loopback network (control API on), and optionally
 * Prosody (with the bridge's XMPP network), an IRC server (InspIRCd, with the bridge's IRC
 * network and its relay) and ngircd. Used by the end-to-end suites and by `npm run stack`.
 */
import { mkdirSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { BridgeProcess, type BridgeOptions } from './bridge.js';
import { LoopbackClient } from './loopback-client.js';
import { MatrixTestClient } from './matrix-client.js';
import { Ngircd } from './ngircd.js';
import { Inspircd } from './inspircd.js';
import { tempDir, waitReady } from './proc.js';
import { Haproxy } from './haproxy.js';
import { Postgres } from './postgres.js';
import { Prosody } from './prosody.js';
import { Synapse, type MatrixAccount } from './synapse.js';
import { TransactionProxy } from './transaction-proxy.js';

export interface StackOptions {
  /** Where everything lives; a fresh temp dir when absent (removed by `stop`). */
  dir?: string;
  prosody?: boolean;
  /** Configure the bridge's xmpp network against the stack's Prosody (implies `prosody`), with a relay account. */
  xmpp?: boolean;
  /** Configure the XMPP federation gateway (`xmppgw`) on the stack's Prosody component (implies `prosody`); an object adds keys to its section. */
  xmppGateway?: boolean | Record<string, unknown>;
  ngircd?: boolean;
  /** Start InspIRCd and configure the bridge's irc network against it, with a relay connection. */
  irc?: boolean;
  /** Start the bridge before Synapse (it must wait and retry). */
  bridgeFirst?: boolean;
  bridge?: Partial<Pick<BridgeOptions, 'loopback' | 'permissions' | 'logLevel' | 'extra' | 'networks' | 'publicMedia'>>;
  synapsePort?: number;
  /** Start a PostgreSQL cluster (postgres.ts) and give the bridge a database of it (`store.url`) instead of SQLite. */
  postgres?: boolean;
  /** A hot standby (implies `postgres`): a second bridge process on the same store and registration, HAProxy in front of both. */
  standby?: boolean;
  /** Synapse on a PostgreSQL database (of the same cluster, started if `postgres` did not) instead of SQLite. */
  synapseOnPostgres?: boolean;
  /** Synapse reaches the bridge through a proxy that can hold room keys back (transaction-proxy.ts). */
  transactionProxy?: boolean;
}

export class Stack {
  private constructor(
    readonly dir: string,
    private readonly removeDir: (() => void) | undefined,
    readonly synapse: Synapse,
    readonly bridge: BridgeProcess,
    readonly loopback: LoopbackClient,
    readonly prosody: Prosody | undefined,
    readonly ngircd: Ngircd | undefined,
    readonly ircd: Inspircd | undefined,
    readonly postgres: Postgres | undefined,
    /** The second bridge process and the proxy the homeserver calls, with `standby`. */
    readonly standby: BridgeProcess | undefined,
    readonly haproxy: Haproxy | undefined,
    /** With `transactionProxy`: between Synapse and the bridge. */
    readonly transactionProxy: TransactionProxy | undefined,
  ) {}

  static async start(opts: StackOptions = {}): Promise<Stack> {
    const tmp = opts.dir ? undefined : tempDir('stack');
    const dir = opts.dir ?? tmp!.path;
    for (const sub of ['synapse', 'bridge', 'prosody', 'ngircd', 'inspircd', 'haproxy']) mkdirSync(join(dir, sub), { recursive: true });
    // A temp dir of its own: its server runs as another user, who cannot enter the stack's dir.
    // SWITCHBOARD_TEST_STORE=postgres runs every stack on PostgreSQL (the whole e2e suite, once, by hand or in CI).
    const onPostgres = opts.postgres ?? process.env.SWITCHBOARD_TEST_STORE === 'postgres';
    const postgres = onPostgres || opts.standby || opts.synapseOnPostgres ? await Postgres.create() : undefined;
    const haproxy = opts.standby ? await Haproxy.create({ dir: join(dir, 'haproxy') }) : undefined;
    await postgres?.start();
    const storeUrl = postgres && (onPostgres || opts.standby) ? await postgres.createDatabase('switchboard') : undefined;
    if (opts.synapseOnPostgres) await postgres!.createDatabase('synapse', { collateC: true });
    const ircd = opts.irc ? await Inspircd.create({ dir: join(dir, 'inspircd') }) : undefined;
    const withProsody = opts.prosody || opts.xmpp || opts.xmppGateway;
    const prosody = withProsody ? await Prosody.create({ dir: join(dir, 'prosody') }) : undefined;
    const relay = { jid: `switchboard@${prosody?.domain ?? 'xmpp.test'}`, password: randomBytes(12).toString('base64url') };
    const synapse = await Synapse.create({
      dir: join(dir, 'synapse'), registrations: [join(dir, 'bridge', 'registration.yaml')],
      ...(opts.synapsePort && { port: opts.synapsePort }), ...(opts.synapseOnPostgres && { postgres: postgres!.params('synapse') }),
    });
    let bridgePort = 0;
    const transactionProxy = opts.transactionProxy ? await TransactionProxy.start(() => bridgePort) : undefined;
    const bridge = await BridgeProcess.create({
      dir: join(dir, 'bridge'), homeserverUrl: synapse.url, domain: synapse.serverName,
      loopback: { relay_user: 'relaybot', ...opts.bridge?.loopback },
      ...(opts.bridge?.permissions && { permissions: opts.bridge.permissions }),
      ...(opts.bridge?.logLevel && { logLevel: opts.bridge.logLevel }),
      ...((opts.bridge?.extra || storeUrl) && { extra: { ...(storeUrl && { store: { url: storeUrl } }), ...opts.bridge?.extra } }),
      ...(opts.bridge?.publicMedia && { publicMedia: true }),
      ...(haproxy && { publicUrl: haproxy.url }),
      ...(transactionProxy && { publicUrl: transactionProxy.url }),
      networks: {
        ...(opts.xmpp && prosody && { xmpp: { service: `xmpp://127.0.0.1:${prosody.c2sPort}`, tls_ca_file: prosody.certFile, relay, allow_private_media: true } }),
        ...(opts.xmppGateway && prosody && {
          xmppgw: { component: prosody.gatewayDomain, server: `127.0.0.1:${prosody.componentPort}`, secret: prosody.gatewaySecret, muc: { component: prosody.gatewayMucDomain }, allow_private_media: true, ...(typeof opts.xmppGateway === 'object' && opts.xmppGateway) },
        }),
        // IRC: the relay speaks as "<name> text", as IRC people expect; a generous flood budget for tests.
        ...(ircd && { irc: { host: '127.0.0.1', port: ircd.port, tls: false, relay: { nick: 'Switchboard' }, relay_template: '<{name}> ', flood: { burst: 50, per_second: 50 } } }),
        ...opts.bridge?.networks,
      },
    });
    bridgePort = bridge.port;
    const ngircd = opts.ngircd ? await Ngircd.create({ dir: join(dir, 'ngircd') }) : undefined;
    const standby = haproxy ? await BridgeProcess.standbyOf(bridge, join(dir, 'standby')) : undefined;
    const stack = new Stack(dir, tmp?.remove, synapse, bridge, new LoopbackClient(bridge.controlUrl), prosody, ngircd, ircd, postgres, standby, haproxy, transactionProxy);
    try {
      // Prosody and the IRC server first: the bridge's relays connect at start-up.
      await prosody?.start();
      await ircd?.start();
      if (prosody && opts.xmpp) prosody.register('switchboard', relay.password);
      if (opts.bridgeFirst) {
        await bridge.start({ waitReady: false });
        await synapse.start();
        await bridge.ready();
      } else {
        await haproxy?.start([bridge.port, standby!.port]);
        await synapse.start();
        await bridge.start();
        // The standby starts after the leader made the login data key file they share.
        await standby?.start({ waitReady: false });
        if (standby) await waitReady(standby.process!, 'the standby waiting for the leader lock', async () => standby.process!.output().includes('standby: another bridge process holds the leader lock'), 60_000);
      }
      await ngircd?.start();
    } catch (err) {
      await stack.stop({ keepDir: true });
      throw err;
    }
    return stack;
  }

  /** Register a Matrix user and log them in as a syncing client. */
  async user(localpart: string, password?: string): Promise<MatrixTestClient & { account: MatrixAccount }> {
    const account = await this.synapse.register(localpart, password);
    const client = new MatrixTestClient(this.synapse.url, account.userId, account.accessToken);
    client.startSync();
    return Object.assign(client, { account });
  }

  /** The Matrix id of a loopback user's ghost. */
  ghost(remoteUser: string, network = 'loopback'): string {
    return `@_${network}_${remoteUser}:${this.synapse.serverName}`;
  }

  get botUserId(): string {
    return `@switchboard:${this.synapse.serverName}`;
  }

  /** Stop everything this stack started (in reverse order), then remove its temp dir. */
  async stop(opts: { keepDir?: boolean } = {}): Promise<void> {
    const results = await Promise.allSettled([this.bridge.stop(), this.standby?.stop(), this.haproxy?.stop(), this.transactionProxy?.stop(), this.ngircd?.stop(), this.prosody?.stop(), this.ircd?.stop()]);
    await this.synapse.stop();
    await this.postgres?.stop().catch((err: unknown) => results.push({ status: 'rejected', reason: err }));
    if (!opts.keepDir) this.removeDir?.();
    const failed = results.find((r): r is PromiseRejectedResult => r.status === 'rejected');
    if (failed) throw failed.reason;
  }
}
