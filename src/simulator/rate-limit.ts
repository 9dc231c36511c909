/**
 * The simulator's own rate limit, shaped like a provider's: one bucket per limit that
 * refills continuously at `limit` per minute and holds `burstSeconds` worth of refill.
 * Pure: every call takes the current time, so it is tested without sleeping.
 */

/** The limits the simulator enforces. Each limit is optional; none means no limit. */
export interface RateLimitOptions {
  /** Requests per minute. */
  readonly requestsPerMinute?: number;
  /** Input + output tokens per minute (output reserved from `max_tokens`, settled after the reply). */
  readonly tokensPerMinute?: number;
  /** Burst capacity of each bucket, in seconds of refill. Default 1. */
  readonly burstSeconds?: number;
  /** Length of "a minute" in ms; tests shrink it to stay fast. Default 60 000. */
  readonly minuteMs?: number;
  /**
   * The window each limit counts over, in ms: a bucket holds `limit × windowMs / minute` units and
   * refills over `windowMs` (60 per 6 s for 600 requests per minute and 6 000). Overrides
   * `burstSeconds`. Default: `burstSeconds`' worth.
   */
  readonly windowMs?: number;
  /**
   * The tokens bucket's window, in ms, where it differs from the requests' (Groq: requests over a
   * day, tokens over a minute). Default: as the requests' (`windowMs`, else `burstSeconds`).
   */
  readonly tokensWindowMs?: number;
}

/** Default burst capacity, in seconds of refill. */
export const DEFAULT_BURST_SECONDS = 1;
/** Default length of a minute in ms. */
export const DEFAULT_MINUTE_MS = 60_000;
const SECONDS_PER_MINUTE = 60;
/** A bucket always holds at least one unit, or a small limit would refuse everything. */
const MIN_CAPACITY = 1;

/** What the rate-limit headers report about one bucket. */
export interface BucketState {
  /**
   * The limit per real minute (60 s), as a client that measures real time must read it: the
   * configured limit scaled by 60 000 / `minuteMs` (equal to it with the default minute).
   */
  readonly limit: number;
  /** Units the bucket holds when full (`limit` over the window). */
  readonly capacity: number;
  /** Whole units that could be spent right now. */
  readonly remaining: number;
  /** Ms until the bucket is full again. */
  readonly resetMs: number;
}

/** The state of the configured buckets (absent: no such limit). */
export interface RateLimitState {
  readonly requests?: BucketState;
  readonly tokens?: BucketState;
}

/** Which limit refused a request. */
export type LimitName = 'requests' | 'tokens';

/** The answer to "may this request go now?". */
export type Admission =
  | { readonly admitted: true }
  | {
      readonly admitted: false;
      readonly limit: LimitName;
      /** The refusing limit per real minute (see `BucketState.limit`). */
      readonly limitPerMinute: number;
      /** Ms until the request would be admitted. */
      readonly waitMs: number;
    };

/** One continuously refilling bucket. */
export class Bucket {
  /** Units per ms. */
  private readonly ratePerMs: number;
  /** Units per real minute (`DEFAULT_MINUTE_MS`), whatever `minuteMs` is. */
  readonly limitPerRealMinute: number;
  /** Most units the bucket holds. */
  readonly capacity: number;
  private level: number;
  private updatedAt: number;

  constructor(
    /** Units per minute. */
    readonly limit: number,
    minuteMs: number,
    burstSeconds: number,
    nowMs: number,
  ) {
    this.ratePerMs = limit / minuteMs;
    this.limitPerRealMinute = (limit * DEFAULT_MINUTE_MS) / minuteMs;
    this.capacity = Math.max(MIN_CAPACITY, (limit * burstSeconds) / SECONDS_PER_MINUTE);
    this.level = this.capacity;
    this.updatedAt = nowMs;
  }

  private refill(nowMs: number): void {
    const elapsed = Math.max(0, nowMs - this.updatedAt);
    this.level = Math.min(this.capacity, this.level + elapsed * this.ratePerMs);
    this.updatedAt = Math.max(this.updatedAt, nowMs);
  }

