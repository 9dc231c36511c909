/**
 * The rate limiter of one provider, shared by every job and model on it, as a pure state machine:
 * waiters queue, `grant()` lets through those that fit every budget, `release()` frees the slot,
 * reconciles tokens and learns from the reply. The actor around it calls `grant()` after every
 * `enqueue`, `release`, `resume` and timer, and sets one timer for `nextWakeAt()`.
 */
import type { FailureKind, Usage } from '../providers/types.js';
import type { Clock } from './clock.js';
import type { SharedBudgetPort } from '../coordination/shared-budget.js';
import { AdaptiveConcurrency, type AdaptiveOptions } from './adaptive-concurrency.js';
import { HEADER_DIALECTS, type HeaderDialect } from './header-dialects.js';
import {
  BURST_WINDOW_MS,
  MIN_REQUEST_BURST,
  RATE_WINDOW_MS,
  QUOTA_PAUSE_BASE_MS,
  QUOTA_PAUSE_MAX_MS,
  RATE_LIMIT_PAUSE_BASE_MS,
  RATE_LIMIT_PAUSE_MAX_MS,
} from './defaults.js';
import { FairQueue } from './fair-queue.js';
import { LearnedBudget } from './learned-budget.js';
import {
  LIMIT_KINDS,
  parseRateLimitHeaders,
  publishesNoBudget,
  type LearnedLimits,
  type LimitKind,
  type LimitReading,
} from './rate-limit-headers.js';
import { isQuotaFailure } from './retry-policy.js';
import { WindowBudget, type BudgetEntry, type Pacing } from './window-budget.js';

/** Rate limits of one provider, as the provider's account allows. All optional. */
export interface Limits {
  /** Requests allowed in any 60 s window. */
  readonly requestsPerMinute?: number;
  /** Input + output tokens allowed in any 60 s window. */
  readonly tokensPerMinute?: number;
  /** Requests allowed in flight at once. */
  readonly maxConcurrency?: number;
}

/** Options of `RateLimiterCore`. */
export interface RateLimiterOptions {
  /** The provider's configured limits; each absent one is unlimited until headers announce it. Default none. */
  readonly limits?: Limits;
  /** Source of `now` for every call. */
  readonly clock: Clock;
  /** Tuning of adaptive concurrency. Default: the `*_ADAPTIVE_CONCURRENCY` constants. */
  readonly adaptive?: AdaptiveOptions;
  /** How the provider's rate-limit headers are written. Default: OpenAI's. */
  readonly dialect?: HeaderDialect;
  /**
   * The budget this provider account shares with other processes (`sharedLimits`), if any: a
   * request also needs a unit of its leases and one of its concurrency slots. Default: none.
   */
  readonly shared?: SharedBudgetPort;
  /** Longest pause after a 429 or an exhausted quota, in ms, whatever `retry-after` says. Default: none. */
  readonly maxPauseMs?: number;
}

/** A request waiting for permission to leave. */
export interface Waiter {
  /** Unique among waiting and in-flight requests; names the grant and the release. */
  readonly id: string;
  /** Fairness group (e.g. `job/model`): groups take turns. */
  readonly group: string;
  /** Higher goes first within the group (e.g. the conversation's remaining turns). */
  readonly priority: number;
  /** Estimated tokens of the request, input + `maxTokens` (`estimateRequestTokens`). */
  readonly tokens: number;
  /** The input part of `tokens`, for input/output token limits. Default: unknown (both charged `tokens`). */
  readonly inputTokens?: number;
}

/** Permission for one request to leave now; it holds 1 request, its tokens and a concurrency slot until released. */
export interface Grant {
  /** The waiter's id; pass it to `release`. */
  readonly id: string;
  /** The waiter's fairness group. */
  readonly group: string;
  /** Tokens reserved. */
  readonly tokens: number;
  /** When granted, ms since the epoch. */
  readonly grantedAt: number;
}

