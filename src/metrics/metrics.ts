/**
 * What troupe measures, as calls the rest of the code makes. The Prometheus
 * implementation lives beside this file; `noMetrics` is for processes and tests
 * that export nothing. Every observation is made in the primary process — the
 * workers report their attempts and commits to it — so no counter goes down when
 * a worker restarts.
 */

/** How an attempt ended, as the `outcome` label shows it. */
export type MetricOutcome = 'ok' | 'rate_limited' | 'server_error' | 'timeout' | 'client_error' | 'cancelled';

/** A circuit breaker's state as a number: 0 closed, 1 half-open, 2 open, 3 refused (credentials). */
export type BreakerStateValue = 0 | 1 | 2 | 3;

/** A shared budget (`sharedLimits`) as the metrics show it: labels are the key and `host:pid`, never a secret. */
export interface SharedKeySample {
  /** The `sharedLimits.key`. */
  readonly key: string;
  /** False while the coordination store cannot be reached. */
  readonly reachable: boolean;
  /** The budget in force (absent: not limited). */
  readonly requestsPerMinute?: number;
  readonly tokensPerMinute?: number;
  readonly maxConcurrency?: number;
  /** The learned buckets in force (what the providers' headers said is left, until their reset). */
  readonly learned?: {
    readonly requests?: LearnedBucketSample;
    readonly tokens?: LearnedBucketSample;
  };
  /** The live participants: requests and tokens granted in the current window, slots held. */
  readonly participants: readonly {
    readonly process: string;
    readonly requests: number;
    readonly tokens: number;
    readonly slots: number;
  }[];
}

/** A learned bucket of a shared key, as the metrics show it. */
export interface LearnedBucketSample {
  /** Units it holds now. */
  readonly remaining: number;
  /** The limit the headers stated, when they did. */
  readonly limit?: number;
  /** Seconds until the provider's bucket is full again. */
  readonly resetSeconds: number;
}

/** The observations troupe makes. All labels are ids from the suite: never keys, prompts or answers. */
export interface Metrics {
  /** One request attempt finished (any outcome), with its latency and token usage. */
  attempt(observation: {
    readonly provider: string;
    readonly model: string;
    readonly outcome: MetricOutcome;
    readonly latencySeconds: number;
    readonly inputTokens: number;
    readonly outputTokens: number;
    /** Estimated cost in US dollars, when prices are configured. */
    readonly costUsd?: number;
  }): void;
  /** Requests in flight to a provider now. */
  setInFlight(provider: string, requests: number): void;
  /** Requests waiting for a rate-limiter permit now. */
  setPermitsWaiting(provider: string, requests: number): void;
  /** A permit was granted after waiting this long. */
  permitWait(provider: string, seconds: number): void;
  /** A limit in force (configured, or learned from headers). `kind`: requests_per_minute, tokens_per_minute, concurrency. */
  setLimit(
    provider: string,
    kind: 'requests_per_minute' | 'tokens_per_minute' | 'concurrency',
    value: number,
  ): void;
  /** The provider's circuit breaker state. */
  setBreakerState(provider: string, state: BreakerStateValue): void;
  /**
   * Failures of requests that had failed before (a poison prompt tried again), since the breaker
   * started: failing requests, which the breaker does not count as an outage.
   */
  setRepeatedFailures(provider: string, failures: number): void;
  /**
   * The models their providers refused now (a 404 naming the model), each a job and a model's suite
   * id: replaces the last call's. Every other model of a job with series is shown not refused.
   */
  setRefusedModels(models: readonly { readonly job: string; readonly model: string }[]): void;
  /** Turns recorded for a job's model, by status. */
  turnsRecorded(job: string, model: string, status: 'ok' | 'failed' | 'skipped', count: number): void;
  /** Every turn a job's model has, recorded or not. */
  setTurnsTotal(job: string, model: string, turns: number): void;
  /** A job's progress: fraction of turns recorded (0–1) and seconds to the end (NaN while unknown). */
  setJobProgress(job: string, ratio: number, etaSeconds: number): void;
  /** A job no longer runs in this process: its series go. */
  forgetJob(job: string): void;
  /** A worker process was restarted. */
  workerRestarted(): void;
  /** A checkpoint write (one transaction of turns) took this long. */
  checkpointWrite(seconds: number): void;
  /**
   * A job's spend on a provider (reported usage at the model's prices), and what the provider's cap
   * leaves (undefined without a cap), in US dollars. Only for jobs with a spend cap.
   */
  spend(job: string, provider: string, spentUsd: number, remainingUsd: number | undefined): void;
  /** What a job's own cap leaves, reservations included, in US dollars; undefined without one. */
  budgetRemaining(job: string, remainingUsd: number | undefined): void;
  /** The shared budgets this process draws on, now: replaces every shared series of the last call. */
  setSharedKeys(samples: readonly SharedKeySample[]): void;
}

/** Metrics that record nothing. */
export const noMetrics: Metrics = {
  attempt: () => undefined,
  setInFlight: () => undefined,
  setPermitsWaiting: () => undefined,
  permitWait: () => undefined,
  setLimit: () => undefined,
  setBreakerState: () => undefined,
  setRepeatedFailures: () => undefined,
  setRefusedModels: () => undefined,
  turnsRecorded: () => undefined,
  setTurnsTotal: () => undefined,
  setJobProgress: () => undefined,
  forgetJob: () => undefined,
  workerRestarted: () => undefined,
  checkpointWrite: () => undefined,
  spend: () => undefined,
  budgetRemaining: () => undefined,
  setSharedKeys: () => undefined,
};
