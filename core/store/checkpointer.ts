/**
 * WAL checkpoints off the event loop. SQLite's automatic checkpoint runs inside a commit,
 * on the thread that commits: here, the bridge's only thread, where it showed as 4-5 ms
 * stalls at the 99th percentile (docs/performance.md). A worker thread with its own
 * connection runs PASSIVE checkpoints instead, which never block the writer.
 */
import { createRequire } from 'node:module';
import { Worker } from 'node:worker_threads';

const INTERVAL_MS = 1_000;

const WORKER_SOURCE = `
const { workerData, parentPort } = require('node:worker_threads');
const Database = require(workerData.modulePath);
const db = new Database(workerData.file);
db.pragma('busy_timeout = 1000');
const timer = setInterval(() => {
  try { db.pragma('wal_checkpoint(PASSIVE)'); } catch (err) { parentPort.postMessage(String(err)); }
}, workerData.intervalMs);
parentPort.on('message', (m) => { if (m === 'stop') { clearInterval(timer); db.close(); process.exit(0); } });
`;

export class Checkpointer {
  private readonly worker: Worker;
  private readonly exited: Promise<void>;

  constructor(file: string, onError: (message: string) => void) {
    const modulePath = createRequire(import.meta.url).resolve('better-sqlite3');
    this.worker = new Worker(WORKER_SOURCE, { eval: true, workerData: { file, modulePath, intervalMs: INTERVAL_MS } });
    this.worker.on('message', (m: string) => onError(m));
    this.worker.on('error', (err) => onError(String(err)));
    this.exited = new Promise((resolve) => this.worker.once('exit', () => resolve()));
    // A store somebody forgot to close must not keep the process alive.
    this.worker.unref();
  }

  /**
   * Ask the worker to close its connection and exit (it finishes a checkpoint in progress
   * first). Resolves when it has: until then it may still open or write the database's files.
   */
  stop(): Promise<void> {
    // Unref'd so a forgotten store does not keep the process alive; awaited, it must.
    this.worker.ref();
    this.worker.postMessage('stop');
    return this.exited;
  }
}