/** Headers of a reply, lower-cased names. */
type Headers = Readonly<Record<string, string>>;

/** How a granted request ended. `headers` default to none. */
export type ReleaseOutcome =
  | { readonly kind: 'ok'; readonly usage: Usage; readonly headers?: Headers }
  | { readonly kind: FailureKind; readonly headers?: Headers; readonly retryAfterMs?: number };

/** Why granting is paused: a 429 (`rate-limit`) or an exhausted quota (`quota`). */
export type PauseReason = 'rate-limit' | 'quota';

/** A pause of all granting. */
export interface LimiterPause {
  /** Why granting is paused. */
  readonly reason: PauseReason;
  /**
   * When granting may resume, ms since the epoch. After a quota pause it resumes with one request
   * at a time until one succeeds (`LimiterSnapshot.quotaProbing`).
   */
  readonly until: number;
  /** When the pause began, ms since the epoch. */
  readonly since: number;
}

/** The limiter's state for metrics and progress. */
export interface LimiterSnapshot {
  /** Requests queued, not yet granted. */
  readonly waiting: number;
  /** Requests granted and not yet released. */
  readonly inFlight: number;
  /** Requests allowed in flight now (configured, or the adaptive window). */
  readonly concurrencyLimit: number;
  /** True if `concurrencyLimit` adapts (no `maxConcurrency` configured). */
  readonly adaptiveConcurrency: boolean;
  /** The budgets in force: configured limits, or the rates headers announce where none is configured. */
  readonly limits: Limits;
  /** Requests sent in the last `RATE_WINDOW_MS`. */
  readonly requestsInWindow: number;
  /** Tokens sent (reserved, then reconciled) in the last `RATE_WINDOW_MS`. */
  readonly tokensInWindow: number;
  /** The last rate-limit headers read, if any. */
  readonly learned?: LearnedLimits;
  /** Set while granting is paused by a 429 or an exhausted quota. */
  readonly pause?: LimiterPause;
  /** True after a quota pause ended and until a request succeeds: one request at a time goes, to probe. */
  readonly quotaProbing?: boolean;
  /** See `RateLimiterCore.nextWakeAt`. */
  readonly nextWakeAt?: number;
}

interface InFlight {
  /** Grant sequence number: tells what was sent before or after it. */
  readonly seq: number;
  readonly charges: Readonly<Record<LimitKind, number>>;
  /** `sent` at the time of the grant, to tell what left after this request. */
  readonly sentAtGrant: Readonly<Record<LimitKind, number>>;
  readonly tokenEntry: BudgetEntry;
}

const zeroByKind = (): Record<LimitKind, number> => ({
  requests: 0,
  tokens: 0,
  inputTokens: 0,
  outputTokens: 0,
});

const positive = (n: number | undefined): number | undefined =>
  n !== undefined && Number.isFinite(n) && n > 0 ? n : undefined;

/** Relative change of an announced rate below which the budget is left as it is (readings jitter). */
const ANNOUNCED_RATE_TOLERANCE = 0.05;

/** Units used (`limit − remaining`) from which a period inferred from one reading is within 11 %. */
const PRECISE_INFERENCE_UNITS = 10;

const near = (a: number, b: number | undefined): boolean =>
  b !== undefined && Math.abs(a - b) <= ANNOUNCED_RATE_TOLERANCE * b;

/**
 * What an announced limit comes to per `RATE_WINDOW_MS`, when its period is known (stated by the
 * dialect or inferred) and not longer than that window. A longer period (Groq's requests per day)
 * says nothing about the pace within a minute; its `remaining` still holds troupe back.
 */
function perMinute(reading: LimitReading | undefined): number | undefined {
  const limit = positive(reading?.limit);
  const periodMs = positive(reading?.periodMs);
  if (
    limit === undefined ||
    periodMs === undefined ||
    periodMs > RATE_WINDOW_MS * (1 + ANNOUNCED_RATE_TOLERANCE)
  )
    return undefined;
  return (limit * RATE_WINDOW_MS) / periodMs;
}

