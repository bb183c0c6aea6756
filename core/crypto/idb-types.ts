/**
 * The part of the IndexedDB API that durable-idb.ts touches, typed here because the
 * project compiles without the DOM library (fake-indexeddb's own types refer to it).
 */
export type IdbKey = number | string | Date | ArrayBuffer | ArrayBufferView | IdbKey[];

export interface IdbEventTarget {
  addEventListener(type: string, listener: () => void): void;
}
export interface IdbRequest<T = unknown> extends IdbEventTarget {
  readonly result: T;
  readonly error: Error | null;
}
export interface IdbOpenRequest extends IdbRequest<IdbDatabase> {
  readonly transaction: IdbTransaction | null;
}
export interface IdbDatabase {
  readonly version: number;
  close(): void;
  createObjectStore(name: string, options: { keyPath: string | string[] | null; autoIncrement: boolean }): IdbObjectStore;
}
export interface IdbTransaction extends IdbEventTarget {
  readonly db: IdbDatabase;
  readonly mode: 'readonly' | 'readwrite' | 'versionchange';
  objectStore(name: string): IdbObjectStore;
}
export interface IdbObjectStore {
  name: string;
  readonly transaction: IdbTransaction;
  put(value: unknown, key?: IdbKey): IdbRequest<IdbKey>;
  add(value: unknown, key?: IdbKey): IdbRequest<IdbKey>;
  delete(query: unknown): IdbRequest<undefined>;
  clear(): IdbRequest<undefined>;
  getAllKeys(query: unknown): IdbRequest<IdbKey[]>;
  createIndex(name: string, keyPath: string | string[], options: { unique: boolean; multiEntry: boolean }): unknown;
}
export interface IdbIndex {
  readonly objectStore: IdbObjectStore;
}
export interface IdbCursor {
  readonly source: IdbObjectStore | IdbIndex;
  readonly primaryKey: IdbKey;
  update(value: unknown): IdbRequest<IdbKey>;
  delete(): IdbRequest<undefined>;
}
export interface IdbFactory {
  open(name: string, version?: number): IdbOpenRequest;
  deleteDatabase(name: string): IdbRequest<undefined>;
}
