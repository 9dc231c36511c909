/**
 * The Grafana dashboard against real data: a real `troupe daemon` child process (two
 * workers) runs a job handed to it with `troupe submit` on the simulator, which runs in
 * this process; the provider starts answering 429s, 503s and a 400 once the job is
 * under way. The daemon serves its metrics on a loopback port, a real
 * Prometheus scrapes it every second, and then every PromQL expression of every
 * panel is evaluated as Grafana would (graphs over the run, stats now) and must
 * return data; unless its metric may stay at 0 in this run, not only zeros.
 * A panel that shows nothing, or a flat 0 while things happened, is a bug.
 */
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startSimulator } from '../src/simulator/server.js';
import type { FaultRule, Simulator } from '../src/simulator/server.js';
import { openLmdbStore } from '../src/store/lmdb-store.js';
import type { TurnRecord } from '../src/store/records.js';
import { runCli } from './helpers/cli.js';
import { DaemonProcess } from './helpers/daemon.js';
import { TEST_KEY, TEST_KEY_ENV, simulatorSuite } from './helpers/job.js';
import { freePort, skipWithout, startPrometheus } from './helpers/prometheus.js';
import type { PrometheusServer } from './helpers/prometheus.js';
import { startRedisServer, skipWithoutRedis } from './helpers/redis-server.js';
import type { RedisServer } from './helpers/redis-server.js';
import { tempDir } from './helpers/temp.js';

const skip = skipWithout('prometheus') || skipWithoutRedis();
if (skip) console.warn(`metrics-dashboard: ${skip}`);

const DASHBOARD = new URL('../grafana/dashboards/troupe.json', import.meta.url);
const PROVIDER = 'sim';
/** 2 models × 4 sequences × 3 prompts × 3 runs. */
const SHAPE = { models: 2, sequences: 4, prompts: 3, runs: 3 } as const;
const TOTAL_TURNS = SHAPE.models * SHAPE.sequences * SHAPE.prompts * SHAPE.runs;
/** Slow enough answers that the job spans several scrapes. */
const LATENCY_MS = 400;
const LIMITS = { requestsPerMinute: 6000, tokensPerMinute: 1_000_000, maxConcurrency: 4 };
/**
 * The simulator's own limit: a bucket of 200 requests refilling over a minute, which the job's
 * hundred or so requests never empty but draw down far enough that its headers' reset lies
 * seconds ahead. Why not a bucket the job hardly touches: its reset would be under a second away,
 * and a learned bucket expires at its reset, so the readings, which reach the store with the
 * daemon's next call, would often be over before the metrics (sampled every second) saw them.
 */
const SIM_RATE_LIMIT = { requestsPerMinute: 200, windowMs: 60_000 };
/** The shared key's store password: it must show nowhere (metrics, labels, logs). */
const REDIS_PASSWORD = 'dashboard-redis-secret-0123456789';
const SHARED_KEY = 'dashboard-org';
/**
 * The breaker stays closed: the scripted failures come in a burst that would otherwise open it.
 * The limits are shared through a real redis-server, so the shared-limits panels have data.
 */
const providerExtra = (redisUrl: string): string =>
  [
    `    limits: { requestsPerMinute: ${LIMITS.requestsPerMinute}, tokensPerMinute: ${LIMITS.tokensPerMinute}, maxConcurrency: ${LIMITS.maxConcurrency} }`,
    '    retry: { baseDelayMs: 50, maxDelayMs: 500 }',
    '    breaker: { consecutiveFailures: 100, minRequests: 1000 }',
    `    sharedLimits: { url: "${redisUrl}", key: ${SHARED_KEY}, passwordEnv: REDIS_PASSWORD }`,
  ].join('\n');
