/** contrib/grafana/switchboard.json asks only for metrics the bridge exports (their PromQL is run against a real Prometheus in metrics.e2e). */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import { Metrics } from '../../core/metrics/metrics.js';

function dashboardQueries(): string[] {
  const dashboard = JSON.parse(readFileSync(new URL('../../contrib/grafana/switchboard.json', import.meta.url), 'utf8')) as { panels: { targets: { expr: string }[] }[] };
  return dashboard.panels.flatMap((p) => p.targets.map((t) => t.expr));
}

describe('the Grafana dashboard', () => {
  it('every metric a panel queries is one the bridge exports', async () => {
    const metrics = new Metrics({ processMetrics: true });
    metrics.sample({ inbox: () => ({ pending: 0, parked: 0 }), queues: () => ({ max: 0, sum: 0 }), logins: () => [] });
    const exported = new Set((await metrics.registry.getMetricsAsJSON()).map((m) => m.name));
    const queried = new Set(dashboardQueries().flatMap((e) => [...e.matchAll(/\b(switchboard_[a-z0-9_]+)/g)].map((m) => m[1]!.replace(/_(bucket|count|sum)$/, ''))));
    assert.ok(queried.size >= 10, `${queried.size} metrics queried`);
    for (const name of queried) assert.ok(exported.has(name), `the dashboard queries ${name}, which the bridge does not export`);
  });
});
