/**
 * `/metrics` (Prometheus text), `/ready` and `/health` for load balancers and dashboards.
 * Served on the appservice port, or with `metrics.bind_address` on a listener of their
 * own (so a reverse proxy in front of the appservice port never exposes them).
 * `/health` says the process answers; `/ready` says it can do its work: the homeserver
 * answers, the store takes writes, and this process is the one doing the work (leader).
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { Logger } from '../adapter.js';
import { sendJson } from '../matrix/listener.js';
import type { Metrics } from './metrics.js';

export interface ReadinessChecks {
  homeserver(): Promise<boolean>;
  store(): boolean;
  leader(): boolean;
}

export interface ReadinessReport {
  ready: boolean;
  homeserver: boolean;
  store: boolean;
  leader: boolean;
}

/** How long a homeserver probe's answer is reused: `/ready` is unauthenticated and must not become a way to flood the homeserver. */
const HOMESERVER_PROBE_REUSE_MS = 2_000;

export class Readiness {
  private probe: { at: number; answer: Promise<boolean> } | undefined;

  constructor(private readonly checks: ReadinessChecks) {}

  async report(): Promise<ReadinessReport> {
    const now = Date.now();
    if (!this.probe || now - this.probe.at > HOMESERVER_PROBE_REUSE_MS) this.probe = { at: now, answer: this.checks.homeserver().catch(() => false) };
    const homeserver = await this.probe.answer;
    const store = this.checks.store();
    const leader = this.checks.leader();
    return { ready: homeserver && store && leader, homeserver, store, leader };
  }
}

const PATHS = new Set(['/metrics', '/ready', '/health']);

export class HealthEndpoints {
  /** `metrics` undefined: `/metrics` is not served (metrics off, or served elsewhere). */
  constructor(private readonly readiness: Readiness, private readonly metrics: Metrics | undefined, private readonly log: Logger) {}

  /** For the appservice listener: `/ready`, and `/metrics` when they are served there. */
  owns = (path: string): boolean => path === '/ready' || (path === '/metrics' && this.metrics !== undefined);

  handle = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const path = (req.url ?? '/').split('?')[0]!;
    if (req.method !== 'GET' && req.method !== 'HEAD') return sendJson(res, 405, { errcode: 'M_UNRECOGNIZED', error: 'use GET' });
    if (path === '/health') return sendJson(res, 200, { status: 'ok' });
    if (path === '/ready') {
      const report = await this.readiness.report();
      return sendJson(res, report.ready ? 200 : 503, report);
    }
    if (path === '/metrics' && this.metrics) {
      const text = await this.metrics.text();
      res.writeHead(200, { 'content-type': this.metrics.contentType, 'content-length': Buffer.byteLength(text) });
      res.end(text);
      return;
    }
    sendJson(res, 404, { errcode: 'M_NOT_FOUND', error: 'not here' });
  };

  /** A listener of their own (`metrics.bind_address`): `/metrics`, `/ready` and `/health`, nothing else. */
  async listen(host: string, port: number): Promise<{ server: Server; port: number }> {
    const server = createServer((req, res) => {
      const path = (req.url ?? '/').split('?')[0]!;
      if (!PATHS.has(path)) return sendJson(res, 404, { errcode: 'M_NOT_FOUND', error: 'not here' });
      this.handle(req, res).catch((err: unknown) => {
        this.log.error({ err: String(err) }, 'metrics request failed');
        sendJson(res, 500, { errcode: 'M_UNKNOWN', error: 'internal error' });
      });
    });
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(port, host, () => resolve());
    });
    const addr = server.address();
    return { server, port: typeof addr === 'object' && addr ? addr.port : port };
  }
}
