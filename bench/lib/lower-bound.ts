/**
 * The lower bound on a job's wall time (the README's benchmarks section): for N turns,
 * conversations of at most T turns, latency L, R requests per minute and a concurrency cap C,
 *
 *     max( T·L ,  N / R ,  N·L / C )
 *
 * and when the provider enforces a bucket that starts full with a burst of B requests, the rate
 * term is (N − B) / R: the first B requests leave at once. A tokens-per-minute limit adds the
 * same term in tokens, (K − Bₖ) / TPM, for a job that the provider charges K tokens in all. A
 * limit configured in the suite is a cap troupe keeps in every 60 s window, whatever the provider
 * would take: U units under a cap of C a minute need (⌈U / C⌉ − 1) minutes.
 */

const MS_PER_MINUTE = 60_000;

/** What the bound depends on. Absent limits do not bound anything. */
export interface BoundInputs {
  /** N: turns in the job. */
  readonly turns: number;
  /** T: turns of the longest conversation. */
  readonly maxTurns: number;
  /** L: latency of one request, in ms. */
  readonly latencyMs: number;
  /** R: requests per minute. */
  readonly requestsPerMinute?: number;
  /** B: requests the provider's bucket lets through at once. Default 0. */
  readonly burst?: number;
  /** C: requests in flight at once. */
  readonly concurrency?: number;
  /** A tokens-per-minute limit, and what the job costs under it. */
  readonly tokens?: {
    /** K: tokens the provider charged the job in all (input and output of every answered request). */
    readonly total: number;
    /** TPM: tokens per minute. */
    readonly perMinute: number;
    /** Bₖ: tokens the provider's bucket lets through at once. */
    readonly burst: number;
  };
  /** Caps configured in the suite, each kept in every 60 s window: units of the job and the cap. */
  readonly caps?: readonly { readonly units: number; readonly perMinute: number }[];
}

/** The bound and its terms, in ms. */
export interface LowerBound {
  readonly ms: number;
  /** Which term is the largest. */
  readonly term: 'T·L' | '(N−B)/R' | 'N·L/C' | '(K−Bₖ)/TPM' | '(⌈U/C⌉−1) min';
  readonly terms: {
    readonly chain: number;
    readonly rate: number;
    readonly concurrency: number;
    readonly tokens: number;
    readonly cap: number;
  };
}

/** The lower bound on the wall time of a job shaped like `inputs`. */
export function lowerBound(inputs: BoundInputs): LowerBound {
  const { turns, maxTurns, latencyMs, requestsPerMinute, burst = 0, concurrency } = inputs;
  const chain = maxTurns * latencyMs;
  const rate = rateTerm(turns, burst, requestsPerMinute);
  const parallel = concurrency !== undefined && concurrency > 0 ? (turns * latencyMs) / concurrency : 0;
  const tokens = rateTerm(inputs.tokens?.total ?? 0, inputs.tokens?.burst ?? 0, inputs.tokens?.perMinute);
  const cap = Math.max(
    0,
    ...(inputs.caps ?? []).map(({ units, perMinute }) => (Math.ceil(units / perMinute) - 1) * MS_PER_MINUTE),
  );
  const ms = Math.max(chain, rate, parallel, tokens, cap);
  const term =
    ms === cap && cap > 0
      ? '(⌈U/C⌉−1) min'
      : ms === tokens && tokens > 0
        ? '(K−Bₖ)/TPM'
        : ms === rate && rate > 0
          ? '(N−B)/R'
          : ms === parallel && parallel > chain
            ? 'N·L/C'
            : 'T·L';
  return { ms, term, terms: { chain, rate, concurrency: parallel, tokens, cap } };
}

/** (units − burst) / perMinute in ms; 0 without a limit. */
function rateTerm(units: number, burst: number, perMinute: number | undefined): number {
  return perMinute !== undefined && perMinute > 0
    ? (Math.max(0, units - burst) / perMinute) * MS_PER_MINUTE
    : 0;
}

/** Requests a provider bucket holding `burstSeconds` of refill lets through at once. */
export function burstOf(requestsPerMinute: number, burstSeconds: number): number {
  return Math.max(1, Math.floor((requestsPerMinute * burstSeconds) / 60));
}
