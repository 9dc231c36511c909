import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PrometheusMetrics } from '../src/metrics/prometheus.js';
import { startMetricsServer } from '../src/metrics/server.js';
import type { MetricsServer } from '../src/metrics/server.js';
import { promtoolCheckMetrics, skipWithout } from './helpers/prometheus.js';

const skip = skipWithout('promtool');
if (skip) console.warn(`metrics-promtool: ${skip}`);

/** Every kind of observation, with label values that need escaping in the exposition. */
function observeEverything(metrics: PrometheusMetrics): void {
  const models = ['small', 'model "quoted"', 'back\\slash', 'ünïcode-モデル'];
  for (const [i, model] of models.entries()) {
    for (const outcome of ['ok', 'rate_limited', 'server_error', 'timeout', 'client_error'] as const) {
      metrics.attempt({
        provider: 'oai',
        model,
        outcome,
        latencySeconds: 0.1 * (i + 1),
        inputTokens: 100,
        outputTokens: 20,
        costUsd: 0.001,
      });
    }
    metrics.setTurnsTotal('20261127-0012-k3f9q2', model, 30);
    metrics.turnsRecorded('20261127-0012-k3f9q2', model, 'ok', 3);
  }
  metrics.setInFlight('oai', 4);
  metrics.setPermitsWaiting('oai', 2);
  metrics.permitWait('oai', 1.5);
  metrics.setLimit('oai', 'requests_per_minute', 500);
  metrics.setLimit('oai', 'tokens_per_minute', 200_000);
  metrics.setLimit('oai', 'concurrency', 20);
  metrics.setBreakerState('oai', 1);
  metrics.setJobProgress('20261127-0012-k3f9q2', 0.1, 120);
  metrics.workerRestarted();
  metrics.checkpointWrite(0.002);
}

describe.skipIf(skip)('metrics exposition', () => {
  let server: MetricsServer;
  let metrics: PrometheusMetrics;

  beforeAll(async () => {
    metrics = new PrometheusMetrics();
    server = await startMetricsServer({
      port: 0,
      registry: metrics.registry,
      ready: () => ({ ok: true, reasons: [] }),
    });
  });
  afterAll(async () => {
    await server.close();
  });

  it('passes promtool check metrics, as served on /metrics, before and after observations', async () => {
    const before = await (await fetch(`http://127.0.0.1:${server.port}/metrics`)).text();
    const fresh = await promtoolCheckMetrics(before);
    expect(fresh.output).toBe('');
    expect(fresh.code).toBe(0);

    observeEverything(metrics);
    const after = await (await fetch(`http://127.0.0.1:${server.port}/metrics`)).text();
    expect(after).toContain('model="model \\"quoted\\""');
    const checked = await promtoolCheckMetrics(after);
    expect(checked.output).toBe('');
    expect(checked.code).toBe(0);
  });

  it('promtool does reject a bad exposition (the check is not vacuous)', async () => {
    const bad = '# TYPE troupe_bad_total gauge\ntroupe_bad_total 1\n';
    const checked = await promtoolCheckMetrics(bad);
    expect(checked.code).not.toBe(0);
    expect(checked.output).toMatch(/_total/);
  });
});
