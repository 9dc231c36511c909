/**
 * The Prometheus implementation of `Metrics`, on a registry of its own.
 *
 * Why no `AggregatorRegistry`: every observation is made in the primary process.
 * Workers report their attempts, commits and timings to the primary over the
 * transport, and the primary records them here. So this one registry holds
 * the whole picture, a worker restart never makes a counter go down (it never
 * held one), and a scrape never waits on a worker's IPC. Keep it that way:
 * a metric recorded inside a worker process would be lost on its restart.
 */
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import type { BreakerStateValue, MetricOutcome, Metrics, SharedKeySample } from './metrics.js';

/** Prefix of every metric troupe exports, the process metrics of the primary included. */
export const METRIC_PREFIX = 'troupe_';

/** Buckets of the request latency histogram, in seconds: LLM answers take from tens of ms to minutes. */
export const REQUEST_DURATION_BUCKETS_SECONDS: readonly number[] = [
  0.05, 0.1, 0.25, 0.5, 1, 2, 5, 10, 20, 30, 60, 120,
];

/** Buckets of the rate-limiter wait histogram, in seconds: from no wait to a minute's window and beyond. */
export const PERMIT_WAIT_BUCKETS_SECONDS: readonly number[] = [
  0.001, 0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300,
];

/** Buckets of the checkpoint write histogram, in seconds: an LMDB transaction takes from 0.5 ms to about 1 s. */
export const CHECKPOINT_WRITE_BUCKETS_SECONDS: readonly number[] = [
  0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1,
];

/** Every label name troupe's own metrics use. Values are ids from the suite (and job ids): never keys or text. */
export const METRIC_LABEL_NAMES = [
  'provider',
  'model',
  'outcome',
  'direction',
  'job_id',
  'status',
  'le',
  'shared_key',
  'participant',
  'kind',
] as const;

/**
 * Participants of one shared key that get series of their own, at most; the rest are summed
 * under `participant="others"`, so a key with many processes cannot blow up the series count.
 */
export const MAX_PARTICIPANT_SERIES = 20;

const OUTCOMES: readonly MetricOutcome[] = [
  'ok',
  'rate_limited',
  'server_error',
  'timeout',
  'client_error',
  'cancelled',
];
const TURN_STATUSES = ['ok', 'failed', 'skipped'] as const;
const SECONDS_PER_MINUTE = 60;

/**
 * prom-client also exports the active handles, requests and resources as totals named
 * `…_total`, which Prometheus reserves for counters (`promtool check metrics` rejects
 * them). The same numbers stay available by type (`troupe_nodejs_active_handles{type}`…).
 */
const MISNAMED_DEFAULT_GAUGES = [
  'nodejs_active_handles_total',
  'nodejs_active_requests_total',
  'nodejs_active_resources_total',
];

/** The process metrics of this process (CPU, memory, event loop lag, GC, heap…), prefixed `troupe_`. */
function addProcessMetrics(registry: Registry): void {
  collectDefaultMetrics({ register: registry, prefix: METRIC_PREFIX });
  for (const name of MISNAMED_DEFAULT_GAUGES) registry.removeSingleMetric(`${METRIC_PREFIX}${name}`);
}

/** A value a counter may add or a histogram may observe; anything else is a caller's bug, dropped. */
function measurable(value: number | undefined): value is number {
  return value !== undefined && Number.isFinite(value) && value >= 0;
}

/**
 * troupe's metrics in a prom-client `Registry` (not the global one, so that tests
 * and embedders can hold several). Serve `registry` on `/metrics`.
 *
 * The job label is `job_id`, not `job`: Prometheus sets `job` on every series to
 * the scrape job's name and would rename ours to `exported_job`.
 */
export class PrometheusMetrics implements Metrics {
  /** The registry holding troupe's metrics and the primary's process metrics. */
  readonly registry: Registry;

