/**
 * A persistent IndexedDB for Node, for the crypto library's store (its only persistent
 * store is IndexedDB). fake-indexeddb is the IndexedDB (a complete, tested
 * implementation, in memory); this file makes it durable: every write of a transaction
 * is journalled and written to a SQLite file, in one SQL transaction, from the
 * transaction's `complete` event, and on start the file is loaded back.
 *
 * Why at `complete`, synchronously: IndexedDB tells the caller its transaction committed
 * with that event, and the crypto library goes on (and the bridge acknowledges the
 * homeserver's transaction carrying the key) only in a promise continuation, which runs
 * after the event's dispatch returns. So a key the library was told is stored is on disk
 * before anything can act on it, and a SIGKILL at any moment loses at most a transaction
 * the library was not yet told about (it is sent again: the homeserver's transaction was
 * not acknowledged). An aborted transaction never fires `complete`: nothing is written.
 *
 * Writes are seen through the public API (put, add, delete, clear, a cursor's update and
 * delete); the schema and the versions come from the database object after a version
 * change (fake-indexeddb 6 keeps them on `_rawDatabase`, read-only here, pinned version).
 */
import { serialize, deserialize } from 'node:v8';
import Database from 'better-sqlite3';
import * as fake from 'fake-indexeddb';
import { decodeKey, encodeKey } from './idb-keys.js';
import type { IdbCursor, IdbDatabase, IdbFactory, IdbKey, IdbObjectStore, IdbRequest, IdbTransaction } from './idb-types.js';

// The constructors, seen through the interfaces this file needs (see idb-types.ts).
const ObjectStoreProto = fake.IDBObjectStore.prototype as unknown as IdbObjectStore;
const CursorProto = fake.IDBCursor.prototype as unknown as IdbCursor;
const KeyRange = fake.IDBKeyRange as unknown as abstract new () => object;
const Index = fake.IDBIndex as unknown as abstract new () => { objectStore: IdbObjectStore };
const Factory = fake.IDBFactory as unknown as new () => IdbFactory;

type Op =
  | { kind: 'put'; store: string; key: unknown; value: Buffer }
  | { kind: 'delete'; store: string; key: unknown }
  | { kind: 'clear'; store: string }
  | { kind: 'rename'; from: string; to: string };

interface IndexSchema { name: string; keyPath: string | string[]; unique: boolean; multiEntry: boolean }
interface StoreSchema { name: string; keyPath: string | string[] | null; autoIncrement: boolean; indexes: IndexSchema[] }

/** What a database's journal writes to. */
interface Target { file: DurableFile; dbName: string }

/** Databases opened through a durable factory, and the journals of their running transactions. */
const targets = new WeakMap<IdbDatabase, Target>();
const journals = new WeakMap<IdbTransaction, Op[]>();
let replaying = false;

class DurableFile {
  private readonly db: Database.Database;

  constructor(path: string) {
    this.db = new Database(path);
    this.db.pragma('journal_mode = WAL');
    // A process crash (SIGKILL) loses nothing committed under NORMAL in WAL mode; FULL adds
    // an fsync per crypto transaction so a power loss cannot take a key either.
    this.db.pragma('synchronous = FULL');
    this.db.exec(`
      CREATE TABLE IF NOT EXISTS idb_database (name TEXT PRIMARY KEY, version INTEGER NOT NULL, schema TEXT NOT NULL);
      CREATE TABLE IF NOT EXISTS idb_record (db TEXT NOT NULL, store TEXT NOT NULL, key TEXT NOT NULL, value BLOB NOT NULL,
        PRIMARY KEY (db, store, key));`);
  }

  databases(): { name: string; version: number; schema: StoreSchema[] }[] {
    return (this.db.prepare('SELECT name, version, schema FROM idb_database').all() as { name: string; version: number; schema: string }[])
      .map((r) => ({ name: r.name, version: r.version, schema: JSON.parse(r.schema) as StoreSchema[] }));
  }

  records(db: string, store: string): { key: unknown; value: unknown }[] {
    return (this.db.prepare('SELECT key, value FROM idb_record WHERE db = ? AND store = ?').all(db, store) as { key: string; value: Buffer }[])
      .map((r) => ({ key: decodeKey(r.key), value: deserialize(r.value) }));
  }

