/**
 * An independent E2EE Matrix client for the tests (e2ee_client.py: matrix-nio 0.25 with
 * libolm through python-olm, from PyPI into a cached venv; libolm-dev from Debian's
 * packages to build it). Nothing of the bridge's crypto code path: its Olm/Megolm is
 * libolm (C), the bridge's is vodozemac (Rust) through matrix-sdk-crypto.
 */
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { ensureDebianPackages, type DebianTool } from './apt.js';
import { cachedVenvPath, ensureVenv } from './venv.js';

export const NIO_VERSION = '0.25.2';
export const LIBOLM_DEV: DebianTool = { pkg: 'libolm-dev', binary: '/usr/include/olm/olm.h' };

export function ensureE2eeClient(log?: (line: string) => void): string {
  ensureDebianPackages([LIBOLM_DEV]);
  return ensureVenv(cachedVenvPath(`nio-${NIO_VERSION}-venv`), {
    requirements: [`matrix-nio[e2e]==${NIO_VERSION}`],
    probe: 'import olm, nio; from importlib.metadata import version; print(version("matrix-nio"))',
    version: NIO_VERSION,
    what: 'matrix-nio with libolm',
  }, log);
}

/** A timeline event as nio saw it. */
export interface SeenEvent {
  room_id: string;
  event_id: string;
  sender: string;
  type: string;
  content: Record<string, unknown>;
  encrypted: boolean;
  decrypted: boolean;
  undecryptable: boolean;
  verified: boolean;
  sender_key: string | null;
}

export class E2eeClient {
  private nextId = 1;
  private readonly waiting = new Map<number, { resolve(v: unknown): void; reject(e: Error): void }>();
  private readonly proc: ChildProcessWithoutNullStreams;
  private stderr = '';

  constructor(homeserverUrl: string, readonly userId: string, password: string, storeDir: string) {
    const python = join(ensureE2eeClient(), 'bin', 'python');
    mkdirSync(storeDir, { recursive: true });
    const script = join(fileURLToPath(new URL('.', import.meta.url)), 'e2ee_client.py');
    this.proc = spawn(python, [script, homeserverUrl, userId, password, storeDir], { stdio: ['pipe', 'pipe', 'pipe'] });
    this.proc.stderr.on('data', (c: Buffer) => { this.stderr = (this.stderr + c.toString()).slice(-4000); });
    createInterface({ input: this.proc.stdout }).on('line', (line) => {
      const msg = JSON.parse(line) as { id: number; ok: boolean; result?: unknown; error?: string };
      const w = this.waiting.get(msg.id);
      this.waiting.delete(msg.id);
      if (msg.ok) w?.resolve(msg.result);
      else w?.reject(new Error(`nio client: ${msg.error}`));
    });
    this.proc.on('exit', (code) => {
      for (const w of this.waiting.values()) w.reject(new Error(`nio client exited (${code}): ${this.stderr}`));
      this.waiting.clear();
    });
  }

  private call<T>(cmd: string, args: Record<string, unknown> = {}): Promise<T> {
    const id = this.nextId++;
    return new Promise<T>((resolve, reject) => {
      this.waiting.set(id, { resolve: resolve as (v: unknown) => void, reject });
      this.proc.stdin.write(`${JSON.stringify({ id, cmd, ...args })}\n`);
    });
  }

  login(deviceName = 'nio test client'): Promise<{ device_id: string; ed25519: string }> {
    return this.call('login', { device_name: deviceName });
  }
  createRoom(opts: { name?: string; invite?: string[]; encrypted?: boolean; isDirect?: boolean }): Promise<string> {
    return this.call('create_room', { name: opts.name, invite: opts.invite ?? [], encrypted: opts.encrypted ?? true, is_direct: opts.isDirect ?? false });
  }
  join(room: string): Promise<string> {
    return this.call('join', { room });
  }
  send(room: string, content: Record<string, unknown>, type = 'm.room.message'): Promise<string> {
    return this.call('send', { room, content, type });
  }
  /** An image encrypted, uploaded and sent by nio as a `file` object. */
  sendImage(room: string, bytes: Uint8Array, mime: string, name: string): Promise<string> {
    return this.call('send_image', { room, bytes: Buffer.from(bytes).toString('base64'), mime, name });
  }
  /** The clear bytes of an encrypted file (downloaded and decrypted by nio). */
  async downloadDecrypt(file: Record<string, unknown>): Promise<Buffer> {
    return Buffer.from(await this.call<string>('download_decrypt', { file }), 'base64');
  }
  /** The next message in `room` starts a new Megolm session (its key is sent anew). */
  newSession(room: string): Promise<void> {
    return this.call('new_session', { room });
  }
  redact(room: string, event: string): Promise<string> {
    return this.call('redact', { room, event });
  }
  events(): Promise<SeenEvent[]> {
    return this.call('events');
  }
  deviceTrust(user: string): Promise<{ device_id: string; verified: boolean; ed25519: string }[]> {
    return this.call('device_trust', { user });
  }

  /** The first room this user was invited to that `match` accepts (by room id), waiting for it. */
  async waitForInvite(match: (roomId: string) => boolean = () => true, timeoutMs = 20_000): Promise<string> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const hit = (await this.call<string[]>('invites')).find(match);
      if (hit) return hit;
      if (Date.now() > deadline) throw new Error(`nio client got no invite in ${timeoutMs} ms`);
      await new Promise((r) => setTimeout(r, 100));
    }
  }

  /** Poll the events nio saw until one matches. */
  async waitFor(match: (e: SeenEvent) => boolean, timeoutMs = 20_000): Promise<SeenEvent> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const hit = (await this.events()).find(match);
      if (hit) return hit;
      if (Date.now() > deadline) throw new Error(`nio client saw no matching event in ${timeoutMs} ms; saw ${JSON.stringify((await this.events()).map((e) => [e.type, e.sender, e.content?.body]))}`);
      await new Promise((r) => setTimeout(r, 100));
    }
  }

  async close(): Promise<void> {
    if (this.proc.exitCode !== null) return;
    const exited = new Promise((r) => this.proc.once('exit', r));
    await this.call('close').catch(() => undefined);
    const timer = setTimeout(() => this.proc.kill('SIGKILL'), 3_000);
    await exited;
    clearTimeout(timer);
  }
}