  private readonly requests: Counter<'provider' | 'model' | 'outcome'>;
  private readonly requestDuration: Histogram<'provider' | 'model'>;
  private readonly tokens: Counter<'provider' | 'model' | 'direction'>;
  private readonly cost: Counter<'provider' | 'model'>;
  private readonly inFlight: Gauge<'provider'>;
  private readonly permitsWaiting: Gauge<'provider'>;
  private readonly permitWaitDuration: Histogram<'provider'>;
  private readonly limitRequests: Gauge<'provider'>;
  private readonly limitTokens: Gauge<'provider'>;
  private readonly limitConcurrency: Gauge<'provider'>;
  private readonly breakerState: Gauge<'provider'>;
  private readonly repeatedFailures: Gauge<'provider'>;
  private readonly modelRefused: Gauge<'job_id' | 'model'>;
  private readonly turnsRecordedCounter: Counter<'job_id' | 'model' | 'status'>;
  private readonly turnsPlanned: Gauge<'job_id' | 'model'>;
  private readonly jobProgress: Gauge<'job_id'>;
  private readonly jobEta: Gauge<'job_id'>;
  private readonly spendUsd: Gauge<'job_id' | 'provider'>;
  private readonly providerBudgetRemaining: Gauge<'job_id' | 'provider'>;
  private readonly jobBudgetRemaining: Gauge<'job_id'>;
  /** Providers a job has spend series for, so that `forgetJob` removes them. */
  private readonly jobSpendProviders = new Map<string, Set<string>>();
  private readonly sharedReachable: Gauge<'shared_key'>;
  private readonly sharedParticipants: Gauge<'shared_key'>;
  private readonly sharedBudgetRequests: Gauge<'shared_key'>;
  private readonly sharedBudgetTokens: Gauge<'shared_key'>;
  private readonly sharedBudgetConcurrency: Gauge<'shared_key'>;
  private readonly participantRequests: Gauge<'shared_key' | 'participant'>;
  private readonly participantTokens: Gauge<'shared_key' | 'participant'>;
  private readonly participantSlots: Gauge<'shared_key' | 'participant'>;
  private readonly learnedRemaining: Gauge<'shared_key' | 'kind'>;
  private readonly learnedLimit: Gauge<'shared_key' | 'kind'>;
  private readonly learnedReset: Gauge<'shared_key' | 'kind'>;
  private readonly workerRestarts: Counter;
  private readonly checkpointWriteDuration: Histogram;

  /** Series created so far, so that each starts at 0 once and `forgetJob` knows what to remove. */
  private readonly knownModels = new Set<string>();
  private readonly jobModels = new Map<string, Set<string>>();

