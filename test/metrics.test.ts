import { describe, expect, it } from 'vitest';
import { noMetrics } from '../src/metrics/metrics.js';
import type { Metrics } from '../src/metrics/metrics.js';
import { METRIC_LABEL_NAMES, METRIC_PREFIX, PrometheusMetrics } from '../src/metrics/prometheus.js';
import { TEST_KEY, TEST_KEY_ENV } from './helpers/job.js';

/** One sample as `getMetricsAsJSON` gives it (histograms name their `_bucket`, `_sum`, `_count`). */
interface Sample {
  readonly value: number;
  readonly labels: Readonly<Record<string, string | number>>;
  readonly metricName?: string;
}

/** A metric family as `getMetricsAsJSON` gives it at run time (its typings say `type` is a number). */
interface Family {
  readonly name: string;
  readonly type: string;
  readonly values: readonly Sample[];
}

async function families(metrics: PrometheusMetrics): Promise<Family[]> {
  return (await metrics.registry.getMetricsAsJSON()) as unknown as Family[];
}

/** The samples of one metric family. */
async function samples(metrics: PrometheusMetrics, name: string): Promise<Sample[]> {
  return [...((await families(metrics)).find((m) => m.name === name)?.values ?? [])];
}

/** The value of the sample with exactly these labels, or undefined when there is none. */
async function value(
  metrics: PrometheusMetrics,
  name: string,
  labels: Record<string, string | number> = {},
  metricName = name,
): Promise<number | undefined> {
  const wanted = JSON.stringify(Object.entries(labels).sort());
  const found = (await samples(metrics, name)).find(
    (s) =>
      (s.metricName ?? name) === metricName && JSON.stringify(Object.entries(s.labels).sort()) === wanted,
  );
  return found?.value;
}

const OWN_METRICS = [
  'troupe_requests_total',
  'troupe_request_duration_seconds',
  'troupe_tokens_total',
  'troupe_cost_usd_total',
  'troupe_requests_in_flight',
  'troupe_rate_limiter_waiting_requests',
  'troupe_rate_limiter_wait_seconds',
  'troupe_rate_limit_requests_per_second',
  'troupe_rate_limit_tokens_per_second',
  'troupe_rate_limit_concurrent_requests',
  'troupe_circuit_breaker_state',
  'troupe_turns_recorded_total',
  'troupe_turns_planned',
  'troupe_model_refused',
  'troupe_job_progress_ratio',
  'troupe_job_eta_seconds',
  'troupe_worker_restarts_total',
  'troupe_checkpoint_write_duration_seconds',
  'troupe_shared_store_reachable',
  'troupe_shared_participants',
  'troupe_shared_budget_requests_per_second',
  'troupe_shared_budget_tokens_per_second',
  'troupe_shared_budget_concurrent_requests',
  'troupe_shared_window_requests',
  'troupe_shared_window_tokens',
  'troupe_shared_slots',
  'troupe_shared_learned_remaining',
  'troupe_shared_learned_limit',
  'troupe_shared_learned_reset_seconds',
];

/** Labels prom-client's default (process) metrics use. */
const DEFAULT_METRIC_LABELS = ['version', 'major', 'minor', 'patch', 'space', 'kind', 'type'];

/** Calls every method of `Metrics` once or more, as a job with two models would. */
function observeAJob(metrics: Metrics): void {
  metrics.attempt({
    provider: 'oai',
    model: 'small',
    outcome: 'ok',
    latencySeconds: 0.3,
    inputTokens: 120,
    outputTokens: 40,
    costUsd: 0.0002,
  });
  metrics.attempt({
    provider: 'oai',
    model: 'small',
    outcome: 'rate_limited',
    latencySeconds: 0.02,
    inputTokens: 0,
    outputTokens: 0,
  });
  metrics.attempt({
    provider: 'claude',
    model: 'haiku',
    outcome: 'server_error',
    latencySeconds: 1.5,
    inputTokens: 0,
    outputTokens: 0,
  });
  metrics.setSharedKeys([
    {
      key: 'org-openai',
      reachable: true,
      requestsPerMinute: 600,
      tokensPerMinute: 120_000,
      maxConcurrency: 8,
      learned: { requests: { remaining: 3, limit: 10, resetSeconds: 4.5 } },
      participants: [{ process: 'host-a:100', requests: 30, tokens: 3_000, slots: 2 }],
    },
  ]);
  metrics.setInFlight('oai', 3);
  metrics.setPermitsWaiting('oai', 7);
  metrics.permitWait('oai', 0.25);
  metrics.setLimit('oai', 'requests_per_minute', 600);
  metrics.setLimit('oai', 'tokens_per_minute', 120_000);
  metrics.setLimit('oai', 'concurrency', 8);
  metrics.setBreakerState('claude', 2);
  metrics.setTurnsTotal('job-1', 'small', 30);
  metrics.setTurnsTotal('job-1', 'haiku', 30);
  metrics.turnsRecorded('job-1', 'small', 'ok', 2);
  metrics.turnsRecorded('job-1', 'haiku', 'failed', 1);
  metrics.turnsRecorded('job-1', 'haiku', 'skipped', 2);
  metrics.setJobProgress('job-1', 0.25, 42);
  metrics.setRefusedModels([{ job: 'job-1', model: 'haiku' }]);
  metrics.workerRestarted();
  metrics.checkpointWrite(0.004);
}

