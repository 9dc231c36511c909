/**
 * The lower bound on a job's wall time (the README's benchmarks section): for N turns,
 * conversations of at most T turns, latency L, R requests per minute and a concurrency cap C,
 *
 *     max( T·L ,  N / R ,  N·L / C )
 *
 * and when the provider enforces a bucket that starts full with a burst of B requests, the rate
 * term is (N − B) / R: the first B requests leave at once.
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
}

/** The bound and its terms, in ms. */
export interface LowerBound {
  readonly ms: number;
  /** Which term is the largest. */
  readonly term: 'T·L' | '(N−B)/R' | 'N·L/C';
  readonly terms: { readonly chain: number; readonly rate: number; readonly concurrency: number };
}

/** The lower bound on the wall time of a job shaped like `inputs`. */
export function lowerBound(inputs: BoundInputs): LowerBound {
  const { turns, maxTurns, latencyMs, requestsPerMinute, burst = 0, concurrency } = inputs;
  const chain = maxTurns * latencyMs;
  const rate =
    requestsPerMinute !== undefined && requestsPerMinute > 0
      ? (Math.max(0, turns - burst) / requestsPerMinute) * MS_PER_MINUTE
      : 0;
  const parallel = concurrency !== undefined && concurrency > 0 ? (turns * latencyMs) / concurrency : 0;
  const ms = Math.max(chain, rate, parallel);
  const term = ms === rate && rate > 0 ? '(N−B)/R' : ms === parallel && parallel > chain ? 'N·L/C' : 'T·L';
  return { ms, term, terms: { chain, rate, concurrency: parallel } };
}

/** Requests a provider bucket holding `burstSeconds` of refill lets through at once. */
export function burstOf(requestsPerMinute: number, burstSeconds: number): number {
  return Math.max(1, Math.floor((requestsPerMinute * burstSeconds) / 60));
}
