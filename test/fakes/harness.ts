/** A whole bridge in one process: loopback network, real SQLite store (in memory), recording Matrix side. */
import type { NetworkAdapter } from '../../core/adapter.js';
import { parseConfig, type Config } from '../../core/config.js';
import { Engine } from '../../core/pipeline/engine.js';
import { silentLogger } from '../../core/log.js';
import type { SqlStore } from '../../core/store/sql-store.js';
import { openTestStore } from './store.js';
import { LoopbackAdapter, LoopbackWorld } from '../../bridges/loopback/index.js';
import type { Encryption } from '../../core/crypto/encryption.js';
import { RecordingMatrix } from './recording-matrix.js';

export const ALICE = '@alice:example.org';

export function testConfig(extra: Record<string, unknown> = {}, loopback: Record<string, unknown> = {}): Config {
  return parseConfig({
    homeserver: { url: 'http://127.0.0.1:8008', domain: 'example.org' },
    appservice: { url: 'http://127.0.0.1:29330' },
    bridge: { permissions: { '*': 'relay', 'example.org': 'user' } },
    networks: { loopback: { relay_user: 'relaybot', puppets: [{ owner: ALICE, user: 'alice' }], ...loopback } },
    ...extra,
  });
}

export interface Harness {
  engine: Engine;
  matrix: RecordingMatrix;
  world: LoopbackWorld;
  store: SqlStore;
  config: Config;
  /** Feed Matrix events as one appservice transaction and wait until they are handled. */
  fromMatrix(...events: Record<string, unknown>[]): Promise<void>;
  stop(): Promise<void>;
}

let txn = 0;
let evn = 0;

export async function startHarness(opts: { config?: Config; path?: string; world?: LoopbackWorld; matrix?: RecordingMatrix; adapters?: NetworkAdapter[]; encryption?: Encryption } = {}): Promise<Harness> {
  const config = opts.config ?? testConfig();
  const world = opts.world ?? new LoopbackWorld();
  const matrix = opts.matrix ?? new RecordingMatrix();
  const store = await openTestStore(opts.path ? { path: opts.path } : {});
  const engine = new Engine({ config, store, matrix, adapters: opts.adapters ?? [new LoopbackAdapter(world)], log: silentLogger(), ...(opts.encryption && { encryption: opts.encryption }) });
  await engine.start();
  await new Promise((r) => setImmediate(r));
  return {
    engine, matrix, world, store, config,
    async fromMatrix(...events) {
      engine.handleTransaction(`t${++txn}`, events.map((e) => ({ event_id: `$m${++evn}`, origin_server_ts: Date.now(), ...e })));
      // Until quiet: the network delivers what the bridge sent (echoes included) after answering the send.
      do await engine.idle(); while (await world.settled());
    },
    async stop() {
      await engine.stop();
      await store.close();
    },
  };
}

/** A Matrix m.room.message event from a user. */
export function matrixText(roomId: string, sender: string, body: string, extra: Record<string, unknown> = {}): Record<string, unknown> {
  return { type: 'm.room.message', room_id: roomId, sender, content: { msgtype: 'm.text', body, ...extra } };
}