/** The rate limiter of one provider; `now` comes from the injected clock. */
export class RateLimiterCore {
  private readonly clock: Clock;
  private configured: Limits;
  private readonly queue = new FairQueue<Waiter>();
  private readonly inFlight = new Map<string, InFlight>();
  private readonly requests = new WindowBudget(MIN_REQUEST_BURST);
  private readonly tokens = new WindowBudget(1);
  private readonly dialect: HeaderDialect;
  private readonly maxPauseMs: number;
  /** Per-minute rates the provider's announced limits come to, where a period is known and short. */
  private readonly announced: { requests?: number; tokens?: number } = {};
  /** Units used by the reading that set each announced rate (Infinity: a stated period); see `adopt`. */
  private readonly announcedPrecision = { requests: 0, tokens: 0 };
  private readonly learnedBudgets = new Map<LimitKind, LearnedBudget>();
  private lastLearned: LearnedLimits | undefined;
  /** Units granted so far, per kind (estimates). */
  private readonly sent = zeroByKind();
  private grantSeq = 0;
  private pause: LimiterPause | undefined;
  /** 429s in a row without a success, counting one per overload: they lengthen the pause. */
  private rateLimitStreak = 0;
  /** Quota pauses in a row without a success: they lengthen the next one (when no retry-after says). */
  private quotaStreak = 0;
  /** The last grant made when the current quota pause began: failures of earlier grants belong to it. */
  private quotaSeq = 0;
  /**
   * Set when a quota pause has ended, until a request succeeds: only one request at a time goes,
   * so that a provider still out of quota sees one request per pause, not the whole queue.
   * `id` is the request out as the probe, if any.
   */
  private quotaProbe: { id: string | undefined } | undefined;
  private readonly adaptive: AdaptiveConcurrency;
  private readonly shared: SharedBudgetPort | undefined;

  constructor(options: RateLimiterOptions) {
    this.clock = options.clock;
    this.dialect = options.dialect ?? HEADER_DIALECTS.openai;
    this.shared = options.shared;
    this.maxPauseMs = options.maxPauseMs ?? Number.POSITIVE_INFINITY;
    this.configured = options.limits ?? {};
    this.adaptive = new AdaptiveConcurrency(options.adaptive);
    this.applyLimits(this.clock.now());
  }

  /** Replaces the configured limits (learned ones still apply). */
  setLimits(limits: Limits | undefined): void {
    this.configured = limits ?? {};
    this.applyLimits(this.clock.now());
  }

  /** Queues a request; throws if its id is already waiting or in flight. */
  enqueue(waiter: Waiter): void {
    if (this.inFlight.has(waiter.id)) throw new Error(`"${waiter.id}" is already in flight`);
    if (!(waiter.tokens >= 0) || !Number.isFinite(waiter.tokens)) {
      throw new RangeError(`"${waiter.id}": tokens must be a finite number ≥ 0, got ${waiter.tokens}`);
    }
    this.queue.push(waiter);
  }

  /** Removes a waiting request (its job was cancelled); true if it was waiting. In-flight ones end with `release`. */
  cancel(id: string): boolean {
    return this.queue.remove(id) !== undefined;
  }

  /**
   * Lets through every waiter that fits all budgets now (at most `max`), groups in turn, by
   * priority within a group.
   */
  grant(max: number = Number.POSITIVE_INFINITY): Grant[] {
    const now = this.clock.now();
    this.expire(now);
    const granted: Grant[] = [];
    // Strict turns: when the waiter whose turn it is does not fit, nobody overtakes it, so that
    // a large request is never starved by a stream of small ones.
    while (granted.length < max && !this.pause && this.inFlight.size < this.slotsNow(now)) {
      if (this.quotaProbe?.id !== undefined) break;
      const waiter = this.queue.peek();
      if (!waiter || this.readyAt(waiter, now) > now) break;
      this.queue.shift();
      granted.push(this.start(waiter, now));
      if (this.quotaProbe) this.quotaProbe.id = waiter.id;
    }
    return granted;
  }