describe('PrometheusMetrics', () => {
  it('counts attempts by provider, model and outcome, each outcome starting at 0', async () => {
    const m = new PrometheusMetrics({ defaultMetrics: false });
    observeAJob(m);
    const small = { provider: 'oai', model: 'small' };
    expect(await value(m, 'troupe_requests_total', { ...small, outcome: 'ok' })).toBe(1);
    expect(await value(m, 'troupe_requests_total', { ...small, outcome: 'rate_limited' })).toBe(1);
    expect(await value(m, 'troupe_requests_total', { ...small, outcome: 'timeout' })).toBe(0);
    expect(
      await value(m, 'troupe_requests_total', {
        provider: 'claude',
        model: 'haiku',
        outcome: 'server_error',
      }),
    ).toBe(1);
    expect(
      (await samples(m, 'troupe_requests_total')).map((s) => s.labels.outcome).filter((o) => o === 'ok'),
    ).toHaveLength(2);
  });

  it('observes latency per provider and model in seconds, tokens by direction, cost only when given', async () => {
    const m = new PrometheusMetrics({ defaultMetrics: false });
    observeAJob(m);
    const small = { provider: 'oai', model: 'small' };
    const latency = 'troupe_request_duration_seconds';
    expect(await value(m, latency, small, `${latency}_count`)).toBe(2);
    expect(await value(m, latency, small, `${latency}_sum`)).toBeCloseTo(0.32);
    expect(await value(m, latency, { ...small, le: 0.05 }, `${latency}_bucket`)).toBe(1);
    expect(await value(m, latency, { ...small, le: 0.5 }, `${latency}_bucket`)).toBe(2);
    expect(await value(m, latency, { ...small, le: 120 }, `${latency}_bucket`)).toBe(2);
    expect(await value(m, 'troupe_tokens_total', { ...small, direction: 'input' })).toBe(120);
    expect(await value(m, 'troupe_tokens_total', { ...small, direction: 'output' })).toBe(40);
    expect(await value(m, 'troupe_cost_usd_total', small)).toBeCloseTo(0.0002);
    // No price, no cost series: a cost of 0 would claim the model is free.
    expect(await value(m, 'troupe_cost_usd_total', { provider: 'claude', model: 'haiku' })).toBeUndefined();
  });

  it('drops values that cannot be measured instead of throwing into the caller', async () => {
    const m = new PrometheusMetrics({ defaultMetrics: false });
    expect(() =>
      m.attempt({
        provider: 'oai',
        model: 'small',
        outcome: 'timeout',
        latencySeconds: Number.NaN,
        inputTokens: -1,
        outputTokens: Number.POSITIVE_INFINITY,
        costUsd: -3,
      }),
    ).not.toThrow();
    expect(
      await value(m, 'troupe_requests_total', { provider: 'oai', model: 'small', outcome: 'timeout' }),
    ).toBe(1);
    const latency = 'troupe_request_duration_seconds';
    expect(await value(m, latency, { provider: 'oai', model: 'small' }, `${latency}_count`)).toBeUndefined();
    expect(
      await value(m, 'troupe_tokens_total', { provider: 'oai', model: 'small', direction: 'input' }),
    ).toBe(0);
    expect(await value(m, 'troupe_cost_usd_total', { provider: 'oai', model: 'small' })).toBeUndefined();
  });

  it('sets the gauges of the gates: in flight, waiting, limits per second, breaker state', async () => {
    const m = new PrometheusMetrics({ defaultMetrics: false });
    observeAJob(m);
    expect(await value(m, 'troupe_requests_in_flight', { provider: 'oai' })).toBe(3);
    expect(await value(m, 'troupe_rate_limiter_waiting_requests', { provider: 'oai' })).toBe(7);
    const wait = 'troupe_rate_limiter_wait_seconds';
    expect(await value(m, wait, { provider: 'oai' }, `${wait}_count`)).toBe(1);
    expect(await value(m, wait, { provider: 'oai' }, `${wait}_sum`)).toBe(0.25);
    expect(await value(m, 'troupe_rate_limit_requests_per_second', { provider: 'oai' })).toBe(10);
    expect(await value(m, 'troupe_rate_limit_tokens_per_second', { provider: 'oai' })).toBe(2000);
    expect(await value(m, 'troupe_rate_limit_concurrent_requests', { provider: 'oai' })).toBe(8);
    expect(await value(m, 'troupe_circuit_breaker_state', { provider: 'claude' })).toBe(2);
    m.setBreakerState('claude', 0);
    expect(await value(m, 'troupe_circuit_breaker_state', { provider: 'claude' })).toBe(0);
  });

  it('records turns by job, model and status, the planned total, progress and ETA', async () => {
    const m = new PrometheusMetrics({ defaultMetrics: false });
    observeAJob(m);
    const turns = 'troupe_turns_recorded_total';
    expect(await value(m, turns, { job_id: 'job-1', model: 'small', status: 'ok' })).toBe(2);
    expect(await value(m, turns, { job_id: 'job-1', model: 'small', status: 'failed' })).toBe(0);
    expect(await value(m, turns, { job_id: 'job-1', model: 'haiku', status: 'failed' })).toBe(1);
    expect(await value(m, turns, { job_id: 'job-1', model: 'haiku', status: 'skipped' })).toBe(2);
    expect(await value(m, 'troupe_turns_planned', { job_id: 'job-1', model: 'haiku' })).toBe(30);
    expect(await value(m, 'troupe_job_progress_ratio', { job_id: 'job-1' })).toBe(0.25);
    expect(await value(m, 'troupe_job_eta_seconds', { job_id: 'job-1' })).toBe(42);
    // An unknown ETA is no series, not NaN.
    m.setJobProgress('job-1', 0.3, Number.NaN);
    expect(await value(m, 'troupe_job_progress_ratio', { job_id: 'job-1' })).toBe(0.3);
    expect(await samples(m, 'troupe_job_eta_seconds')).toEqual([]);
  });

  it("shows each model of a job refused by its provider or not, only while the job's series live", async () => {
    const m = new PrometheusMetrics({ defaultMetrics: false });
    observeAJob(m);
    const refused = 'troupe_model_refused';
    expect(await value(m, refused, { job_id: 'job-1', model: 'haiku' })).toBe(1);
    expect(await value(m, refused, { job_id: 'job-1', model: 'small' })).toBe(0);
    // A new job's models start at 0; a refusal of a job with no series (forgotten) makes none.
    m.setTurnsTotal('job-2', 'small', 10);
    m.setRefusedModels([
      { job: 'job-1', model: 'haiku' },
      { job: 'job-gone', model: 'small' },
    ]);
    expect(await value(m, refused, { job_id: 'job-2', model: 'small' })).toBe(0);
    expect((await samples(m, refused)).some((s) => s.labels.job_id === 'job-gone')).toBe(false);
    // Each call replaces the last.
    m.setRefusedModels([{ job: 'job-2', model: 'small' }]);
    expect(await value(m, refused, { job_id: 'job-1', model: 'haiku' })).toBe(0);
    expect(await value(m, refused, { job_id: 'job-2', model: 'small' })).toBe(1);
    m.forgetJob('job-2');
    m.setRefusedModels([{ job: 'job-2', model: 'small' }]);
    expect((await samples(m, refused)).some((s) => s.labels.job_id === 'job-2')).toBe(false);
  });

  it('forgetJob removes every series of that job and only of that job', async () => {
    const m = new PrometheusMetrics({ defaultMetrics: false });
    observeAJob(m);
    m.setTurnsTotal('job-2', 'small', 10);
    m.turnsRecorded('job-2', 'small', 'ok', 1);
    m.setJobProgress('job-2', 0.1, 90);
    m.forgetJob('job-1');
    const text = await m.registry.metrics();
    expect(text).not.toContain('job-1');
    expect(
      await value(m, 'troupe_turns_recorded_total', { job_id: 'job-2', model: 'small', status: 'ok' }),
    ).toBe(1);
    expect(await value(m, 'troupe_turns_planned', { job_id: 'job-2', model: 'small' })).toBe(10);
    expect(await value(m, 'troupe_job_eta_seconds', { job_id: 'job-2' })).toBe(90);
    // Provider series are not the job's: they stay.
    expect(await value(m, 'troupe_requests_in_flight', { provider: 'oai' })).toBe(3);
    // A forgotten job that comes back (resumed) starts its series again.
    m.turnsRecorded('job-1', 'small', 'ok', 1);
    expect(
      await value(m, 'troupe_turns_recorded_total', { job_id: 'job-1', model: 'small', status: 'ok' }),
    ).toBe(1);
    expect(
      await value(m, 'troupe_turns_recorded_total', { job_id: 'job-1', model: 'small', status: 'skipped' }),
    ).toBe(0);
  });

  it('counts worker restarts (from 0, always exported) and checkpoint write latency', async () => {
    const m = new PrometheusMetrics({ defaultMetrics: false });
    expect(await value(m, 'troupe_worker_restarts_total')).toBe(0);
    observeAJob(m);
    m.workerRestarted();
    expect(await value(m, 'troupe_worker_restarts_total')).toBe(2);
    const write = 'troupe_checkpoint_write_duration_seconds';
    expect(await value(m, write, {}, `${write}_count`)).toBe(1);
    expect(await value(m, write, { le: 0.0025 }, `${write}_bucket`)).toBe(0);
    expect(await value(m, write, { le: 0.005 }, `${write}_bucket`)).toBe(1);
  });

  it('follows the naming conventions: troupe_ prefix, _total counters, base units', async () => {
    const m = new PrometheusMetrics();
    observeAJob(m);
    const all = await families(m);
    const names = all.map((f) => f.name);
    for (const name of OWN_METRICS) expect(names).toContain(name);
    // The primary's process metrics come with the same prefix.
    expect(names).toContain('troupe_process_cpu_seconds_total');
    expect(names).toContain('troupe_nodejs_heap_size_used_bytes');
    for (const family of all) {
      expect(family.name.startsWith(METRIC_PREFIX), family.name).toBe(true);
      if (family.type === 'counter') expect(family.name, family.name).toMatch(/_total$/);
      else expect(family.name, family.name).not.toMatch(/_total$/);
      expect(family.name, family.name).not.toMatch(/_(ms|milliseconds|minutes|per_minute)(_|$)/);
    }
  });

  it('uses exactly the allowed label names, and no secret reaches the exposition', async () => {
    // A key in the environment, as the engine's providers read it.
    const previous = process.env[TEST_KEY_ENV];
    process.env[TEST_KEY_ENV] = TEST_KEY;
    try {
      const m = new PrometheusMetrics();
      observeAJob(m);
      const own = new Set<string>();
      const others = new Set<string>();
      for (const family of await families(m)) {
        const target = OWN_METRICS.includes(family.name) ? own : others;
        for (const sample of family.values) {
          for (const label of Object.keys(sample.labels)) target.add(label);
        }
      }
      expect([...own].sort()).toEqual([...METRIC_LABEL_NAMES].sort());
      for (const label of others) expect(DEFAULT_METRIC_LABELS, label).toContain(label);
      const text = await m.registry.metrics();
      expect(text).not.toContain(TEST_KEY);
      expect(text).not.toContain('FAKEKEY');
    } finally {
      if (previous === undefined) delete process.env[TEST_KEY_ENV];
      else process.env[TEST_KEY_ENV] = previous;
    }
  });

  it('keeps every instance on its own registry', async () => {
    const a = new PrometheusMetrics();
    const b = new PrometheusMetrics();
    a.workerRestarted();
    expect(await value(a, 'troupe_worker_restarts_total')).toBe(1);
    expect(await value(b, 'troupe_worker_restarts_total')).toBe(0);
  });

  it('noMetrics accepts every observation and records nothing', () => {
    expect(() => observeAJob(noMetrics)).not.toThrow();
  });
});
