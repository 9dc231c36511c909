import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { silentLogger } from '../src/log/logger.js';
import { PrometheusMetrics } from '../src/metrics/prometheus.js';
import { systemClock } from '../src/resilience/clock.js';
import { Engine } from '../src/runtime/engine.js';
import { createJob } from '../src/runtime/jobs.js';
import { startSimulator } from '../src/simulator/server.js';
import type { Simulator } from '../src/simulator/server.js';
import { TEST_KEY, TEST_KEY_ENV, simulatorSuite } from './helpers/job.js';
import { useTempStore } from './helpers/temp.js';

/** How often the test reads the counters while the job runs, in ms. */
const SAMPLE_EVERY_MS = 20;
/** Longest wait for a condition, in ms. */
const WAIT_LIMIT_MS = 20_000;

/** Sum of every series of a counter in the registry. */
async function counterSum(metrics: PrometheusMetrics, name: string): Promise<number> {
  const all = await metrics.registry.getMetricsAsJSON();
  const metric = all.find((m) => m.name === name);
  return (metric?.values ?? []).reduce((sum, value) => sum + value.value, 0);
}

describe('metrics with cluster workers', () => {
  let sim: Simulator;
  const temp = useTempStore();
  let engine: Engine | undefined;

  beforeEach(async () => {
    sim = await startSimulator({ latencyMs: 60 });
  });
  afterEach(async () => {
    await engine?.close();
    engine = undefined;
    await sim.close();
  });

  it('counters never go down when a worker is killed with SIGKILL; the restart is counted', async () => {
    const metrics = new PrometheusMetrics();
    const suite = await simulatorSuite(sim, { models: 2, sequences: 5, prompts: 4, runs: 2 });
    const job = await createJob(temp.store, suite, 'generated.yaml');
    engine = await Engine.start({
      store: temp.store,
      log: silentLogger(),
      clock: systemClock,
      env: { ...process.env, [TEST_KEY_ENV]: TEST_KEY },
      workers: 2,
      dataDir: temp.dataDir,
      metrics,
    });
    // Booted, so that every sequence runs on a worker (none in this process).
    await engine.pool?.firstBoot;
    const running = engine;
    const counters = ['troupe_requests_total', 'troupe_turns_recorded_total', 'troupe_tokens_total'];
    const samples: number[][] = [];
    let done = false;
    const outcome = running.runJob(job).finally(() => {
      done = true;
    });
    const sampling = (async () => {
      while (!done) {
        samples.push(await Promise.all(counters.map((name) => counterSum(metrics, name))));
        await new Promise((resolve) => setTimeout(resolve, SAMPLE_EVERY_MS));
      }
    })();
    await expect.poll(() => sim.records.length, { timeout: WAIT_LIMIT_MS }).toBeGreaterThanOrEqual(25);
    // NaN, not 0, if it had no pid: kill(0) would signal this whole process group.
    process.kill(running.pool?.pids()['worker-1'] ?? Number.NaN, 'SIGKILL');
    expect((await outcome).state).toBe('done');
    await sampling;
    samples.push(await Promise.all(counters.map((name) => counterSum(metrics, name))));

    for (const [index, name] of counters.entries()) {
      const series = samples.map((sample) => sample[index] ?? 0);
      for (let i = 1; i < series.length; i += 1) {
        expect(series[i], `${name} went down at sample ${i}`).toBeGreaterThanOrEqual(series[i - 1] ?? 0);
      }
    }
    expect(await counterSum(metrics, 'troupe_turns_recorded_total')).toBe(80);
    expect(await counterSum(metrics, 'troupe_worker_restarts_total')).toBe(1);
    // Every attempt the provider answered is counted, the in-flight ones of the dead worker included.
    expect(await counterSum(metrics, 'troupe_requests_total')).toBeGreaterThanOrEqual(80);
  });
});
