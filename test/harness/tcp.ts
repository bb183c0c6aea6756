/** Small TCP helpers for readiness probes and line-based protocol smoke checks. */
import { connect, type Socket } from 'node:net';

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
