import {
  CONCURRENCY_DECREASE_FACTOR,
  INITIAL_ADAPTIVE_CONCURRENCY,
  MAX_ADAPTIVE_CONCURRENCY,
  MIN_ADAPTIVE_CONCURRENCY,
} from './defaults.js';

/** Adaptive concurrency (AIMD), used when no `maxConcurrency` is configured. */
export interface AdaptiveOptions {
  /** Window at start, in requests. Default `INITIAL_ADAPTIVE_CONCURRENCY` (8). */
  readonly initial?: number;
  /** Smallest window, in requests. Default `MIN_ADAPTIVE_CONCURRENCY` (1). */
  readonly min?: number;
  /** Largest window, in requests. Default `MAX_ADAPTIVE_CONCURRENCY` (256). */
  readonly max?: number;
  /** Factor applied on a 429. Default `CONCURRENCY_DECREASE_FACTOR` (0.5). */
  readonly decreaseFactor?: number;
}

/**
 * A concurrency window that starts slow and grows fast until the provider first says no, then
 * probes gently (AIMD with slow start, as TCP does):
 * - slow start, until the first rate limit: every success from a full window adds one, so the
 *   window doubles with each window of successes — a healthy provider reaches hundreds of
 *   requests in flight within a few round trips instead of thousands of requests; a provider
 *   that publishes how many requests it takes (rate-limit headers) opens it at once to that
 *   (`announced`), and one whose answers publish no budget at all, to its max
 *   (`noBudgetAnnounced`);
 * - after it: one more per window of successes (additive increase);
 * - on a rate limit: the window shrinks by `decreaseFactor` (multiplicative decrease).
 * Requests are known by their grant sequence number (increasing), which tells the 429s of one
 * overload apart from the next: every request already out when the first 429 came back is part
 * of the same overload, and it shrinks the window once. Only rate limits shrink it; server errors
 * say nothing about how much the provider accepts.
 */
export class AdaptiveConcurrency {
  private readonly options: Required<AdaptiveOptions>;
  private current: number;
  private successes = 0;
  /** The last grant made when the last overload was seen. */
  private overloadSeq = 0;
  /** True until the first rate limit: the window doubles per window of successes. */
  private slowStart = true;

  constructor(options: AdaptiveOptions = {}) {
    this.options = {
      initial: options.initial ?? INITIAL_ADAPTIVE_CONCURRENCY,
      min: options.min ?? MIN_ADAPTIVE_CONCURRENCY,
      max: options.max ?? MAX_ADAPTIVE_CONCURRENCY,
      decreaseFactor: options.decreaseFactor ?? CONCURRENCY_DECREASE_FACTOR,
    };
    this.current = this.options.initial;
  }

  /** Requests allowed in flight now. */
  get limit(): number {
    return this.current;
  }

  /** True while the window still doubles (no rate limit seen yet). */
  get inSlowStart(): boolean {
    return this.slowStart;
  }

  /**
   * The request granted as `seq` succeeded; `windowWasFull` if the window was full when it ended.
   * Only a full window shows it may be too small, and a request sent before the last decrease
   * says nothing about the window that replaced it.
   */
  succeeded(seq: number, windowWasFull: boolean): void {
    if (!windowWasFull || seq <= this.overloadSeq) return;
    if (this.slowStart) {
      this.current = Math.min(this.options.max, this.current + 1);
      return;
    }
    if (++this.successes >= this.current) {
      this.current = Math.min(this.options.max, this.current + 1);
      this.successes = 0;
    }
  }

  /**
   * The provider's headers say it takes `requests` more requests now. While in slow start the
   * window opens to that many at once (up to the max; it never shrinks here): from then on the
   * budgets the provider publishes, which the limiter enforces, pace the requests, and doubling
   * per round trip — seconds, for a language model — would only hold back a provider that said
   * yes. After a rate limit it changes nothing: the window probes as AIMD does.
   */
  announced(requests: number): void {
    if (!this.slowStart || !Number.isFinite(requests)) return;
    this.current = Math.max(this.current, Math.min(this.options.max, Math.floor(requests)));
  }

  /**
   * An answer carried no rate-limit header at all: the provider publishes no budget. That is
   * typically a self-hosted server (vLLM, Ollama, llama.cpp), which queues what it cannot run yet
   * rather than refusing it. While in slow start the window opens to its max at once: doubling
   * per round trip would take minutes, at a model's latency, to reach what such a server takes.
   * A provider that does refuse (429) ends slow start, and the window halves per overload.
   */
  noBudgetAnnounced(): void {
    if (this.slowStart) this.current = this.options.max;
  }

  /**
   * The request granted as `seq` was rate limited; `lastSeq` is the latest grant so far. Returns
   * true if this starts a new overload (the window was then shrunk), false if it belongs to the
   * one already seen.
   */
  rateLimited(seq: number, lastSeq: number): boolean {
    if (seq <= this.overloadSeq) return false;
    this.slowStart = false;
    this.overloadSeq = lastSeq;
    this.current = Math.max(this.options.min, Math.floor(this.current * this.options.decreaseFactor));
    this.successes = 0;
    return true;
  }
}
