/**
 * node-postgres in a worker thread, answering the store synchronously through synckit
 * (sync-driver.ts): the main thread waits on each answer as it does on better-sqlite3.
 * Plain JavaScript: a worker thread does not get the TypeScript loader.
 *
 * A connection lost outside a transaction is made again, waiting out an outage for up to
 * `outageMs`, and the statement is sent again; lost inside one, its writes are gone with it,
 * so the error goes back (code SB_CONNECTION_LOST) and the store gives up on the process.
 * So it does when the process held the leader lock and the lock did not survive.
 */
import pg from 'pg';
import { runAsWorker } from 'synckit';

// int8 (BIGINT columns, count(*)) as numbers: millisecond times and sequence numbers fit in 2^53.
pg.types.setTypeParser(20, (v) => Number(v));

const LOST = new Set(['ECONNRESET', 'ECONNREFUSED', 'EPIPE', 'ETIMEDOUT', '57P01', '57P02', '57P03', '08000', '08003', '08006']);
const isLost = (err) => LOST.has(err?.code) || /Connection terminated|not queryable|Client was closed/i.test(String(err?.message));

/** @type {Map<number, { client: pg.Client, url: string, outageMs: number, statements: Map<string, string> }>} */
const connections = new Map();
let nextId = 0;

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

async function connect(url, outageMs) {
  const deadline = Date.now() + outageMs;
  for (let delay = 100; ; delay = Math.min(delay * 2, 2_000)) {
    const client = new pg.Client({ connectionString: url, connectionTimeoutMillis: 5_000, application_name: 'switchboard' });
    // A connection dropping between statements is noticed by the next one; nothing to do here.
    client.on('error', () => undefined);
    try {
      await client.connect();
      return client;
    } catch (err) {
      await client.end().catch(() => undefined);
      if (Date.now() + delay > deadline) throw err;
      await sleep(delay);
    }
  }
}

function lostError(err, what = 'PostgreSQL connection lost inside a transaction') {
  const e = new Error(`${what}: ${err.message}`);
  e.code = 'SB_CONNECTION_LOST';
  return e;
}

async function query(conn, text, values, inTransaction, name) {
  try {
    return await conn.client.query(name ? { name, text, values } : { text, values });
  } catch (err) {
    if (!isLost(err)) throw err;
    if (inTransaction) throw lostError(err);
    await conn.client.end().catch(() => undefined);
    conn.client = await connect(conn.url, conn.outageMs);
    // A leader whose lock went with the server (a restart ends every session) must not
    // write again on a new connection: another process may lead by now, and its replay
    // would miss what this one records. Its own check runs only every second.
    await assertLeader('the leader lock went with the old connection', 'PostgreSQL connection lost with the leader lock');
    return conn.client.query(name ? { name, text, values } : { text, values });
  }
}

/**
 * A process holding leader locks still holds them (checked on their connections), or an
 * error that ends it: another process may lead by now, and what this one wrote next would
 * be missed by that one's replay. Also checked before every COMMIT, so a lock connection
 * lost on its own (the store's still up) stops the writes at once, not at the next
 * one-second check: one round trip per group commit, for a leader only.
 */
async function assertLeader(why, what) {
  for (const key of [...locks.keys()]) {
    if (!(await lockHeld(key))) throw lostError(new Error(why), what);
  }
}

/** Session advisory locks, each on a connection of its own (leader.ts): key -> client. */
const locks = new Map();

async function lockTry(url, key) {
  if (locks.has(key)) return lockHeld(key);
  const client = new pg.Client({ connectionString: url, connectionTimeoutMillis: 2_000, query_timeout: 2_000, application_name: 'switchboard-leader' });
  client.on('error', () => undefined);
  try {
    await client.connect();
    const { rows } = await client.query('SELECT pg_try_advisory_lock($1) AS got', [key]);
    if (rows[0].got) {
      locks.set(key, client);
      return true;
    }
  } catch {
    // unreachable: not ours
  }
  await client.end().catch(() => undefined);
  return false;
}

async function lockHeld(key) {
  const client = locks.get(key);
  if (!client) return false;
  try {
    await client.query('SELECT 1');
    return true;
  } catch {
    locks.delete(key);
    await client.end().catch(() => undefined);
    return false;
  }
}

runAsWorker(async (op, id, a, b, c) => {
  if (op === 'lock-try') return lockTry(a, b);
  if (op === 'lock-held') return lockHeld(a);
  if (op === 'lock-release') {
    const client = locks.get(a);
    locks.delete(a);
    await client?.end().catch(() => undefined);
    return null;
  }
  if (op === 'open') {
    const client = await connect(a, b);
    connections.set(++nextId, { client, url: a, outageMs: b });
    return nextId;
  }
  const conn = connections.get(id);
  if (!conn) throw new Error(`no PostgreSQL connection ${id}`);
  switch (op) {
    case 'query': {
      // a: { text, name }, b: values, c: in a transaction
      const res = await query(conn, a.text, b, c, a.name);
      return { rows: res.rows, changes: res.rowCount ?? 0 };
    }
    case 'exec':
      if (locks.size && /^\s*COMMIT\b/i.test(a)) await assertLeader('the leader lock was lost', 'PostgreSQL leader lock lost before a commit');
      await query(conn, a, undefined, b);
      return null;
    case 'close':
      connections.delete(id);
      await conn.client.end().catch(() => undefined);
      return null;
    default:
      throw new Error(`unknown operation ${op}`);
  }
});
