/**
 * A proxy between Synapse and the bridge's appservice port that can make room keys late:
 * while `holdingKeys`, the to-device messages of each transaction (MSC2409, both names)
 * are taken out and kept, the rest goes through at once; `releaseKeys()` delivers the
 * kept ones to the bridge as a transaction of their own, as a homeserver does when a key
 * was sent after the message it opens. Everything else is passed through untouched.
 */
import { createServer, request, type IncomingMessage, type Server } from 'node:http';
import { freePort } from './proc.js';

const TO_DEVICE = ['to_device', 'de.sorunome.msc2409.to_device'];
const TRANSACTION = /^\/_matrix\/app\/v1\/transactions\/[^/?]+/;

export class TransactionProxy {
  holdingKeys = false;
  private held: unknown[] = [];
  private authorization = '';
  /** The name the homeserver gave them (stable or unstable), used again on release. */
  private key = TO_DEVICE[0]!;
  private released = 0;

  private constructor(private readonly server: Server, readonly port: number, private readonly target: () => number) {}

  /** `target` gives the bridge's port at the time of each request. */
  static async start(target: () => number): Promise<TransactionProxy> {
    const port = await freePort();
    let proxy!: TransactionProxy;
    const server = createServer((req, res) => {
      void proxy.handle(req).then(({ status, headers, body }) => {
        res.writeHead(status, headers);
        res.end(body);
      }, () => {
        res.writeHead(502);
        res.end();
      });
    });
    proxy = new TransactionProxy(server, port, target);
    await new Promise<void>((resolve) => server.listen(port, '127.0.0.1', resolve));
    return proxy;
  }

  get url(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  /** How many to-device messages are being kept back. */
  get heldCount(): number {
    return this.held.length;
  }

  /** The kept to-device messages, in their own transaction; resolves once the bridge answered it. */
  async releaseKeys(): Promise<void> {
    const toDevice = this.held;
    this.held = [];
    if (!toDevice.length) return;
    const body = Buffer.from(JSON.stringify({ events: [], [this.key]: toDevice }));
    const res = await this.forward('PUT', `/_matrix/app/v1/transactions/late-keys-${++this.released}`, { authorization: this.authorization, 'content-type': 'application/json' }, body);
    if (res.status !== 200) throw new Error(`the bridge answered the late keys with HTTP ${res.status}`);
  }

  async stop(): Promise<void> {
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  private async handle(req: IncomingMessage): Promise<{ status: number; headers: Record<string, string>; body: Buffer }> {
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    let body = Buffer.concat(chunks);
    if (this.holdingKeys && req.method === 'PUT' && TRANSACTION.test(req.url ?? '')) {
      const txn = JSON.parse(body.toString('utf8')) as Record<string, unknown>;
      const key = TO_DEVICE.find((k) => Array.isArray(txn[k]) && (txn[k] as unknown[]).length);
      if (key) {
        this.key = key;
        this.held.push(...(txn[key] as unknown[]));
        this.authorization = String(req.headers.authorization ?? '');
        for (const k of TO_DEVICE) delete txn[k];
        body = Buffer.from(JSON.stringify(txn));
      }
    }
    const headers: Record<string, string> = {};
    for (const [k, v] of Object.entries(req.headers)) if (typeof v === 'string' && k !== 'host' && k !== 'content-length') headers[k] = v;
    return this.forward(req.method ?? 'GET', req.url ?? '/', headers, body);
  }

  private forward(method: string, path: string, headers: Record<string, string>, body: Buffer): Promise<{ status: number; headers: Record<string, string>; body: Buffer }> {
    return new Promise((resolve, reject) => {
      const out = request({ host: '127.0.0.1', port: this.target(), method, path, headers: { ...headers, 'content-length': String(body.length) } }, (res) => {
        const parts: Buffer[] = [];
        res.on('data', (c: Buffer) => parts.push(c));
        res.on('end', () => {
          const h: Record<string, string> = {};
          for (const [k, v] of Object.entries(res.headers)) if (typeof v === 'string' && k !== 'content-length' && k !== 'transfer-encoding') h[k] = v;
          resolve({ status: res.statusCode ?? 502, headers: h, body: Buffer.concat(parts) });
        });
        res.on('error', reject);
      });
      out.on('error', reject);
      out.end(body);
    });
  }
}