  /**
   * When `grant()` could next succeed, ms since the epoch (≤ now: at once); undefined if nothing
   * waits, or only a `release` can help (full concurrency, or a quota probe out).
   */
  nextWakeAt(): number | undefined {
    const now = this.clock.now();
    this.expire(now);
    const waiter = this.queue.peek();
    if (!waiter || this.inFlight.size >= this.slotsNow(now)) return undefined;
    if (this.quotaProbe?.id !== undefined) return undefined;
    const at = Math.max(this.pause?.until ?? now, this.readyAt(waiter, now));
    return Number.isFinite(at) ? at : undefined;
  }

  /**
   * Ends a granted request: frees its slot, reconciles its tokens with the reported usage (refund or
   * debt), learns from its headers, and adapts to 429s and quota errors. Failed requests keep their
   * reservation: providers count refused requests too. False if `id` was not in flight.
   */
  release(id: string, outcome: ReleaseOutcome): boolean {
    const flight = this.inFlight.get(id);
    if (!flight) return false;
    const windowWasFull = this.inFlight.size >= this.concurrencyLimit();
    this.inFlight.delete(id);
    const now = this.clock.now();
    this.expire(now);
    const learned = parseRateLimitHeaders(outcome.headers ?? {}, now, this.dialect);
    // shared limits: the request's lease learns its real tokens (a failure keeps its estimate),
    // and the other processes what the headers said.
    this.shared?.end(
      id,
      outcome.kind === 'ok' ? outcome.usage.inputTokens + outcome.usage.outputTokens : undefined,
      now,
      learned,
    );
    if (outcome.kind === 'ok') this.succeeded(flight, outcome.usage, windowWasFull, now);
    this.learn(learned, flight, now);
    // Only an answer says the provider takes more: a refusal's headers must not widen the window.
    if (outcome.kind === 'ok') {
      const requestsLeft = learned.requests?.remaining;
      if (requestsLeft !== undefined) this.adaptive.announced(requestsLeft);
      else if (
        outcome.headers !== undefined &&
        (this.dialect.name === 'none' || publishesNoBudget(outcome.headers))
      )
        this.adaptive.noBudgetAnnounced();
    }
    if (outcome.kind !== 'ok') {
      const retryAfterMs = outcome.retryAfterMs ?? learned.retryAfterMs;
      if (isQuotaFailure({ kind: outcome.kind, retryAfterMs })) this.pauseForQuota(flight, retryAfterMs, now);
      else {
        // The probe failed for another reason (or was cancelled): the quota is still unknown.
        if (this.quotaProbe?.id === id) this.quotaProbe.id = undefined;
        if (outcome.kind === 'rate_limited') this.rateLimited(flight, retryAfterMs, now);
      }
      // shared limits: every process on the account waits out a pause one of them met.
      if (this.pause !== undefined) this.shared?.sharePause(this.pause.until, this.pause.reason);
    }
    return true;
  }

  /** Ends any pause and quota probing (an operator says the quota is back). */
  resume(): void {
    this.pause = undefined;
    this.quotaProbe = undefined;
    this.quotaStreak = 0;
  }