  /**
   * @param options.defaultMetrics Also export the process metrics of this process
   *   (`troupe_process_cpu_seconds_total`, `troupe_nodejs_heap_size_used_bytes`, …). Default true.
   */
  constructor(options: { readonly defaultMetrics?: boolean } = {}) {
    this.registry = new Registry();
    const registers = [this.registry];
    if (options.defaultMetrics ?? true) addProcessMetrics(this.registry);

    this.requests = new Counter({
      name: 'troupe_requests_total',
      help: 'Request attempts sent to a provider, by how they ended (ok, rate_limited, server_error, timeout, client_error, cancelled).',
      labelNames: ['provider', 'model', 'outcome'],
      registers,
    });
    this.requestDuration = new Histogram({
      name: 'troupe_request_duration_seconds',
      help: 'Latency of request attempts, whatever their outcome, in seconds.',
      labelNames: ['provider', 'model'],
      buckets: [...REQUEST_DURATION_BUCKETS_SECONDS],
      registers,
    });
    this.tokens = new Counter({
      name: 'troupe_tokens_total',
      help: 'Tokens the providers reported, by direction (input: prompt and context; output: answer).',
      labelNames: ['provider', 'model', 'direction'],
      registers,
    });
    this.cost = new Counter({
      name: 'troupe_cost_usd_total',
      help: 'Estimated cost of the requests in US dollars; only models with configured prices have a series.',
      labelNames: ['provider', 'model'],
      registers,
    });
    this.inFlight = new Gauge({
      name: 'troupe_requests_in_flight',
      help: 'Requests sent to a provider and not answered yet.',
      labelNames: ['provider'],
      registers,
    });
    this.permitsWaiting = new Gauge({
      name: 'troupe_rate_limiter_waiting_requests',
      help: "Requests waiting for a permit from the provider's rate limiter.",
      labelNames: ['provider'],
      registers,
    });
    this.permitWaitDuration = new Histogram({
      name: 'troupe_rate_limiter_wait_seconds',
      help: 'Time a request waited for its rate-limiter permit, in seconds.',
      labelNames: ['provider'],
      buckets: [...PERMIT_WAIT_BUCKETS_SECONDS],
      registers,
    });
    this.limitRequests = new Gauge({
      name: 'troupe_rate_limit_requests_per_second',
      help: 'Requests per second the rate limiter allows now (configured, or learned from the provider), i.e. requests per minute / 60.',
      labelNames: ['provider'],
      registers,
    });
    this.limitTokens = new Gauge({
      name: 'troupe_rate_limit_tokens_per_second',
      help: 'Tokens per second the rate limiter allows now (configured, or learned from the provider), i.e. tokens per minute / 60.',
      labelNames: ['provider'],
      registers,
    });
    this.limitConcurrency = new Gauge({
      name: 'troupe_rate_limit_concurrent_requests',
      help: 'Requests the rate limiter lets be in flight at once now (configured, or adapted after 429s).',
      labelNames: ['provider'],
      registers,
    });
    this.breakerState = new Gauge({
      name: 'troupe_circuit_breaker_state',
      help: "State of the provider's circuit breaker: 0 closed, 1 half-open, 2 open, 3 refused (credentials, or every request refused as bad).",
      labelNames: ['provider'],
      registers,
    });
    this.repeatedFailures = new Gauge({
      name: 'troupe_provider_repeated_failures',
      help: 'Failures of requests that had failed before (failing requests such as poison prompts, not an outage: the circuit breaker does not count them), since the breaker started.',
      labelNames: ['provider'],
      registers,
    });
    this.modelRefused = new Gauge({
      name: 'troupe_model_refused',
      help: "1 while a job's model is refused by its provider (a 404 naming the model: none of its turns is sent any more), else 0.",
      labelNames: ['job_id', 'model'],
      registers,
    });
    this.turnsRecordedCounter = new Counter({
      name: 'troupe_turns_recorded_total',
      help: 'Turns recorded in the store by this process, by status (ok, failed, skipped).',
      labelNames: ['job_id', 'model', 'status'],
      registers,
    });
    this.turnsPlanned = new Gauge({
      name: 'troupe_turns_planned',
      help: "Every turn of a job's model, recorded or not: sequences' prompts × runs.",
      labelNames: ['job_id', 'model'],
      registers,
    });
    this.jobProgress = new Gauge({
      name: 'troupe_job_progress_ratio',
      help: "Fraction of a job's turns recorded, 0 to 1 (turns recorded before a resume included).",
      labelNames: ['job_id'],
      registers,
    });
    this.jobEta = new Gauge({
      name: 'troupe_job_eta_seconds',
      help: 'Estimated seconds until the job has recorded every turn; absent while unknown.',
      labelNames: ['job_id'],
      registers,
    });
    this.spendUsd = new Gauge({
      name: 'troupe_spend_usd',
      help: "A capped job's spend on a provider: the provider's reported usage at the model's prices, in US dollars.",
      labelNames: ['job_id', 'provider'],
      registers,
    });
    this.providerBudgetRemaining = new Gauge({
      name: 'troupe_provider_budget_remaining_usd',
      help: "What a provider's spend cap (limits.maxCostUsd) leaves a job, reservations in flight included, in US dollars.",
      labelNames: ['job_id', 'provider'],
      registers,
    });
    this.jobBudgetRemaining = new Gauge({
      name: 'troupe_job_budget_remaining_usd',
      help: "What a job's spend cap (budget.maxCostUsd, --max-cost) leaves, reservations in flight included, in US dollars.",
      labelNames: ['job_id'],
      registers,
    });
    const sharedGauge = <L extends string>(name: string, help: string, labelNames: L[]): Gauge<L> =>
      new Gauge({ name, help, labelNames, registers });
    this.sharedReachable = sharedGauge(
      'troupe_shared_store_reachable',
      'Whether the coordination store of a shared key (sharedLimits) answers: 1 yes, 0 no (the provider waits).',
      ['shared_key'],
    );
    this.sharedParticipants = sharedGauge(
      'troupe_shared_participants',
      'Live processes drawing on a shared key, on every host.',
      ['shared_key'],
    );
    this.sharedBudgetRequests = sharedGauge(
      'troupe_shared_budget_requests_per_second',
      'The request budget in force on a shared key: the smallest requestsPerMinute any live participant configured, / 60.',
      ['shared_key'],
    );
    this.sharedBudgetTokens = sharedGauge(
      'troupe_shared_budget_tokens_per_second',
      'The token budget in force on a shared key: the smallest tokensPerMinute any live participant configured, / 60.',
      ['shared_key'],
    );
    this.sharedBudgetConcurrency = sharedGauge(
      'troupe_shared_budget_concurrent_requests',
      'The concurrency in force on a shared key: the smallest maxConcurrency any live participant configured.',
      ['shared_key'],
    );
    this.participantRequests = sharedGauge(
      'troupe_shared_window_requests',
      'Requests granted to a participant (host:pid) of a shared key in the current window (60 s): its share of the request budget.',
      ['shared_key', 'participant'],
    );
    this.participantTokens = sharedGauge(
      'troupe_shared_window_tokens',
      'Tokens granted to a participant (host:pid) of a shared key in the current window (60 s), reconciled with usage.',
      ['shared_key', 'participant'],
    );
    this.participantSlots = sharedGauge(
      'troupe_shared_slots',
      'Concurrency slots a participant (host:pid) of a shared key holds now.',
      ['shared_key', 'participant'],
    );
    this.learnedRemaining = sharedGauge(
      'troupe_shared_learned_remaining',
      "What a shared key's learned bucket (kind requests or tokens) holds now: the provider headers' remaining, less what was granted since.",
      ['shared_key', 'kind'],
    );
    this.learnedLimit = sharedGauge(
      'troupe_shared_learned_limit',
      "The limit the provider's headers stated for a shared key's learned bucket (kind requests or tokens), in the dialect's period.",
      ['shared_key', 'kind'],
    );
    this.learnedReset = sharedGauge(
      'troupe_shared_learned_reset_seconds',
      "Seconds until the provider's bucket behind a shared key's learned bucket (kind requests or tokens) is full again.",
      ['shared_key', 'kind'],
    );
    this.workerRestarts = new Counter({
      name: 'troupe_worker_restarts_total',
      help: 'Worker processes restarted after they died or stopped answering.',
      registers,
    });
    this.checkpointWriteDuration = new Histogram({
      name: 'troupe_checkpoint_write_duration_seconds',
      help: 'Duration of checkpoint write transactions (turns committed to the store), in seconds.',
      buckets: [...CHECKPOINT_WRITE_BUCKETS_SECONDS],
      registers,
    });
  }

