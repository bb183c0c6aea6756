/**
 * Metrics as an admin's monitoring sees them: the bridge (real Synapse, loopback network)
 * serves `/metrics` on a port of its own, a real Prometheus scrapes it every second, and
 * the test asks Prometheus, through its HTTP API, what it scraped. Also `/ready`, and the
 * `parked` / `retry` admin commands through Synapse. The bridge runs on the PostgreSQL
 * store here (a harness-started cluster), so `/ready`'s store check is PostgreSQL's.
 */
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { mkdirSync, readFileSync } from 'node:fs';
import { after, before, describe, it } from 'node:test';
import type { MatrixTestClient } from '../harness/matrix-client.js';
import { REPO_ROOT } from '../harness/bridge.js';
import { freePort } from '../harness/proc.js';
import { Prometheus } from '../harness/prometheus.js';
import { Stack } from '../harness/stack.js';

const ADMIN = '@alice:switchboard.test';

describe('metrics scraped by a real Prometheus', { timeout: 300_000 }, () => {
  let stack: Stack;
  let prometheus: Prometheus;
  let alice: MatrixTestClient;
  let metricsPort: number;
  let dmRoom: string;

  before(async () => {
    metricsPort = await freePort();
    // On PostgreSQL: this suite is also the end-to-end run of the PostgreSQL store (the others run on SQLite).
    stack = await Stack.start({
      postgres: true,
      bridge: {
        loopback: { puppets: [{ owner: ADMIN, user: 'alice' }] },
        permissions: { '*': 'relay', 'switchboard.test': 'user', [ADMIN]: 'admin' },
        extra: { metrics: { enabled: true, bind_address: `127.0.0.1:${metricsPort}` }, bridge: { permissions: { '*': 'relay', 'switchboard.test': 'user', [ADMIN]: 'admin' }, retry: { max_attempts: 2, base_delay_ms: 50, max_delay_ms: 100 } } },
      },
    });
    const dir = join(stack.dir, 'prometheus');
    mkdirSync(dir, { recursive: true });
    prometheus = await Prometheus.create({ dir, targets: [`127.0.0.1:${metricsPort}`] });
    await prometheus.start();
    alice = await stack.user('alice');
    await stack.loopback.addUser('bob', 'Bob');
  });

  after(async () => {
    await alice?.stop();
    await prometheus?.stop();
    await stack?.stop();
  });

  it('the bridge runs on the PostgreSQL store', () => {
    assert.match(stack.bridge.process!.output(), /"store":"postgres:\/\/127\.0\.0\.1:\d+\/switchboard"/);
  });

  it('Prometheus scrapes the bridge: up, process metrics, logins by state', async () => {
    await prometheus.waitFor('up{job="switchboard"}', (r) => r[0]?.value[1] === '1');
    await prometheus.waitFor('switchboard_process_resident_memory_bytes', (r) => Number(r[0]?.value[1]) > 10_000_000);
    await prometheus.waitFor('switchboard_logins{network="loopback",state="connected"}', (r) => r[0]?.value[1] === '2', 15_000);
  });

  it('messages bridged each way are counted, and Prometheus answers a query over them', async (t) => {
    for (const text of ['one', 'two', 'three']) await stack.loopback.dm('bob', 'alice', text);
    dmRoom = await alice.waitForInvite(() => true);
    await alice.join(dmRoom);
    await alice.waitFor((e) => e.room_id === dmRoom && e.content.body === 'three', 'the third message');
    await alice.sendText(dmRoom, 'back to bob');
    await stack.loopback.waitFromBridge((e) => e.event.type === 'message' && e.event.content.text === 'back to bob');
    const query = 'sum by (outcome) (switchboard_messages_total{network="loopback",direction="remote_to_matrix"})';
    const toMatrix = await prometheus.waitFor(query, (r) => r.some((s) => s.metric.outcome === 'sent' && Number(s.value[1]) >= 3));
    // The evidence an admin would look at: the scraped text and Prometheus' answer.
    const scraped = await (await fetch(`http://127.0.0.1:${metricsPort}/metrics`)).text();
    t.diagnostic(`curl /metrics (excerpt):\n${scraped.split('\n').filter((l) => /^switchboard_(messages_total|inbox_rows|logins|appservice_transactions_total)/.test(l)).join('\n')}`);
    t.diagnostic(`Prometheus /api/v1/query?query=${query}:\n${JSON.stringify(toMatrix)}`);
    assert.ok(toMatrix.every((s) => ['sent', 'ignored', 'fallback'].includes(s.metric.outcome!)), JSON.stringify(toMatrix));
    await prometheus.waitFor('switchboard_messages_total{network="loopback",direction="matrix_to_remote",outcome="sent"}', (r) => Number(r[0]?.value[1]) >= 1);
    await prometheus.waitFor('sum(switchboard_appservice_transactions_total{outcome="recorded"})', (r) => Number(r[0]?.value[1]) >= 1);
    // A histogram read as a dashboard does: the 99th percentile of delivery time so far, in seconds.
    const p99 = await prometheus.waitFor('histogram_quantile(0.99, sum by (le) (switchboard_delivery_seconds_bucket))', (r) => Number.isFinite(Number(r[0]?.value[1])));
    assert.ok(Number(p99[0]!.value[1]) < 30, `p99 delivery ${p99[0]!.value[1]} s`);
  });

  it('every query of the Grafana dashboard runs on this Prometheus and finds series', async () => {
    const dashboard = JSON.parse(readFileSync(join(REPO_ROOT, 'contrib', 'grafana', 'switchboard.json'), 'utf8')) as { panels: { title: string; targets: { expr: string }[] }[] };
    for (const panel of dashboard.panels) {
      for (const { expr } of panel.targets) {
        const query = expr.replaceAll('$job', '.+');
        const answer = await prometheus.query(query); // throws on a PromQL error
        // Rates need two scrapes of a change; a plain selector must find its series now.
        if (!/rate\(|quantile|vector\(0\)|state!=/.test(expr)) assert.ok(answer.length > 0, `"${panel.title}": ${query} found nothing`);
      }
    }
  });

  it('/ready answers 200 with every check passing; /health and /metrics on the metrics port', async () => {
    const ready = await fetch(`http://127.0.0.1:${metricsPort}/ready`);
    assert.equal(ready.status, 200);
    assert.deepEqual(await ready.json(), { ready: true, homeserver: true, store: true, leader: true });
    assert.equal((await fetch(`${stack.bridge.url}/ready`)).status, 200, 'also on the appservice port');
    assert.equal((await fetch(`${stack.bridge.url}/metrics`)).status, 404, 'metrics stay on their own port');
  });

  it('a parked event shows in the inbox gauge and in "parked", and "retry" delivers it', async () => {
    await stack.loopback.call('PUT', '/refuse', { text: 'parked one' });
    await alice.sendText(dmRoom, 'parked one');
    await prometheus.waitFor('switchboard_inbox_rows{state="parked"}', (r) => r[0]?.value[1] === '1');
    await prometheus.waitFor('switchboard_messages_total{network="loopback",direction="matrix_to_remote",outcome="parked"}', (r) => r[0]?.value[1] === '1');
    const mgmt = await alice.createRoom({ is_direct: true, invite: [stack.botUserId], preset: 'trusted_private_chat' });
    await alice.waitFor((e) => e.room_id === mgmt && e.state_key === stack.botUserId && e.content.membership === 'join', 'the bot joining');
    const ask = async (text: string) => {
      const sent = await alice.sendText(mgmt, text);
      const i = () => alice.events.findIndex((e) => e.event_id === sent);
      const ev = await alice.waitFor((e) => e.room_id === mgmt && e.sender === stack.botUserId && e.type === 'm.room.message' && i() >= 0 && alice.events.indexOf(e) > i(), `the answer to "${text}"`);
      return String(ev.content.body);
    };
    const list = await ask('parked');
    const seq = /#(\d+) Matrix → loopback/.exec(list)?.[1];
    assert.ok(seq, list);
    assert.match(list, /loopback refuses messages containing "parked one"/);
    await stack.loopback.call('PUT', '/refuse', {});
    assert.equal(await ask(`retry ${seq}`), `#${seq} is queued again.`);
    await stack.loopback.waitFromBridge((e) => e.event.type === 'message' && e.event.content.text === 'parked one');
    await prometheus.waitFor('switchboard_inbox_rows{state="parked"}', (r) => r[0]?.value[1] === '0');
  });
});

