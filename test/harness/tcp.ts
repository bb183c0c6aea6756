/** Small TCP helpers for readiness probes and line-based protocol smoke checks. */
import { connect, createServer, type AddressInfo, type Server, type Socket } from 'node:net';

export function canConnect(port: number, host = '127.0.0.1'): Promise<boolean> {
  return new Promise((resolve) => {
    const s = connect({ port, host });
    s.once('connect', () => {
      s.destroy();
      resolve(true);
    });
    s.once('error', () => resolve(false));
  });
}

/** Collects what a socket receives and waits for a pattern in it. */
export class Conversation {
  private received = '';
  private wake: (() => void) | undefined;
  private closed = false;

  constructor(readonly socket: Socket) {
    socket.setEncoding('utf8');
    socket.on('data', (d: string) => this.push(d));
    socket.on('close', () => {
      this.closed = true;
      this.wake?.();
    });
    socket.on('error', () => undefined);
  }

  push(d: string): void {
    this.received += d;
    this.wake?.();
  }

  send(text: string): void {
    this.socket.write(text);
  }

  /** Resolve with the match once `pattern` appears in what was received since the last expect. */
  async expect(pattern: RegExp, timeoutMs = 10_000): Promise<RegExpExecArray> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const m = pattern.exec(this.received);
      if (m) {
        this.received = this.received.slice(m.index + m[0].length);
        return m;
      }
      if (this.closed) throw new Error(`connection closed before ${pattern}; got: ${this.received.slice(-500)}`);
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`no ${pattern} within ${timeoutMs} ms; got: ${this.received.slice(-500)}`);
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, left);
        this.wake = () => {
          clearTimeout(t);
          resolve();
        };
      });
    }
  }
}

/**
 * A TCP relay in front of a server whose connections a test can cut, as a failing
 * network does: neither side closes its XML stream, the sockets just end. While
 * `refusing`, new connections are closed at once (the network is still down).
 */
export class CuttableProxy {
  private readonly pairs = new Set<[Socket, Socket]>();
  refusing = false;

  private constructor(private readonly server: Server) {}

  static async start(targetPort: number): Promise<CuttableProxy> {
    const server = createServer();
    const proxy = new CuttableProxy(server);
    server.on('connection', (inbound) => {
      if (proxy.refusing) return void inbound.destroy();
      const outbound = connect({ port: targetPort, host: '127.0.0.1' });
      const pair: [Socket, Socket] = [inbound, outbound];
      proxy.pairs.add(pair);
      const end = () => {
        proxy.pairs.delete(pair);
        inbound.destroy();
        outbound.destroy();
      };
      for (const s of pair) {
        s.on('error', end);
        s.on('close', end);
      }
      inbound.pipe(outbound);
      outbound.pipe(inbound);
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    return proxy;
  }

  get port(): number {
    return (this.server.address() as AddressInfo).port;
  }

  /** Drop every open connection. */
  cut(): void {
    for (const [a, b] of [...this.pairs]) {
      a.destroy();
      b.destroy();
    }
    this.pairs.clear();
  }

  async stop(): Promise<void> {
    this.cut();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }
}
