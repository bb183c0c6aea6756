/** Personal XMPP logins written into a stopped bridge's store, as `login xmpp` leaves them, for the benchmarks. */
import { join } from 'node:path';
import { createConnection } from '../../bridges/xmpp/connection.js';
import type { ScramKeys } from '../../bridges/xmpp/scram.js';
import { loginId, matrixUserId, networkId, remoteUserId } from '../../core/ids.js';
import { Limiter } from '../../core/limiter.js';
import { loginDataKey } from '../../core/store/private-files.js';
import { SqliteStore } from '../../core/store/sqlite.js';
import type { Stack } from '../../test/harness/stack.js';

export interface Account { user: string; password: string }

/**
 * What `login xmpp` stores: the SCRAM keys of one successful login with the bridge's own
 * SCRAM, 8 at a time. The accounts must exist on the stack's Prosody.
 */
export async function deriveKeys(stack: Stack, accounts: Account[]): Promise<Map<string, ScramKeys>> {
  const prosody = stack.prosody!;
  const keys = new Map<string, ScramKeys>();
  const limiter = new Limiter(8);
  await Promise.all(accounts.map((a) => limiter.run(async () => {
    const { client } = createConnection({
      service: `xmpp://127.0.0.1:${prosody.c2sPort}`, domain: prosody.domain, resource: 'switchboard-login', caFile: prosody.certFile,
      credentials: { username: a.user, password: a.password, onKeys: (k) => keys.set(a.user, k) },
    });
    client.on('error', () => undefined);
    await client.start();
    await client.stop();
  })));
  return keys;
}

/** Write each account as the personal xmpp login of the Matrix user with the same localpart. The bridge must be stopped. */
export async function storeLogins(stack: Stack, accounts: Account[], keys: Map<string, ScramKeys>): Promise<void> {
  const domain = stack.prosody!.domain;
  const dbPath = join(stack.bridge.dir, 'switchboard.db');
  const store = new SqliteStore({ path: dbPath, loginDataKey: loginDataKey(undefined, `${dbPath}.key`).value });
  try {
    for (const a of accounts) {
      const bare = `${a.user}@${domain}`;
      store.putLogin({
        loginId: loginId(`xmpp:@${a.user}:${stack.synapse.serverName}`), network: networkId('xmpp'), kind: 'puppet',
        owner: matrixUserId(`@${a.user}:${stack.synapse.serverName}`), remoteUser: remoteUserId(bare), data: { jid: bare, keys: keys.get(a.user)! },
      });
    }
  } finally {
    await store.close();
  }
}
