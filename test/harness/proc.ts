/**
 * Server processes started by tests: output goes to a log file and a short in-memory
 * tail, readiness is polled, and a server that dies or never gets ready fails with its
 * own last log lines instead of a bare timeout. Every process started here is killed
 * when the test process exits, whatever the outcome.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { createWriteStream, mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const live = new Set<ChildProcess>();
process.on('exit', () => {
  for (const child of live) child.kill('SIGKILL');
});

export interface ServerProcess {
  readonly name: string;
  readonly pid: number;
  readonly logFile: string;
  /** Resolves with the exit code (or signal name) once the process has ended. */
  readonly exited: Promise<number | string>;
  isRunning(): boolean;
  /** The last lines the process printed. */
  tail(lines?: number): string;
  /** Whole output so far (bounded), for assertions on log lines. */
  output(): string;
  signal(sig: NodeJS.Signals): void;
  /** SIGTERM, then SIGKILL after `graceMs`; resolves when it has exited. */
  stop(graceMs?: number): Promise<void>;
}

export interface SpawnOptions {
  cwd?: string;
  env?: NodeJS.ProcessEnv;
  logFile: string;
}

const KEEP_CHARS = 2_000_000;

export function spawnServer(name: string, command: string, args: string[], opts: SpawnOptions): ServerProcess {
  const child = spawn(command, args, { cwd: opts.cwd, env: opts.env ?? process.env, stdio: ['ignore', 'pipe', 'pipe'] });
  live.add(child);
  const file = createWriteStream(opts.logFile, { flags: 'a' });
  let buffer = '';
  const onData = (chunk: Buffer) => {
    file.write(chunk);
    buffer += chunk.toString('utf8');
    if (buffer.length > KEEP_CHARS) buffer = buffer.slice(-KEEP_CHARS / 2);
  };
  child.stdout!.on('data', onData);
  child.stderr!.on('data', onData);
  let running = true;
  const exited = new Promise<number | string>((resolve) => {
    child.once('error', (err) => {
      buffer += `\n[harness] could not start ${command}: ${err.message}\n`;
      running = false;
      live.delete(child);
      resolve(-1);
    });
    child.once('exit', (code, sig) => {
      running = false;
      live.delete(child);
      file.end();
      resolve(code ?? sig ?? -1);
    });
  });
  const proc: ServerProcess = {
    name,
    pid: child.pid ?? -1,
    logFile: opts.logFile,
    exited,
    isRunning: () => running,
    tail: (lines = 30) => buffer.split('\n').slice(-lines - 1).join('\n'),
    output: () => buffer,
    signal: (sig) => {
      if (running) child.kill(sig);
    },
    async stop(graceMs = 10_000) {
      if (!running) return;
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
      await exited;
      clearTimeout(timer);
    },
  };
  return proc;
}

/**
 * Poll `probe` until it returns true. Throws with the server's log tail if the server
 * exits first or `timeoutMs` passes.
 */
export async function waitReady(proc: ServerProcess, what: string, probe: () => Promise<boolean>, timeoutMs = 60_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (!proc.isRunning()) {
      const code = await proc.exited;
      throw new Error(`${proc.name} exited (${code}) before ${what}; its log (${proc.logFile}) ends:\n${proc.tail()}`);
    }
    // A probe may hang (a port that accepts and never answers): bound each attempt.
    const attempt = Promise.race([probe().catch(() => false), new Promise<false>((r) => setTimeout(() => r(false), 3000).unref())]);
    if (await attempt) return;
    if (Date.now() > deadline) {
      await proc.stop(2000);
      throw new Error(`${proc.name} not ready (${what}) within ${timeoutMs / 1000} s; its log (${proc.logFile}) ends:\n${proc.tail()}`);
    }
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** A TCP port free on 127.0.0.1 right now. */
/** Ports handed out by this process, never handed out twice. */
const handedOut = new Set<number>();

/**
 * A free port for a server a test starts, chosen below the kernel's ephemeral range
 * (32768 and up here): a port from `listen(0)` is in that range, and an outgoing
 * connection of any process could take it before the server binds it (seen as
 * EADDRINUSE when the bridge started).
 */
export async function freePort(): Promise<number> {
  for (let attempt = 0; attempt < 200; attempt++) {
    const port = 20_000 + Math.floor(Math.random() * 12_000);
    if (handedOut.has(port)) continue;
    const server = createServer();
    const bound = await new Promise<boolean>((resolve) => {
      server.once('error', () => resolve(false));
      server.listen(port, '127.0.0.1', () => resolve(true));
    });
    if (!bound) continue;
    await new Promise((r) => server.close(r));
    handedOut.add(port);
    return port;
  }
  throw new Error('could not find a free port');
}

/** A fresh temporary directory; `remove()` deletes it unless SWITCHBOARD_KEEP_TMP is set. */
export function tempDir(prefix: string): { path: string; remove(): void } {
  const path = mkdtempSync(join(tmpdir(), `switchboard-${prefix}-`));
  return {
    path,
    remove: () => {
      if (!process.env.SWITCHBOARD_KEEP_TMP) rmSync(path, { recursive: true, force: true });
    },
  };
}
