/**
 * A real Prometheus (Debian's `prometheus` package) on 127.0.0.1 scraping the bridge every
 * second, with its data in a temp dir: tests ask it through its HTTP API what it scraped,
 * as an admin's dashboard would.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { ensureDebianPackages, PROMETHEUS } from './apt.js';
import { freePort, spawnServer, waitReady, type ServerProcess } from './proc.js';

export interface PromSample {
  metric: Record<string, string>;
  value: [number, string];
}

export class Prometheus {
  private proc: ServerProcess | undefined;

  private constructor(readonly dir: string, readonly port: number) {}

  /** `targets`: host:port addresses serving `/metrics`. */
  static async create(opts: { dir: string; targets: string[] }): Promise<Prometheus> {
    ensureDebianPackages([PROMETHEUS]);
    const p = new Prometheus(opts.dir, await freePort());
    writeFileSync(join(opts.dir, 'prometheus.yml'), `# Written by the Switchboard test harness.
global:
  scrape_interval: 1s
  evaluation_interval: 1s
scrape_configs:
  - job_name: switchboard
    static_configs:
      - targets: [${opts.targets.map((t) => JSON.stringify(t)).join(', ')}]
`);
    return p;
  }

  get url(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  async start(timeoutMs = 30_000): Promise<void> {
    this.proc = spawnServer('prometheus', PROMETHEUS.binary, [
      `--config.file=${join(this.dir, 'prometheus.yml')}`,
      `--storage.tsdb.path=${join(this.dir, 'data')}`,
      `--web.listen-address=127.0.0.1:${this.port}`,
    ], { cwd: this.dir, logFile: join(this.dir, 'prometheus.log') });
    await waitReady(this.proc, `port ${this.port}`, async () => (await fetch(`${this.url}/-/ready`).catch(() => undefined))?.ok === true, timeoutMs);
  }

  /** An instant query through the HTTP API (`/api/v1/query`). */
  async query(promql: string): Promise<PromSample[]> {
    const res = await fetch(`${this.url}/api/v1/query?query=${encodeURIComponent(promql)}`);
    const body = (await res.json()) as { status: string; error?: string; data?: { result: PromSample[] } };
    if (body.status !== 'success') throw new Error(`prometheus query ${promql} failed: ${body.error}`);
    return body.data!.result;
  }

  /** Query until `accept` takes the answer (scrapes come every second), or fail after `timeoutMs`. */
  async waitFor(promql: string, accept: (samples: PromSample[]) => boolean, timeoutMs = 30_000): Promise<PromSample[]> {
    const deadline = Date.now() + timeoutMs;
    let last: PromSample[] = [];
    while (Date.now() < deadline) {
      last = await this.query(promql);
      if (accept(last)) return last;
      await new Promise((r) => setTimeout(r, 500));
    }
    throw new Error(`prometheus: ${promql} never gave what was expected; last answer ${JSON.stringify(last)}`);
  }

  async stop(): Promise<void> {
    await this.proc?.stop();
  }
}