  attempt(observation: Parameters<Metrics['attempt']>[0]): void {
    const { provider, model } = observation;
    this.ensureModelSeries(provider, model);
    this.requests.inc({ provider, model, outcome: observation.outcome });
    if (measurable(observation.latencySeconds)) {
      this.requestDuration.observe({ provider, model }, observation.latencySeconds);
    }
    if (measurable(observation.inputTokens)) {
      this.tokens.inc({ provider, model, direction: 'input' }, observation.inputTokens);
    }
    if (measurable(observation.outputTokens)) {
      this.tokens.inc({ provider, model, direction: 'output' }, observation.outputTokens);
    }
    if (measurable(observation.costUsd)) {
      this.cost.inc({ provider, model }, observation.costUsd);
    }
  }

  setInFlight(provider: string, requests: number): void {
    this.inFlight.set({ provider }, requests);
  }

  setPermitsWaiting(provider: string, requests: number): void {
    this.permitsWaiting.set({ provider }, requests);
  }

  permitWait(provider: string, seconds: number): void {
    if (measurable(seconds)) this.permitWaitDuration.observe({ provider }, seconds);
  }

  setLimit(
    provider: string,
    kind: 'requests_per_minute' | 'tokens_per_minute' | 'concurrency',
    value: number,
  ): void {
    switch (kind) {
      case 'requests_per_minute':
        this.limitRequests.set({ provider }, value / SECONDS_PER_MINUTE);
        return;
      case 'tokens_per_minute':
        this.limitTokens.set({ provider }, value / SECONDS_PER_MINUTE);
        return;
      case 'concurrency':
        this.limitConcurrency.set({ provider }, value);
        return;
      default: {
        const unknown: never = kind;
        throw new Error(`unknown limit kind ${String(unknown)}`);
      }
    }
  }

