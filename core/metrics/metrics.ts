/**
 * What an admin's dashboard reads, in Prometheus' format (prom-client). Every label value
 * is one the bridge chose itself (network ids from the config, fixed outcome and state
 * names), never text from the homeserver or a remote network, so no sender can add a time
 * series. Each bridge has its own registry: two in one process (tests) never collide.
 */
import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client';
import type { InboxDirection } from '../store/store.js';

/** What became of an event the bridge took on (docs/operations.md explains each). */
export type BridgedOutcome = 'sent' | 'fallback' | 'ignored' | 'dropped' | 'parked';
/** How a failed attempt is retried (core/pipeline/outcome.ts). */
export type FailureKind = 'outage' | 'refused' | 'retry';

/** Read when Prometheus scrapes, so nothing is counted twice or kept up to date between scrapes. */
export interface MetricsSources {
  inbox(): { pending: number; parked: number };
  queues(): { max: number; sum: number };
  logins(): { network: string; state: string }[];
}

const LATENCY_BUCKETS = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30];
const DELIVERY_BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300, 1800];
const COMMIT_BUCKETS = [0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.5];

/** `matrix` rows go from Matrix to a network; `remote` rows the other way. */
const way = (d: InboxDirection) => (d === 'matrix' ? 'matrix_to_remote' : 'remote_to_matrix');

/**
 * Label sets are few (networks x directions x outcomes); prom-client hashes the labels of
 * every call, which showed as 10-20% of the pipeline's time per message (docs/performance.md),
 * so each set's child is looked up once and kept.
 */
function children<T>(make: (...values: string[]) => T): (...values: string[]) => T {
  const made = new Map<string, T>();
  return (...values) => {
    const key = values.join('\u0000');
    let child = made.get(key);
    if (!child) made.set(key, (child = make(...values)));
    return child;
  };
}

export class Metrics {
  readonly registry = new Registry();
  private readonly messages;
  private readonly handlerSeconds;
  private readonly deliverySeconds;
  private readonly failures;
  private readonly floodWaits;
  private readonly floodWaitSeconds;
  private readonly transactions;
  private readonly transactionSeconds;
  private readonly commitSeconds;
  private readonly decryptions;
  private readonly keyWaitSeconds;
  private readonly messageChild;
  private readonly attemptChild;
  private readonly deliveryChild;

  constructor(opts: { processMetrics?: boolean } = {}) {
    const registers = [this.registry];
    this.messages = new Counter({ name: 'switchboard_messages_total', help: 'Events the bridge took on, by network, direction and what became of them', labelNames: ['network', 'direction', 'outcome'], registers });
    this.handlerSeconds = new Histogram({ name: 'switchboard_handler_seconds', help: 'Time one attempt at an event took (conversion and sending)', labelNames: ['direction'], buckets: LATENCY_BUCKETS, registers });
    this.deliverySeconds = new Histogram({ name: 'switchboard_delivery_seconds', help: 'From the event\'s origin timestamp (or its receipt) until it was delivered', labelNames: ['network', 'direction'], buckets: DELIVERY_BUCKETS, registers });
    this.failures = new Counter({ name: 'switchboard_delivery_failures_total', help: 'Failed attempts, by the side that failed (homeserver for remote_to_matrix, the network for matrix_to_remote) and how they are retried', labelNames: ['network', 'direction', 'kind'], registers });
    this.floodWaits = new Counter({ name: 'switchboard_flood_waits_total', help: 'Times the other side asked the bridge to slow down', labelNames: ['network', 'direction'], registers });
    this.floodWaitSeconds = new Counter({ name: 'switchboard_flood_wait_seconds_total', help: 'Seconds the other side asked the bridge to wait', labelNames: ['network', 'direction'], registers });
    this.transactions = new Counter({ name: 'switchboard_appservice_transactions_total', help: 'Appservice transactions from the homeserver, by whether they were recorded', labelNames: ['outcome'], registers });
    this.transactionSeconds = new Histogram({ name: 'switchboard_appservice_transaction_seconds', help: 'Time from a transaction\'s arrival to its answer (recorded durably)', buckets: LATENCY_BUCKETS, registers });
    this.decryptions = new Counter({ name: 'switchboard_decryptions_total', help: 'Encrypted Matrix events, by whether they were decrypted at once, after waiting for their key, or never', labelNames: ['outcome'], registers });
    this.keyWaitSeconds = new Histogram({ name: 'switchboard_decryption_key_wait_seconds', help: 'How long encrypted events that had to wait for their key waited (decrypted or given up)', buckets: DELIVERY_BUCKETS, registers });
    this.commitSeconds = new Histogram({ name: 'switchboard_store_commit_seconds', help: 'Time one group commit of the store took', buckets: COMMIT_BUCKETS, registers });
    this.messageChild = children((network, direction, outcome) => this.messages.labels({ network: network!, direction: direction!, outcome: outcome! }));
    this.attemptChild = children((direction) => this.handlerSeconds.labels({ direction: direction! }));
    this.deliveryChild = children((network, direction) => this.deliverySeconds.labels({ network: network!, direction: direction! }));
    if (opts.processMetrics) collectDefaultMetrics({ register: this.registry, prefix: 'switchboard_' });
  }