  /** The limiter's state for metrics and progress. */
  snapshot(): LimiterSnapshot {
    const now = this.clock.now();
    this.expire(now);
    const nextWakeAt = this.nextWakeAt();
    const limits: Limits = {
      ...(this.requests.limit !== undefined && { requestsPerMinute: this.requests.limit }),
      ...(this.tokens.limit !== undefined && { tokensPerMinute: this.tokens.limit }),
      maxConcurrency: this.concurrencyLimit(),
    };
    return {
      waiting: this.queue.size,
      inFlight: this.inFlight.size,
      concurrencyLimit: this.concurrencyLimit(),
      adaptiveConcurrency: this.isAdaptive(),
      limits,
      requestsInWindow: this.requests.used(now),
      tokensInWindow: this.tokens.used(now),
      ...(this.lastLearned && { learned: this.lastLearned }),
      ...(this.pause && { pause: this.pause }),
      ...(this.quotaProbe && { quotaProbing: true }),
      ...(nextWakeAt !== undefined && { nextWakeAt }),
    };
  }

  private isAdaptive(): boolean {
    return positive(this.configured.maxConcurrency) === undefined;
  }

  /** Requests allowed in flight now: the concurrency limit, and the shared slots held (shared limits). */
  private slotsNow(now: number): number {
    const local = this.concurrencyLimit();
    return this.shared ? Math.min(local, this.shared.slots(this.inFlight.size, this.queue.size, now)) : local;
  }

  private concurrencyLimit(): number {
    return positive(this.configured.maxConcurrency) ?? this.adaptive.limit;
  }

  /** What a waiter costs in each kind of budget. */
  private charges(waiter: Waiter): Record<LimitKind, number> {
    const input = waiter.inputTokens;
    return {
      requests: 1,
      tokens: waiter.tokens,
      // Without the split, each of the input and output limits is charged the whole estimate: safe.
      inputTokens: input ?? waiter.tokens,
      outputTokens: input !== undefined ? Math.max(0, waiter.tokens - input) : waiter.tokens,
    };
  }

  private readyAt(waiter: Waiter, now: number): number {
    const charges = this.charges(waiter);
    // shared limits: without a lease unit the waiter waits for the lease manager's wake-up.
    if (this.shared && !this.shared.canStart({ requests: 1, tokens: waiter.tokens }, now)) return Infinity;
    let at = Math.max(
      this.requests.availableAt(1, now, this.pacing('requests')),
      this.tokens.availableAt(waiter.tokens, now, this.pacing('tokens')),
    );
    for (const [kind, budget] of this.learnedBudgets) {
      at = Math.max(at, budget.availableAt(charges[kind] + this.reserveOf(kind, budget), now));
    }
    return at;
  }

  /**
   * How a per-minute budget is paced: evenly while troupe knows nothing of the provider's own
   * window; by the window alone while the provider's headers describe its bucket (a learned budget
   * of that kind, in force until its reset), which then says what may leave before the reset.
   */
  private pacing(kind: 'requests' | 'tokens'): Pacing {
    return this.learnedBudgets.has(kind) ? 'window' : 'even';
  }

  /**
   * What is left in the provider's bucket when troupe spends it by the window (see `pacing`):
   * `BURST_WINDOW_MS` of the rate in force (the per-minute rate, else the bucket's own refill). A
   * request counts where it arrives, and arrivals bunch up by the jitter between troupe's grant and
   * the provider, or are counted after the reading that troupe believes includes them; spending
   * the last unit the headers announce drew 429s at the margin. The reserve costs the job half a
   * second once, not the rate.
   */
  private reserveOf(kind: LimitKind, budget: LearnedBudget): number {
    if (kind !== 'requests' && kind !== 'tokens') return 0;
    return (this.ratePerMs(kind) ?? budget.refillPerMs) * BURST_WINDOW_MS;
  }

  /** The per-minute rate in force for `kind` (configured, else announced), in units per ms. */
  private ratePerMs(kind: LimitKind): number | undefined {
    const perMinute =
      kind === 'requests' ? this.requests.limit : kind === 'tokens' ? this.tokens.limit : undefined;
    return perMinute === undefined ? undefined : perMinute / RATE_WINDOW_MS;
  }