  setBreakerState(provider: string, state: BreakerStateValue): void {
    this.breakerState.set({ provider }, state);
  }

  setRepeatedFailures(provider: string, failures: number): void {
    this.repeatedFailures.set({ provider }, failures);
  }

  setRefusedModels(models: readonly { readonly job: string; readonly model: string }[]): void {
    const refused = new Set(models.map(({ job, model }) => `${job}\u0000${model}`));
    // Only the models of the jobs with series: a refusal outlives its job in the provider's breaker.
    for (const [job, jobModels] of this.jobModels) {
      for (const model of jobModels)
        this.modelRefused.set({ job_id: job, model }, refused.has(`${job}\u0000${model}`) ? 1 : 0);
    }
  }

  turnsRecorded(job: string, model: string, status: 'ok' | 'failed' | 'skipped', count: number): void {
    this.ensureTurnSeries(job, model);
    if (measurable(count)) this.turnsRecordedCounter.inc({ job_id: job, model, status }, count);
  }

  setTurnsTotal(job: string, model: string, turns: number): void {
    this.ensureTurnSeries(job, model);
    this.turnsPlanned.set({ job_id: job, model }, turns);
  }

  setJobProgress(job: string, ratio: number, etaSeconds: number): void {
    if (!this.jobModels.has(job)) this.jobModels.set(job, new Set());
    this.jobProgress.set({ job_id: job }, ratio);
    // An unknown ETA is no series rather than NaN: NaN poisons sums and shows as a number.
    if (measurable(etaSeconds)) this.jobEta.set({ job_id: job }, etaSeconds);
    else this.jobEta.remove({ job_id: job });
  }

  spend(job: string, provider: string, spentUsd: number, remainingUsd: number | undefined): void {
    const providers = this.jobSpendProviders.get(job) ?? new Set<string>();
    this.jobSpendProviders.set(job, providers);
    providers.add(provider);
    this.spendUsd.set({ job_id: job, provider }, spentUsd);
    if (remainingUsd === undefined) this.providerBudgetRemaining.remove({ job_id: job, provider });
    else this.providerBudgetRemaining.set({ job_id: job, provider }, remainingUsd);
  }

  budgetRemaining(job: string, remainingUsd: number | undefined): void {
    if (remainingUsd === undefined) this.jobBudgetRemaining.remove({ job_id: job });
    else this.jobBudgetRemaining.set({ job_id: job }, remainingUsd);
  }