  /** One IndexedDB transaction's writes, and the schema when it changed it. */
  commit(dbName: string, ops: Op[], schema?: { version: number; stores: StoreSchema[] }): void {
    const put = this.db.prepare('INSERT OR REPLACE INTO idb_record (db, store, key, value) VALUES (?, ?, ?, ?)');
    const del = this.db.prepare('DELETE FROM idb_record WHERE db = ? AND store = ? AND key = ?');
    const clear = this.db.prepare('DELETE FROM idb_record WHERE db = ? AND store = ?');
    const rename = this.db.prepare('UPDATE idb_record SET store = ? WHERE db = ? AND store = ?');
    this.db.transaction(() => {
      for (const op of ops) {
        if (op.kind === 'put') put.run(dbName, op.store, encodeKey(op.key), op.value);
        else if (op.kind === 'delete') del.run(dbName, op.store, encodeKey(op.key));
        else if (op.kind === 'clear') clear.run(dbName, op.store);
        else rename.run(op.to, dbName, op.from);
      }
      if (schema) {
        this.db.prepare('INSERT OR REPLACE INTO idb_database (name, version, schema) VALUES (?, ?, ?)').run(dbName, schema.version, JSON.stringify(schema.stores));
        const names = schema.stores.map((s) => s.name);
        this.db.prepare(`DELETE FROM idb_record WHERE db = ? AND store NOT IN (${names.map(() => '?').join(',') || "''"})`).run(dbName, ...names);
      }
    })();
  }

  drop(dbName: string): void {
    this.db.transaction(() => {
      this.db.prepare('DELETE FROM idb_record WHERE db = ?').run(dbName);
      this.db.prepare('DELETE FROM idb_database WHERE name = ?').run(dbName);
    })();
  }

  close(): void {
    this.db.close();
  }
}

/** The schema as it stands (read after a version change completed). */
function schemaOf(db: IdbDatabase): { version: number; stores: StoreSchema[] } {
  const raw = (db as unknown as { _rawDatabase: { rawObjectStores: Map<string, RawStore> } })._rawDatabase;
  const stores = [...raw.rawObjectStores.values()].filter((s) => !s.deleted).map((s) => ({
    name: s.name,
    keyPath: s.keyPath,
    autoIncrement: s.autoIncrement,
    indexes: [...s.rawIndexes.values()].filter((i) => !i.deleted).map((i) => ({ name: i.name, keyPath: i.keyPath, unique: i.unique, multiEntry: i.multiEntry })),
  }));
  return { version: db.version, stores };
}
interface RawStore { name: string; deleted: boolean; keyPath: string | string[] | null; autoIncrement: boolean; rawIndexes: Map<string, { name: string; deleted: boolean; keyPath: string | string[]; unique: boolean; multiEntry: boolean }> }

/** The journal of a write's transaction, started (and its commit hook set) at the first write. */
function journalOf(txn: IdbTransaction): Op[] | undefined {
  if (replaying) return undefined;
  const target = targets.get(txn.db);
  if (!target) return undefined;
  let ops = journals.get(txn);
  if (!ops) {
    const journal: Op[] = [];
    ops = journal;
    journals.set(txn, journal);
    const versionChange = txn.mode === 'versionchange';
    txn.addEventListener('complete', () => target.file.commit(target.dbName, journal, versionChange ? schemaOf(txn.db) : undefined));
  }
  return ops;
}

function recordOnSuccess(req: IdbRequest, ops: Op[], op: (result: unknown) => Op | undefined): void {
  req.addEventListener('success', () => {
    const o = op(req.result);
    if (o) ops.push(o);
  });
}

const storeOf = (cursor: IdbCursor): IdbObjectStore => (cursor.source instanceof Index ? cursor.source.objectStore : cursor.source as IdbObjectStore);

