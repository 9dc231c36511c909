import { describe, expect, it } from 'vitest';
import { silentLogger } from '../src/log/logger.js';
import { PrometheusMetrics } from '../src/metrics/prometheus.js';
import { systemClock } from '../src/resilience/clock.js';
import { Engine } from '../src/runtime/engine.js';
import { createJob } from '../src/runtime/jobs.js';
import { parseSuite } from '../src/suite/load.js';
import { useTempStore } from './helpers/temp.js';

/** 2 sequences × 2 prompts × 3 runs = 12 turns of the one model. */
const SUITE = `name: resume-counts
runs: 3
providers:
  sim: { type: simulated, latencyMs: 0 }
models:
  - { id: m, provider: sim, model: sim-model }
sequences:
  - { id: a, prompts: ["one", "two"] }
  - { id: b, prompts: ["one", "two"] }
`;
const TURNS = 12;

/** The value of one sample of the registry, or undefined. */
async function sample(
  metrics: PrometheusMetrics,
  name: string,
  labels: Record<string, string>,
): Promise<number | undefined> {
  const family = (await metrics.registry.getMetricsAsJSON()).find((m) => m.name === name);
  const wanted = JSON.stringify(Object.entries(labels).sort());
  return family?.values.find((s) => JSON.stringify(Object.entries(s.labels).sort()) === wanted)?.value;
}

describe('a resumed job counts the turns it found in the store once', () => {
  const temp = useTempStore();

  it('exports every stored turn once, and shows the job complete', async () => {
    const { suite } = await parseSuite(SUITE, 'resume.yaml', () => Promise.reject(new Error('none')));
    const job = await createJob(temp.store, suite, 'resume.yaml');
    const start = (metrics?: PrometheusMetrics) =>
      Engine.start({
        store: temp.store,
        log: silentLogger(),
        clock: systemClock,
        env: {},
        ...(metrics && { metrics }),
      });

    const first = await start();
    expect(await first.runJob(job)).toEqual({ state: 'done' });
    await first.close();
    expect(temp.store.turnsOf(job.id)).toHaveLength(TURNS);

    // As after a crash just before the job's end was written: every turn is stored, the job is not done.
    await temp.store.putJob({ ...job, state: 'running', finishedAt: null });
    const metrics = new PrometheusMetrics({ defaultMetrics: false });
    const second = await start(metrics);
    expect(await second.runJob({ ...job, state: 'running' })).toEqual({ state: 'done' });
    await second.close();

    const labels = { job_id: job.id, model: 'm' };
    expect(await sample(metrics, 'troupe_turns_recorded_total', { ...labels, status: 'ok' })).toBe(TURNS);
    expect(await sample(metrics, 'troupe_turns_planned', labels)).toBe(TURNS);
    expect(await sample(metrics, 'troupe_job_progress_ratio', { job_id: job.id })).toBe(1);
    // Nothing was asked again: the turns all came from the store, at no rate of this run.
    expect(temp.store.turnsOf(job.id)).toHaveLength(TURNS);
  });
});