  private start(waiter: Waiter, now: number): Grant {
    const charges = this.charges(waiter);
    this.requests.take(1, now, this.pacing('requests'));
    const tokenEntry = this.tokens.take(waiter.tokens, now, this.pacing('tokens'));
    for (const [kind, budget] of this.learnedBudgets) budget.take(charges[kind], now);
    for (const kind of LIMIT_KINDS) this.sent[kind] += charges[kind];
    this.shared?.start(waiter.id, { requests: 1, tokens: waiter.tokens }, now); // shared limits
    const seq = ++this.grantSeq;
    this.inFlight.set(waiter.id, { seq, charges, sentAtGrant: { ...this.sent }, tokenEntry });
    return { id: waiter.id, group: waiter.group, tokens: waiter.tokens, grantedAt: now };
  }

  private succeeded(flight: InFlight, usage: Usage, windowWasFull: boolean, now: number): void {
    const actual: Record<LimitKind, number> = {
      requests: 1,
      tokens: usage.inputTokens + usage.outputTokens,
      inputTokens: usage.inputTokens,
      outputTokens: usage.outputTokens,
    };
    this.tokens.adjust(flight.tokenEntry, actual.tokens - flight.charges.tokens, now);
    for (const [kind, budget] of this.learnedBudgets) budget.adjust(actual[kind] - flight.charges[kind], now);
    this.rateLimitStreak = 0;
    // Only a request sent after the quota pause began shows that the quota is back.
    if (flight.seq > this.quotaSeq) {
      this.quotaStreak = 0;
      this.quotaProbe = undefined;
    }
    this.adaptive.succeeded(flight.seq, windowWasFull);
  }

  private learn(learned: LearnedLimits, flight: InFlight, now: number): void {
    if (Object.keys(learned).length === 0) return;
    this.lastLearned = learned;
    const changed = [this.adopt('requests', learned.requests), this.adopt('tokens', learned.tokens)];
    if (changed.includes(true)) {
      this.applyLimits(now);
      // shared limits: an announced rate is offered to the other processes as this one's limit.
      this.shared?.announce({
        ...(this.announced.requests !== undefined && { requestsPerMinute: this.announced.requests }),
        ...(this.announced.tokens !== undefined && { tokensPerMinute: this.announced.tokens }),
      });
    }
    let olderInFlight: Record<LimitKind, number> | undefined;
    for (const kind of LIMIT_KINDS) {
      const reading = learned[kind];
      if (reading?.remaining === undefined) continue;
      olderInFlight ??= this.inFlightBefore(flight.seq);
      const unseen = this.sent[kind] - flight.sentAtGrant[kind] + olderInFlight[kind];
      const budget = LearnedBudget.fromReading(
        reading,
        unseen,
        now,
        this.dialect.remainingHoldsMs,
        this.ratePerMs(kind),
      );
      if (budget) this.learnedBudgets.set(kind, budget);
      else this.learnedBudgets.delete(kind);
    }
  }

  /**
   * Adopts the per-minute rate a reading announces for `kind`, if its period is known and it is
   * as precise as the one in force; true if the rate in force changed. A stated period is exact.
   * An inferred one rests on the units used (`limit − remaining`): a `remaining` rounded down by
   * less than one unit makes a reading of 1 used say up to twice the rate, one of 10 at most 11 %
   * more. So a reading replaces an inferred rate only if it used as many units, or
   * `PRECISE_INFERENCE_UNITS`: the job's later, fuller readings settle it.
   */
  private adopt(kind: 'requests' | 'tokens', reading: LimitReading | undefined): boolean {
    const rate = perMinute(reading);
    if (rate === undefined || reading === undefined) return false;
    const precision = reading.periodInferred ? (reading.limit ?? 0) - (reading.remaining ?? 0) : Infinity;
    if (precision < Math.min(this.announcedPrecision[kind], PRECISE_INFERENCE_UNITS)) return false;
    this.announcedPrecision[kind] = precision;
    if (near(rate, this.announced[kind])) return false;
    this.announced[kind] = rate;
    return true;
  }

