/**
 * The crypto store's IndexedDB persists (core/crypto/durable-idb.ts): what a completed
 * transaction wrote is loaded back by the next process, what an aborted one wrote is not,
 * and a SIGKILL loses nothing a caller was told was committed.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import * as sdk from '@matrix-org/matrix-sdk-crypto-wasm';
import { IDBKeyRange } from 'fake-indexeddb';
import { openDurableIndexedDB, type DurableIndexedDB } from '../../core/crypto/durable-idb.js';

const dir = mkdtempSync(join(tmpdir(), 'sb-idb-'));
after(() => rmSync(dir, { recursive: true, force: true }));

// Loosely typed: the test drives the IndexedDB API as the crypto library does.
/* eslint-disable @typescript-eslint/no-explicit-any */
const req = <T = any>(r: any): Promise<T> => new Promise((resolve, reject) => {
  r.addEventListener('success', () => resolve(r.result));
  r.addEventListener('error', () => reject(r.error));
});
const finished = (txn: any): Promise<'complete' | 'abort'> => new Promise((resolve) => {
  txn.addEventListener('complete', () => resolve('complete'));
  txn.addEventListener('abort', () => resolve('abort'));
});
async function openDb(durable: DurableIndexedDB, name: string, version: number, upgrade?: (db: any, txn: any) => void): Promise<any> {
  const open: any = durable.factory.open(name, version);
  open.addEventListener('upgradeneeded', () => upgrade?.(open.result, open.transaction));
  return req(open);
}
async function dump(db: any, store: string): Promise<[unknown, unknown][]> {
  const txn = db.transaction(store, 'readonly');
  const s = txn.objectStore(store);
  const [keys, values] = await Promise.all([req<unknown[]>(s.getAllKeys()), req<unknown[]>(s.getAll())]);
  return keys.map((k, i) => [k, values[i]]);
}

