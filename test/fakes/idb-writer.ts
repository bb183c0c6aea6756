/**
 * Child process for the durable IndexedDB crash test: writes one record per transaction
 * and prints each key once its transaction completed (what the crypto library is told),
 * until it is killed.
 */
import { openDurableIndexedDB } from '../../core/crypto/durable-idb.js';

const durable = await openDurableIndexedDB(process.argv[2]!);
const open = durable.factory.open('crash', 1);
open.addEventListener('upgradeneeded', () => { open.result.createObjectStore('s', { keyPath: null, autoIncrement: false }); });
await new Promise<void>((resolve) => open.addEventListener('success', () => resolve()));
const db = open.result as unknown as { transaction(s: string, m: string): { objectStore(n: string): { put(v: unknown, k: unknown): unknown }; addEventListener(t: string, l: () => void): void } };
for (let i = 0; ; i++) {
  const txn = db.transaction('s', 'readwrite');
  txn.objectStore('s').put({ i, pad: 'x'.repeat(200) }, i);
  await new Promise<void>((resolve) => txn.addEventListener('complete', () => resolve()));
  process.stdout.write(`${i}\n`);
}