/** What Grafana would put for its variables; `$job` is set to the job's id. */
const GRAFANA_VARIABLES: Readonly<Record<string, string>> = {
  $__rate_interval: '1m',
  $__interval: '15s',
  $__range: '10m',
  $provider: PROVIDER,
};
/** What the provider does once the job is under way. */
const FAULTS: readonly FaultRule[] = [
  { fault: { kind: 'status', status: 429, retryAfterSeconds: 1 }, times: 4 },
  { fault: { kind: 'status', status: 503 }, times: 3 },
  // Not retried: its turn fails (and the rest of its run, if any, is skipped).
  { fault: { kind: 'status', status: 400 }, times: 1, model: 'model-2' },
];
/**
 * Metrics that may rightly stay at 0 in this run: no worker restarted, a breaker that
 * stays closed, no request failing twice, no model refused (its gauge is 1 in
 * refused-model-status.int), and permit waits (the limits may leave nobody waiting).
 */
const MAY_STAY_ZERO = [
  'troupe_worker_restarts_total',
  'troupe_circuit_breaker_state',
  'troupe_provider_repeated_failures',
  'troupe_model_refused',
  'troupe_rate_limiter_waiting_requests',
  'troupe_rate_limiter_wait_seconds_sum',
];
/** Panels Grafana draws from an instant query; the others are graphs over the time range. */
const INSTANT_PANELS = new Set(['stat', 'bargauge']);
const SCRAPED_TIMEOUT_MS = 30_000;
/** Samples of the job's series Prometheus must hold before the queries are judged. */
const MIN_SAMPLES = 4;
/** Worker processes of the daemon. */
const WORKERS = 2;
/** Longest the job may take once submitted (it takes a few seconds). */
const JOB_TIMEOUT_MS = 60_000;
/** How often the store and `/readyz` are polled while the job runs. */
const POLL_MS = 250;
/** Bound of one request to the daemon's metrics endpoint. */
const REQUEST_TIMEOUT_MS = 5_000;
/** Tries at starting the daemon (the free port may be taken before it binds it). */
const DAEMON_START_ATTEMPTS = 3;
/** After SIGTERM, how long the daemon may take to exit before it is killed. */
const DAEMON_STOP_GRACE_MS = 10_000;

/**
 * `troupe daemon --metrics-port <free port> --workers 2` on a data directory of its own
 * (one per try: a try that failed may leave its lock behind).
 */
async function startDaemon(
  root: string,
  env: Record<string, string>,
): Promise<{ daemon: DaemonProcess; dataDir: string; metricsPort: number }> {
  let lastError: unknown;
  for (let attempt = 0; attempt < DAEMON_START_ATTEMPTS; attempt++) {
    const metricsPort = await freePort();
    const dataDir = join(root, `data-${attempt}`);
    try {
      const daemon = await DaemonProcess.start(dataDir, env, [
        '--metrics-port',
        String(metricsPort),
        '--workers',
        String(WORKERS),
        // Every line the daemon may log is checked for the key.
        '--log-level',
        'debug',
      ]);
      return { daemon, dataDir, metricsPort };
    } catch (error) {
      lastError = error;
    }
  }
  throw lastError;
}

/** A job's state in the daemon's store, read without disturbing the daemon. */
async function jobState(dataDir: string, job: string): Promise<string | undefined> {
  const store = await openLmdbStore(dataDir, { readOnly: true });
  try {
    return store.getJob(job)?.state;
  } finally {
    await store.close();
  }
}

async function turnsOf(dataDir: string, job: string): Promise<readonly TurnRecord[]> {
  const store = await openLmdbStore(dataDir, { readOnly: true });
  try {
    return store.turnsOf(job);
  } finally {
    await store.close();
  }
}

/** Runs every step even when one fails; rethrows the first failure. */
async function allSteps(steps: readonly (() => Promise<unknown> | undefined)[]): Promise<void> {
  const failures: unknown[] = [];
  for (const step of steps) {
    try {
      await step();
    } catch (error) {
      failures.push(error);
    }
  }
  if (failures.length > 0) throw failures[0];
}