  /** Gauges read from the bridge at scrape time. */
  sample(sources: MetricsSources): void {
    const registers = [this.registry];
    new Gauge({
      name: 'switchboard_inbox_rows', help: 'Inbox rows waiting (pending) or given up on (parked)', labelNames: ['state'], registers,
      collect() {
        const { pending, parked } = sources.inbox();
        this.set({ state: 'pending' }, pending);
        this.set({ state: 'parked' }, parked);
      },
    });
    new Gauge({
      name: 'switchboard_portal_queue_depth', help: 'Events queued or running in portal queues: the longest queue (max) and all of them (sum)', labelNames: ['stat'], registers,
      collect() {
        const { max, sum } = sources.queues();
        this.set({ stat: 'max' }, max);
        this.set({ stat: 'sum' }, sum);
      },
    });
    new Gauge({
      name: 'switchboard_logins', help: 'Logins by network and connection state', labelNames: ['network', 'state'], registers,
      collect() {
        this.reset();
        const counts = new Map<string, { network: string; state: string; n: number }>();
        for (const l of sources.logins()) {
          const key = `${l.network}\u0000${l.state}`;
          const c = counts.get(key) ?? { network: l.network, state: l.state, n: 0 };
          c.n++;
          counts.set(key, c);
        }
        for (const c of counts.values()) this.set({ network: c.network, state: c.state }, c.n);
      },
    });
  }

  bridged(network: string, direction: InboxDirection, outcome: BridgedOutcome): void {
    this.messageChild(network, way(direction), outcome).inc();
  }

  attemptTook(direction: InboxDirection, seconds: number): void {
    this.attemptChild(way(direction)).observe(seconds);
  }

  delivered(network: string, direction: InboxDirection, seconds: number): void {
    this.deliveryChild(network, way(direction)).observe(Math.max(0, seconds));
  }

  failed(network: string, direction: InboxDirection, kind: FailureKind): void {
    this.failures.inc({ network, direction: way(direction), kind });
  }

  floodWait(network: string, direction: InboxDirection, seconds: number): void {
    this.floodWaits.inc({ network, direction: way(direction) });
    this.floodWaitSeconds.inc({ network, direction: way(direction) }, seconds);
  }

  transaction(outcome: 'recorded' | 'failed', seconds: number): void {
    this.transactions.inc({ outcome });
    this.transactionSeconds.observe(seconds);
  }

  /** One encrypted event opened (or given up on); `waitedSeconds` > 0 when it waited for its key. */
  decryption(outcome: 'decrypted' | 'decrypted_after_wait' | 'failed', waitedSeconds: number): void {
    this.decryptions.inc({ outcome });
    if (waitedSeconds > 0) this.keyWaitSeconds.observe(waitedSeconds);
  }

  committed(seconds: number): void {
    this.commitSeconds.observe(seconds);
  }

  /** The text Prometheus scrapes. */
  text(): Promise<string> {
    return this.registry.metrics();
  }

  get contentType(): string {
    return this.registry.contentType;
  }
}