  setSharedKeys(samples: readonly SharedKeySample[]): void {
    for (const gauge of [
      this.sharedReachable,
      this.sharedParticipants,
      this.sharedBudgetRequests,
      this.sharedBudgetTokens,
      this.sharedBudgetConcurrency,
    ])
      gauge.reset();
    for (const gauge of [this.participantRequests, this.participantTokens, this.participantSlots])
      gauge.reset();
    for (const gauge of [this.learnedRemaining, this.learnedLimit, this.learnedReset]) gauge.reset();
    for (const sample of samples) {
      const key = { shared_key: sample.key };
      this.sharedReachable.set(key, sample.reachable ? 1 : 0);
      this.sharedParticipants.set(key, sample.participants.length);
      if (sample.requestsPerMinute !== undefined)
        this.sharedBudgetRequests.set(key, sample.requestsPerMinute / SECONDS_PER_MINUTE);
      if (sample.tokensPerMinute !== undefined)
        this.sharedBudgetTokens.set(key, sample.tokensPerMinute / SECONDS_PER_MINUTE);
      if (sample.maxConcurrency !== undefined) this.sharedBudgetConcurrency.set(key, sample.maxConcurrency);
      for (const kind of ['requests', 'tokens'] as const) {
        const bucket = sample.learned?.[kind];
        if (bucket === undefined) continue;
        this.learnedRemaining.set({ ...key, kind }, bucket.remaining);
        if (bucket.limit !== undefined) this.learnedLimit.set({ ...key, kind }, bucket.limit);
        this.learnedReset.set({ ...key, kind }, bucket.resetSeconds);
      }
      // The busiest participants by name; the others summed into one series.
      const ranked = [...sample.participants].sort((a, b) => b.requests + b.tokens - (a.requests + a.tokens));
      for (const [index, p] of ranked.entries()) {
        const labels = {
          ...key,
          participant:
            index < MAX_PARTICIPANT_SERIES - 1 || ranked.length <= MAX_PARTICIPANT_SERIES
              ? p.process
              : 'others',
        };
        this.participantRequests.inc(labels, p.requests);
        this.participantTokens.inc(labels, p.tokens);
        this.participantSlots.inc(labels, p.slots);
      }
    }
  }

  forgetJob(job: string): void {
    for (const provider of this.jobSpendProviders.get(job) ?? []) {
      this.spendUsd.remove({ job_id: job, provider });
      this.providerBudgetRemaining.remove({ job_id: job, provider });
    }
    this.jobSpendProviders.delete(job);
    this.jobBudgetRemaining.remove({ job_id: job });
    this.jobProgress.remove({ job_id: job });
    this.jobEta.remove({ job_id: job });
    for (const model of this.jobModels.get(job) ?? []) {
      this.turnsPlanned.remove({ job_id: job, model });
      this.modelRefused.remove({ job_id: job, model });
      for (const status of TURN_STATUSES) this.turnsRecordedCounter.remove({ job_id: job, model, status });
    }
    this.jobModels.delete(job);
  }

  workerRestarted(): void {
    this.workerRestarts.inc();
  }

  checkpointWrite(seconds: number): void {
    if (measurable(seconds)) this.checkpointWriteDuration.observe(seconds);
  }

  /**
   * Every outcome and direction of a model starts at 0 with its first attempt, so that
   * `rate()` sees the first 429 as an increase rather than a series that appears at 1.
   */
  private ensureModelSeries(provider: string, model: string): void {
    const key = `${provider}\u0000${model}`;
    if (this.knownModels.has(key)) return;
    this.knownModels.add(key);
    for (const outcome of OUTCOMES) this.requests.inc({ provider, model, outcome }, 0);
    for (const direction of ['input', 'output']) this.tokens.inc({ provider, model, direction }, 0);
  }

  /** Every status of a job's model starts at 0, for the same reason. */
  private ensureTurnSeries(job: string, model: string): void {
    let models = this.jobModels.get(job);
    if (!models) this.jobModels.set(job, (models = new Set()));
    if (models.has(model)) return;
    models.add(model);
    for (const status of TURN_STATUSES) this.turnsRecordedCounter.inc({ job_id: job, model, status }, 0);
    this.modelRefused.set({ job_id: job, model }, 0);
  }
}