describe('durable IndexedDB', () => {
  it('loads back every kind of write a completed transaction made, and nothing of an aborted one', async () => {
    const file = join(dir, 'roundtrip.sqlite');
    const first = await openDurableIndexedDB(file);
    const db = await openDb(first, 'db', 1, (d) => {
      d.createObjectStore('plain');
      d.createObjectStore('keyed', { keyPath: 'id' }).createIndex('by_x', 'x', { unique: false });
      d.createObjectStore('cleared');
      d.createObjectStore('doomed');
    });
    let txn = db.transaction(['plain', 'keyed', 'cleared'], 'readwrite');
    const plain = txn.objectStore('plain');
    plain.put({ bytes: new Uint8Array([1, 2, 3]), map: new Map([['a', 1]]) }, 'string-key');
    plain.put('number', 42);
    plain.put('array', ['a', 7]);
    plain.put('binary', new Uint8Array([9, 9]).buffer);
    plain.put('date', new Date(1_000));
    for (let i = 100; i < 110; i++) plain.add(`range ${i}`, i);
    plain.delete(42);
    plain.delete(IDBKeyRange.bound(103, 106));
    const keyed = txn.objectStore('keyed');
    keyed.put({ id: 'k1', x: 1 });
    keyed.put({ id: 'k2', x: 2 });
    keyed.put({ id: 'k3', x: 2 });
    txn.objectStore('cleared').put('gone', 1);
    txn.objectStore('cleared').clear();
    txn.objectStore('cleared').put('kept', 2);
    assert.equal(await finished(txn), 'complete');

    // Cursor writes, through an index too.
    txn = db.transaction('keyed', 'readwrite');
    const cursorReq = txn.objectStore('keyed').index('by_x').openCursor(2);
    cursorReq.addEventListener('success', () => {
      const c = cursorReq.result;
      if (!c) return;
      if (c.primaryKey === 'k2') c.update({ id: 'k2', x: 2, updated: true });
      else c.delete();
      c.continue();
    });
    assert.equal(await finished(txn), 'complete');

    txn = db.transaction('plain', 'readwrite');
    txn.objectStore('plain').put('never', 'aborted');
    txn.abort();
    assert.equal(await finished(txn), 'abort');
    db.close();

    // A version change renames one store and deletes another.
    const db2 = await openDb(first, 'db', 2, (_d, t) => { t.objectStore('cleared').name = 'renamed'; _d.deleteObjectStore('doomed'); });
    db2.close();
    first.close();

    const second = await openDurableIndexedDB(file);
    const again = await openDb(second, 'db', 2);
    assert.deepEqual([...again.objectStoreNames].sort(), ['keyed', 'plain', 'renamed']);
    const rows = await dump(again, 'plain');
    assert.deepEqual(rows.map(([k]) => k), [100, 101, 102, 107, 108, 109, new Date(1_000), 'string-key', new Uint8Array([9, 9]).buffer, ['a', 7]]);
    assert.deepEqual(rows.find(([k]) => k === 'string-key')![1], { bytes: new Uint8Array([1, 2, 3]), map: new Map([['a', 1]]) });
    assert.deepEqual(await dump(again, 'keyed'), [['k1', { id: 'k1', x: 1 }], ['k2', { id: 'k2', x: 2, updated: true }]]);
    assert.deepEqual(await req(again.transaction('keyed').objectStore('keyed').index('by_x').getAllKeys(2)), ['k2'], 'indexes are rebuilt');
    assert.deepEqual(await dump(again, 'renamed'), [[2, 'kept']]);
    again.close();
    await req(second.factory.deleteDatabase('db'));
    second.close();
    const third = await openDurableIndexedDB(file);
    const fresh = await openDb(third, 'db', 1, (d) => d.createObjectStore('plain'));
    assert.deepEqual([...fresh.objectStoreNames], ['plain'], 'a deleted database stays deleted');
    fresh.close();
    third.close();
  });

  it('keeps the crypto identity and device keys across a restart', async () => {
    const file = join(dir, 'olm.sqlite');
    await sdk.initAsync();
    const identity = async () => {
      const durable = await openDurableIndexedDB(file);
      durable.install();
      const store = await sdk.StoreHandle.openWithKey('bridge', new Uint8Array(32).fill(3));
      const machine = await sdk.OlmMachine.initFromStore(new sdk.UserId('@bot:example.org'), new sdk.DeviceId('BRIDGE'), store);
      const key = machine.identityKeys.ed25519.toBase64();
      const uploads = (await machine.outgoingRequests()).filter((r) => r instanceof sdk.KeysUploadRequest).length;
      machine.close();
      store.free();
      durable.close();
      return { key, uploads };
    };
    const before = await identity();
    const afterRestart = await identity();
    assert.equal(afterRestart.key, before.key);
    assert.equal(before.uploads, 1);
  });

  it('a SIGKILL loses no transaction its caller was told had completed', async () => {
    const file = join(dir, 'crash.sqlite');
    const child = spawn(process.execPath, ['--import', 'tsx', join('test', 'fakes', 'idb-writer.ts'), file], { stdio: ['ignore', 'pipe', 'inherit'] });
    let told = -1;
    let buffered = '';
    await new Promise<void>((resolve, reject) => {
      child.on('error', reject);
      child.on('exit', () => resolve());
      child.stdout.on('data', (chunk: Buffer) => {
        buffered += chunk.toString();
        const lines = buffered.split('\n');
        buffered = lines.pop()!;
        for (const line of lines) told = Number(line);
        if (told >= 300) child.kill('SIGKILL');
      });
    });
    assert.ok(told >= 300, `the writer got to ${told}`);
    const durable = await openDurableIndexedDB(file);
    const db = await openDb(durable, 'crash', 1);
    const keys = (await dump(db, 's')).map(([k]) => k as number);
    assert.ok(keys.length >= told + 1, `${keys.length} records after a kill once ${told + 1} were told committed`);
    assert.deepEqual(keys, keys.map((_, i) => i), 'no gaps');
    db.close();
    durable.close();
  });
});