  /**
   * Ms until `cost` units may be taken (0: now). A cost above the capacity goes when the
   * bucket is full and leaves it in debt, as providers let one large request through.
   */
  waitMs(cost: number, nowMs: number): number {
    this.refill(nowMs);
    const needed = Math.min(cost, this.capacity);
    return this.level >= needed ? 0 : (needed - this.level) / this.ratePerMs;
  }

  /** Takes `units` (negative gives back), never above capacity; may go into debt. */
  take(units: number, nowMs: number): void {
    this.refill(nowMs);
    this.level = Math.min(this.capacity, this.level - units);
  }

  /** The state for headers. */
  state(nowMs: number): BucketState {
    this.refill(nowMs);
    return {
      limit: this.limitPerRealMinute,
      capacity: this.capacity,
      remaining: Math.max(0, Math.floor(this.level)),
      resetMs: (this.capacity - this.level) / this.ratePerMs,
    };
  }
}

/** A window of `ms` as a bucket's burst, in seconds of refill. */
function windowSeconds(ms: number): number {
  return (ms / DEFAULT_MINUTE_MS) * SECONDS_PER_MINUTE;
}

function checkPositive(name: string, value: number | undefined): void {
  if (value !== undefined && !(Number.isFinite(value) && value > 0)) {
    throw new RangeError(`rateLimit.${name} must be a positive number, got ${value}`);
  }
}

/** The simulator's request and token buckets. */
export class SimulatorRateLimit {
  private readonly requests?: Bucket;
  private readonly tokens?: Bucket;

  constructor(options: RateLimitOptions | undefined, nowMs: number) {
    checkPositive('requestsPerMinute', options?.requestsPerMinute);
    checkPositive('tokensPerMinute', options?.tokensPerMinute);
    checkPositive('burstSeconds', options?.burstSeconds);
    checkPositive('minuteMs', options?.minuteMs);
    checkPositive('windowMs', options?.windowMs);
    checkPositive('tokensWindowMs', options?.tokensWindowMs);
    const minuteMs = options?.minuteMs ?? DEFAULT_MINUTE_MS;
    const burstSeconds =
      options?.windowMs !== undefined
        ? windowSeconds(options.windowMs)
        : (options?.burstSeconds ?? DEFAULT_BURST_SECONDS);
    if (options?.requestsPerMinute !== undefined) {
      this.requests = new Bucket(options.requestsPerMinute, minuteMs, burstSeconds, nowMs);
    }
    if (options?.tokensPerMinute !== undefined) {
      const tokenSeconds =
        options.tokensWindowMs !== undefined ? windowSeconds(options.tokensWindowMs) : burstSeconds;
      this.tokens = new Bucket(options.tokensPerMinute, minuteMs, tokenSeconds, nowMs);
    }
  }

  /** Admits one request reserving `tokens`, taking from every bucket, or says which limit refused. */
  admit(tokens: number, nowMs: number): Admission {
    const requestWait = this.requests?.waitMs(1, nowMs) ?? 0;
    if (this.requests && requestWait > 0) {
      return {
        admitted: false,
        limit: 'requests',
        limitPerMinute: this.requests.limitPerRealMinute,
        waitMs: requestWait,
      };
    }
    const tokenWait = this.tokens?.waitMs(tokens, nowMs) ?? 0;
    if (this.tokens && tokenWait > 0) {
      return {
        admitted: false,
        limit: 'tokens',
        limitPerMinute: this.tokens.limitPerRealMinute,
        waitMs: tokenWait,
      };
    }
    this.requests?.take(1, nowMs);
    this.tokens?.take(tokens, nowMs);
    return { admitted: true };
  }

  /** Settles an admitted request's tokens once its real use is known (negative gives back). */
  settleTokens(delta: number, nowMs: number): void {
    this.tokens?.take(delta, nowMs);
  }

  /** The state of every configured bucket. */
  state(nowMs: number): RateLimitState {
    return { requests: this.requests?.state(nowMs), tokens: this.tokens?.state(nowMs) };
  }
}