let patched = false;
function patchOnce(): void {
  if (patched) return;
  patched = true;
  const S = ObjectStoreProto;
  for (const method of ['put', 'add'] as const) {
    const original = S[method];
    S[method] = function (this: IdbObjectStore, value: unknown, key?: IdbKey) {
      const ops = journalOf(this.transaction);
      const req = original.apply(this, arguments as unknown as [unknown, IdbKey?]);
      if (ops) {
        const bytes = serialize(value); // the value as given, before the caller can change it
        const store = this.name;
        recordOnSuccess(req, ops, (k) => ({ kind: 'put', store, key: k ?? key, value: bytes }));
      }
      return req;
    };
  }
  const originalDelete = S.delete;
  S.delete = function (this: IdbObjectStore, query: unknown) {
    const ops = journalOf(this.transaction);
    if (ops && query instanceof KeyRange) {
      // Requests run in order: the keys read now are the ones the delete below removes.
      const store = this.name;
      const keys = this.getAllKeys(query);
      keys.addEventListener('success', () => { for (const key of keys.result) ops.push({ kind: 'delete', store, key }); });
    }
    const req = originalDelete.call(this, query);
    if (ops && !(query instanceof KeyRange)) {
      const store = this.name;
      recordOnSuccess(req, ops, () => ({ kind: 'delete', store, key: query }));
    }
    return req;
  };
  const originalClear = S.clear;
  S.clear = function (this: IdbObjectStore) {
    const ops = journalOf(this.transaction);
    const req = originalClear.call(this);
    if (ops) {
      const store = this.name;
      recordOnSuccess(req, ops, () => ({ kind: 'clear', store }));
    }
    return req;
  };
  const nameProp = Object.getOwnPropertyDescriptor(S, 'name')!;
  Object.defineProperty(S, 'name', {
    ...nameProp,
    set(this: IdbObjectStore, to: string) {
      const from = this.name;
      nameProp.set!.call(this, to);
      const ops = journalOf(this.transaction);
      if (ops && from !== to) ops.push({ kind: 'rename', from, to });
    },
  });

  const C = CursorProto;
  const originalUpdate = C.update;
  C.update = function (this: IdbCursor, value: unknown) {
    const store = storeOf(this);
    const ops = journalOf(store.transaction);
    const key = this.primaryKey;
    const req = originalUpdate.call(this, value);
    if (ops) {
      const bytes = serialize(value);
      recordOnSuccess(req, ops, () => ({ kind: 'put', store: store.name, key, value: bytes }));
    }
    return req;
  };
  const originalCursorDelete = C.delete;
  C.delete = function (this: IdbCursor) {
    const store = storeOf(this);
    const ops = journalOf(store.transaction);
    const key = this.primaryKey;
    const req = originalCursorDelete.call(this);
    if (ops) recordOnSuccess(req, ops, () => ({ kind: 'delete', store: store.name, key }));
    return req;
  };
}

const done = (req: IdbRequest): Promise<void> => new Promise((resolve, reject) => {
  req.addEventListener('success', () => resolve());
  req.addEventListener('error', () => reject(req.error ?? new Error('IndexedDB request failed')));
});

/** Load one saved database into the in-memory factory. */
async function restore(factory: IdbFactory, file: DurableFile, saved: { name: string; version: number; schema: StoreSchema[] }): Promise<void> {
  const open = factory.open(saved.name, saved.version);
  open.addEventListener('upgradeneeded', () => {
    const db = open.result;
    for (const s of saved.schema) {
      const store = db.createObjectStore(s.name, { keyPath: s.keyPath, autoIncrement: s.autoIncrement });
      for (const i of s.indexes) store.createIndex(i.name, i.keyPath, { unique: i.unique, multiEntry: i.multiEntry });
    }
    for (const s of saved.schema) {
      const store = open.transaction!.objectStore(s.name);
      for (const { key, value } of file.records(saved.name, s.name)) {
        if (s.keyPath === null) store.put(value, key as IdbKey);
        else {
          if (s.autoIncrement && typeof s.keyPath === 'string' && value && typeof value === 'object' && !(s.keyPath in value)) {
            (value as Record<string, unknown>)[s.keyPath] = key; // a generated key lives in the value
          }
          store.put(value);
        }
      }
    }
  });
  await done(open);
  open.result.close();
}

export interface DurableIndexedDB {
  /** The IndexedDB factory; `install()` makes it the global one, as the crypto library expects. */
  readonly factory: IdbFactory;
  install(): void;
  close(): void;
}

/**
 * Open (or create) the file and load what it holds. The databases are in memory while the
 * process runs (the crypto store is small: keys, sessions, devices).
 */
export async function openDurableIndexedDB(path: string): Promise<DurableIndexedDB> {
  patchOnce();
  const file = new DurableFile(path);
  const factory = new Factory();
  replaying = true;
  try {
    for (const saved of file.databases()) await restore(factory, file, saved);
  } finally {
    replaying = false;
  }

  const originalOpen = factory.open.bind(factory);
  factory.open = (name: string, version?: number) => {
    const req = originalOpen(name, version);
    // Ours is the first listener, so the database is known before any transaction on it.
    const adopt = () => { if (req.result) targets.set(req.result, { file, dbName: name }); };
    req.addEventListener('upgradeneeded', () => {
      adopt();
      if (req.transaction) journalOf(req.transaction); // the new schema is saved even if nothing is written
    });
    req.addEventListener('success', adopt);
    return req;
  };
  const originalDelete = factory.deleteDatabase.bind(factory);
  factory.deleteDatabase = (name: string) => {
    const req = originalDelete(name);
    req.addEventListener('success', () => file.drop(name));
    return req;
  };

  return {
    factory,
    install() {
      const { indexedDB: _unused, default: _default, ...classes } = fake;
      Object.assign(globalThis, classes, { indexedDB: factory });
    },
    close() {
      file.close();
    },
  };
}