interface Target {
  readonly panel: string;
  readonly panelType: string;
  readonly expr: string;
}

interface DashboardJson {
  readonly panels: readonly DashboardPanel[];
  readonly templating: { readonly list: readonly { name: string; type: string; definition?: string }[] };
}

interface DashboardPanel {
  readonly type: string;
  readonly title: string;
  readonly targets?: readonly { readonly expr?: string }[];
  /** Panels of a collapsed row. */
  readonly panels?: readonly DashboardPanel[];
}

/** Every panel (those in collapsed rows included) but the rows themselves. */
function panelsOf(dashboard: DashboardJson): DashboardPanel[] {
  return dashboard.panels.flatMap((p) => (p.type === 'row' ? [...(p.panels ?? [])] : [p]));
}

function substitute(expr: string, variables: Readonly<Record<string, string>>): string {
  // Longest names first, so that `$__rate_interval` is not read as `$__range`…
  const names = Object.keys(variables).sort((a, b) => b.length - a.length);
  let result = expr;
  for (const name of names) result = result.split(name).join(variables[name] ?? '');
  return result;
}

describe.skipIf(skip)('the Grafana dashboard on a real Prometheus, scraping a real daemon', () => {
  let sim: Simulator | undefined;
  let dir: Awaited<ReturnType<typeof tempDir>> | undefined;
  let daemon: DaemonProcess | undefined;
  let dataDir: string;
  let metricsPort: number;
  let prometheus: PrometheusServer | undefined;
  let redis: RedisServer | undefined;
  /** Only the daemon has the provider's key: `troupe submit` does not need it (it checks the store's password). */
  const daemonEnv = { [TEST_KEY_ENV]: TEST_KEY, REDIS_PASSWORD };

  beforeAll(async () => {
    redis = await startRedisServer({ password: REDIS_PASSWORD });
    // Rate-limit headers on every answer (OpenAI's), far from refusing anything: the learned buckets
    // the shared key keeps from them have data.
    sim = await startSimulator({ latencyMs: LATENCY_MS, apiKey: TEST_KEY, rateLimit: SIM_RATE_LIMIT });
    dir = await tempDir();
    ({ daemon, dataDir, metricsPort } = await startDaemon(dir.path, daemonEnv));
    prometheus = await startPrometheus({ targets: [`127.0.0.1:${metricsPort}`], scrapeIntervalSeconds: 1 });
  }, 120_000);

  afterAll(async () => {
    await allSteps([
      () => daemon?.terminate(DAEMON_STOP_GRACE_MS),
      () => prometheus?.stop(),
      () => sim?.close(),
      () => redis?.close(),
      () => dir?.cleanup(),
    ]);
  }, 60_000);

  it('every PromQL expression of every panel returns data while the daemon runs a job on the simulator', async () => {
    if (!prometheus || !daemon || !sim || !dir || !redis)
      throw new Error('the daemon, Prometheus or redis-server did not start');
    const prom = prometheus;
    const simulator = sim;
    expect(daemon.logs.find((line) => line.msg === 'metrics served')?.port).toBe(metricsPort);
    const suite = await simulatorSuite(simulator, {
      ...SHAPE,
      providerExtra: providerExtra(redis.url),
      modelExtra: 'pricePerMillionTokens: { input: 0.15, output: 0.6 }',
    });
    // A resolved suite is a valid suite file too (JSON).
    const suitePath = join(dir.path, 'metrics.json');
    await writeFile(suitePath, JSON.stringify(suite));
    const startedSeconds = Date.now() / 1000;
    const submitted = await runCli(['submit', suitePath, '--data-dir', dataDir], { REDIS_PASSWORD });
    expect(submitted.stderr).toBe('');
    expect(submitted.code).toBe(0);
    const jobId = submitted.stdout.trim();
    expect(jobId).not.toBe('');
    // The provider fails once Prometheus has seen the job's first attempts: an error series
    // that first appears already at 4 would show as a flat 0 in a rate().
    await prom.waitFor(
      'the first attempts scraped',
      async () => Number((await prom.query('sum(troupe_requests_total)')).samples[0]?.value[1]) > 0,
      SCRAPED_TIMEOUT_MS,
    );
    simulator.configure({ faults: FAULTS });

    // Until the job is done, the daemon says it is ready every time it is asked.
    const readiness: { status: number; body: string; state: string | undefined }[] = [];
    const until = Date.now() + JOB_TIMEOUT_MS;
    let state: string | undefined;
    for (;;) {
      const answer = await fetch(`http://127.0.0.1:${metricsPort}/readyz`, {
        signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS),
      });
      const body = await answer.text();
      // Read after the answer: still running now means running when it answered.
      state = await jobState(dataDir, jobId);
      readiness.push({ status: answer.status, body, state });
      if (state !== 'running' || Date.now() > until) break;
      await new Promise((resolve) => setTimeout(resolve, POLL_MS));
    }
    expect(state, `job ${jobId} within ${JOB_TIMEOUT_MS} ms`).toBe('done');
    const whileRunning = readiness.filter((r) => r.state === 'running');
    expect(whileRunning.length).toBeGreaterThan(0);
    expect(whileRunning.filter((r) => r.status !== 200 || !r.body.includes('"ok":true'))).toEqual([]);
    // The conversations ran in the daemon's workers.
    expect(daemon.workerPids().length).toBeGreaterThanOrEqual(WORKERS);

    const turns = await turnsOf(dataDir, jobId);
    // The key was in use: the simulator accepts only requests that carry it.
    expect(simulator.records.every((r) => r.authorized)).toBe(true);

    // The run had what the error panels show.
    const statuses = simulator.records.map((r) => r.status);
    expect(statuses.filter((s) => s === 429)).toHaveLength(4);
    expect(statuses.filter((s) => s === 503)).toHaveLength(3);
    expect(turns).toHaveLength(TOTAL_TURNS);
    expect(turns.filter((t) => t.status === 'failed')).toHaveLength(1);

    // Prometheus has scraped the whole job, several times.
    const jobSelector = `job_id="${jobId}"`;
    await prom.waitFor(
      `all ${TOTAL_TURNS} turns scraped`,
      async () =>
        Number(
          (await prom.query(`sum(troupe_turns_recorded_total{${jobSelector}})`)).samples[0]?.value[1],
        ) === TOTAL_TURNS,
      SCRAPED_TIMEOUT_MS,
    );
    await prom.waitFor(
      `${MIN_SAMPLES} samples of the job's progress`,
      async () =>
        Number(
          (await prom.query(`count_over_time(troupe_job_progress_ratio{${jobSelector}}[5m])`)).samples[0]
            ?.value[1],
        ) >= MIN_SAMPLES,
      SCRAPED_TIMEOUT_MS,
    );

    const dashboard = JSON.parse(await readFile(DASHBOARD, 'utf8')) as DashboardJson;
    const variables = { ...GRAFANA_VARIABLES, $job: jobId };
    const targets: Target[] = [];
    for (const panel of panelsOf(dashboard)) {
      expect(panel.targets?.length ?? 0, `panel "${panel.title}" has no query`).toBeGreaterThan(0);
      for (const target of panel.targets ?? []) {
        expect(target.expr, `panel "${panel.title}" has a target without expr`).toBeTruthy();
        targets.push({ panel: panel.title, panelType: panel.type, expr: target.expr ?? '' });
      }
    }
    expect(targets.length).toBeGreaterThanOrEqual(30);

    const endSeconds = Date.now() / 1000;
    /** Emptiness as the panel shows it (stats: now; graphs: over the run); zeros over the run. */
    async function judge(panelType: string, expr: string): Promise<'empty' | 'flat' | 'ok'> {
      const overTheRun = (await prom.queryRange(expr, startedSeconds, endSeconds, 1)).flatMap((series) =>
        series.values.map((point) => Number(point[1])),
      );
      const shown = INSTANT_PANELS.has(panelType)
        ? (await prom.query(expr)).samples.length
        : overTheRun.length;
      if (shown === 0) return 'empty';
      if (
        !overTheRun.some((v) => v !== 0 && !Number.isNaN(v)) &&
        !MAY_STAY_ZERO.some((metric) => expr.includes(metric))
      ) {
        return 'flat';
      }
      return 'ok';
    }
    // The judge itself: a misspelled metric shows nothing, a zeroed one a flat 0.
    expect(await judge('timeseries', 'sum(rate(troupe_requests_totl[1m]))')).toBe('empty');
    expect(await judge('stat', 'troupe_requests_totl')).toBe('empty');
    expect(await judge('timeseries', '0 * sum(troupe_requests_total)')).toBe('flat');

    const empty: string[] = [];
    const flat: string[] = [];
    for (const target of targets) {
      const expr = substitute(target.expr, variables);
      expect(expr, `panel "${target.panel}": a variable left in ${expr}`).not.toContain('$');
      const verdict = await judge(target.panelType, expr);
      const what = `"${target.panel}": ${expr}`;
      if (verdict === 'empty') empty.push(what);
      else if (verdict === 'flat') flat.push(what);
    }
    expect(empty, `queries that return nothing:\n${empty.join('\n')}`).toEqual([]);
    expect(flat, `queries that return only 0 or NaN:\n${flat.join('\n')}`).toEqual([]);

    // The template variables list this job and this provider.
    for (const variable of dashboard.templating.list.filter((v) => v.type === 'query')) {
      const match = /^label_values\((\w+), (\w+)\)$/.exec(variable.definition ?? '');
      expect(match, `variable ${variable.name}: ${variable.definition}`).not.toBeNull();
      const values = await prom.labelValues(match?.[2] ?? '', match?.[1]);
      expect(values).toContain(variable.name === 'job' ? jobId : PROVIDER);
    }

    // Worker restarts are counted (none is expected, so 0 is fine), and scraped.
    const exposition = await (
      await fetch(`http://127.0.0.1:${metricsPort}/metrics`, {
        signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS),
      })
    ).text();
    expect(exposition).toMatch(/^troupe_worker_restarts_total \d+$/m);
    const restarts = (await prom.query('troupe_worker_restarts_total')).samples;
    expect(restarts).toHaveLength(1);
    expect(Number(restarts[0]?.value[1])).toBeGreaterThanOrEqual(0);

    // The shared key's series: this daemon is its one participant, labelled host:pid.
    expect(exposition).toMatch(
      new RegExp(`^troupe_shared_participants\\{shared_key="${SHARED_KEY}"\\} 1$`, 'm'),
    );
    expect(exposition).toMatch(
      new RegExp(
        `^troupe_shared_window_requests\\{shared_key="${SHARED_KEY}",participant="[^"]+:${daemon.pid}"\\} \\d+`,
        'm',
      ),
    );

    // Neither the metrics, nor what Prometheus stored, nor the logs carry the key or the password.
    for (const secret of [TEST_KEY, REDIS_PASSWORD]) {
      expect(exposition).not.toContain(secret);
      expect(submitted.stdout + submitted.stderr).not.toContain(secret);
      expect(JSON.stringify(daemon.logs)).not.toContain(secret);
    }
    const labelNames = await prom.labelNames();
    expect(labelNames).toContain('job_id');
    expect(labelNames).toContain('participant');
    for (const label of labelNames) {
      for (const value of await prom.labelValues(label)) {
        expect(value, label).not.toContain(TEST_KEY);
        expect(value, label).not.toContain(REDIS_PASSWORD);
      }
    }
    expect(daemon.logs.length).toBeGreaterThan(0);
  }, 120_000);
});