  /**
   * What the requests still in flight that were granted before grant `seq` charged: the provider
   * may not have counted them when it answered `seq` (a request granted earlier may leave later,
   * on a busy event loop or another connection), so a reading of `remaining` is taken as not
   * including them. Requests in flight are kept in grant order: only those older are walked.
   */
  private inFlightBefore(seq: number): Record<LimitKind, number> {
    const charged = zeroByKind();
    for (const other of this.inFlight.values()) {
      if (other.seq > seq) break;
      for (const kind of LIMIT_KINDS) charged[kind] += other.charges[kind];
    }
    return charged;
  }

  /**
   * The configured limits; an announced rate is adopted only where none is configured. An announced
   * number never lowers a configured rate: the headers' `remaining` (the learned budgets) holds
   * troupe back when the provider says nothing is left, and a 429 pauses it.
   */
  private applyLimits(now: number): void {
    const apply = (budget: WindowBudget, configured: number | undefined, announced: number | undefined) => {
      const limit = positive(configured);
      // A configured rate caps every minute; an announced one only paces (see `WindowBudget.setLimit`).
      if (limit !== undefined) budget.setLimit(limit, now);
      else budget.setLimit(announced, now, false);
    };
    apply(this.requests, this.configured.requestsPerMinute, this.announced.requests);
    apply(this.tokens, this.configured.tokensPerMinute, this.announced.tokens);
  }

  private rateLimited(flight: InFlight, retryAfterMs: number | undefined, now: number): void {
    if (this.adaptive.rateLimited(flight.seq, this.grantSeq)) this.rateLimitStreak++;
    const waitMs =
      retryAfterMs ??
      Math.min(
        RATE_LIMIT_PAUSE_MAX_MS,
        RATE_LIMIT_PAUSE_BASE_MS * 2 ** Math.max(0, this.rateLimitStreak - 1),
      );
    const until = now + Math.min(waitMs, this.maxPauseMs);
    if (this.pause?.reason === 'quota') return;
    if (this.pause !== undefined && this.pause.until >= until) return;
    this.pause = { reason: 'rate-limit', until, since: this.pause?.since ?? now };
  }

  /**
   * Pauses for the retry-after, or else for `QUOTA_PAUSE_BASE_MS` doubling with every pause in a
   * row (up to `QUOTA_PAUSE_MAX_MS`): nothing may tell troupe when a quota is back, so it asks
   * again now and then, with one request. A failure of a request sent before the current pause
   * began is the same news, late: only a longer retry-after of its own lengthens the pause.
   */
  private pauseForQuota(flight: InFlight, retryAfterMs: number | undefined, now: number): void {
    const current = this.pause?.reason === 'quota' ? this.pause : undefined;
    if (flight.seq <= this.quotaSeq) {
      const until = retryAfterMs === undefined ? undefined : now + Math.min(retryAfterMs, this.maxPauseMs);
      if (current && until !== undefined && until > current.until) this.pause = { ...current, until };
      return;
    }
    this.quotaStreak++;
    this.quotaSeq = this.grantSeq;
    this.quotaProbe = undefined;
    const waitMs =
      retryAfterMs ??
      Math.min(QUOTA_PAUSE_MAX_MS, QUOTA_PAUSE_BASE_MS * 2 ** Math.max(0, this.quotaStreak - 1));
    this.pause = {
      reason: 'quota',
      since: current?.since ?? now,
      until: Math.max(now + Math.min(waitMs, this.maxPauseMs), current?.until ?? 0),
    };
  }

  private expire(now: number): void {
    if (this.pause !== undefined && now >= this.pause.until) {
      if (this.pause.reason === 'quota') this.quotaProbe = { id: undefined };
      this.pause = undefined;
    }
    for (const [kind, budget] of this.learnedBudgets) {
      if (budget.expired(now)) this.learnedBudgets.delete(kind);
    }
  }
}
