/**
 * The circuit breaker of one provider as a pure state machine: closed → open → half-open → closed.
 * While it is open, callers wait (they send nothing, so they lose no attempt); after a cool-down,
 * one probe at a time is let through, and `probesToClose` successful probes close it again.
 *
 * It opens on evidence that the *provider* fails, not that a few requests do: only the first
 * failure of a request (a *fresh* attempt) counts. A request that fails again and again (a poison
 * prompt, a malformed conversation) counts once, however often it is retried, so a handful of bad
 * requests among healthy ones never looks like an outage. A refusal of the credentials (401/403)
 * puts it in `refused`, for good: no request of that account can succeed, so none is sent. So does
 * a provider that has never answered and refuses `consecutiveFailures` distinct requests in a row
 * as bad (400, 404, 422: a base URL with a wrong path, a parameter it does not take): one
 * message, instead of one failing request per conversation.
 */
import type { FailureKind } from '../providers/types.js';
import type { Clock } from './clock.js';
import { ERROR_CODES } from './errors.js';
import { SlidingWindowLog } from './sliding-window.js';

/** When a provider's circuit breaker opens and how it recovers. */
export interface BreakerPolicy {
  /**
   * Failures in a row (5xx, timeouts, connection errors, unreadable answers) that open it, each the
   * first failure of a different request: a request that failed before counts once. Default 5.
   */
  readonly consecutiveFailures: number;
  /** Ratio of failed requests (first failures only) over `windowMs` that opens it (with at least `minRequests`). Default 0.5. */
  readonly failureRatio: number;
  /** Length of the ratio window in ms. Default 30 000. */
  readonly windowMs: number;
  /** Requests the window needs before the ratio counts. Default 10. */
  readonly minRequests: number;
  /** First cool-down before a half-open probe, in ms; doubles while probes fail. Default 5 000. */
  readonly coolDownMs: number;
  /** Largest cool-down in ms. Default 120 000. */
  readonly maxCoolDownMs: number;
  /** Probes that must succeed in half-open before it closes. Default 2. */
  readonly probesToClose: number;
}

/** The breaker's state. */
export type BreakerState = 'closed' | 'open' | 'half-open' | 'refused';

/** Why the breaker entered its current state. */
export type BreakerReason =
  | 'initial'
  | 'consecutive-failures'
  | 'failure-ratio'
  | 'probe-failed'
  | 'cool-down-elapsed'
  | 'probes-succeeded'
  | 'credentials-refused'
  /** Distinct requests refused as bad (400, 404, 422) in a row, with no answer ever. */
  | 'requests-refused'
  /** Another process on the same shared key (`sharedLimits`) saw the provider fail. */
  | 'opened-elsewhere'
  /** Another process on the same shared key sent the half-open probes, and they succeeded. */
  | 'closed-elsewhere';

/** A change of state, for logs and metrics. */
export interface BreakerTransition {
  /** The state left. */
  readonly from: BreakerState;
  /** The state entered. */
  readonly to: BreakerState;
  /** Why. */
  readonly reason: BreakerReason;
  /** When it happened, ms since the epoch. */
  readonly at: number;
  /** On opening: how long this cool-down lasts, in ms. */
  readonly coolDownMs?: number;
}

/** The breaker's state with its reason and timing (see `CircuitBreakerCore.state`). */
export interface BreakerStatus {
  /** The current state. */
  readonly state: BreakerState;
  /** Why it entered that state. */
  readonly reason: BreakerReason;
  /** When it entered this state, ms since the epoch. */
  readonly since: number;
  /** The cool-down in force (open) or that the next opening will use (closed, half-open), in ms. */
  readonly coolDownMs: number;
  /** While open: when the first probe may go, ms since the epoch. */
  readonly nextProbeAt?: number;
  /** Failures in a row while closed (first failures of distinct requests). */
  readonly consecutiveFailures: number;
  /**
   * Failures that did not count toward opening: retries of requests that had failed before
   * (failing requests, not an outage). Since the breaker started.
   */
  readonly repeatedFailures: number;
  /** While refused: the provider's answer that refused the credentials. */
  readonly refusal?: BreakerRefusal;
  /**
   * While open or half-open: when it last left `closed`, ms since the epoch — since when the
   * provider has been unavailable (probes failing keep it so; only closing ends it).
   */
  readonly unavailableSince?: number;
}

/** Why a breaker refuses every request: the provider's answer to the credentials. */
export interface BreakerRefusal {
  /** A namespaced error code (`troupe:unauthorized`). */
  readonly code: string;
  /** The provider's message, as the turn records show it. */
  readonly message: string;
}

/** What the breaker knows of an attempt it records. */
export interface RecordedAttempt {
  /** How the attempt was admitted. Default `'pass'`. */
  readonly admission?: 'pass' | 'probe';
  /** True if the request had not failed before (its first failure counts; later ones do not). Default true. */
  readonly fresh?: boolean;
  /** The provider's message for a failure (no secret in it): a refusal shows it. */
  readonly message?: string;
}

/** What a caller may do now: send normally, send as the half-open probe, wait, or give up (refused). */
export type Admission = 'pass' | 'probe' | 'wait' | 'refused';

/** The result of an attempt as the breaker records it. */
export type BreakerOutcome = 'ok' | FailureKind;

/**
 * The half-open probe of a breaker shared by several processes (`sharedLimits`): one probe for
 * all of them, held by one process at a time.
 */
export interface SharedProbe {
  /**
   * True if this process holds the probe now. If not, it is asked for; the breaker is then woken
   * when it is granted, or opened or closed by the other processes' news.
   */
  claimProbe(): boolean;
}

/** Options of `CircuitBreakerCore`. */
export interface CircuitBreakerOptions {
  /** Called synchronously on every change of state. Default: none. */
  readonly onTransition?: (transition: BreakerTransition) => void;
  /** Half-open, a probe goes only when this grants it (shared limits). Default: none (every process probes). */
  readonly sharedProbe?: SharedProbe;
}

const FAILURE_KINDS: ReadonlySet<FailureKind> = new Set<FailureKind>([
  'server_error',
  'timeout',
  'connection',
  'malformed',
]);

/**
 * True if `kind` counts as a failure for the breaker (server error, timeout, connection, malformed).
 * The others (client error, rate limit, quota, cancelled) say nothing about the provider's health
 * and count as neither failure nor success.
 */
export function isBreakerFailure(kind: BreakerOutcome): boolean {
  return kind !== 'ok' && FAILURE_KINDS.has(kind);
}

/** The circuit breaker of one provider; `now` comes from the injected clock. */
export class CircuitBreakerCore {
  private mode: BreakerState = 'closed';
  private reason: BreakerReason = 'initial';
  private since: number;
  private consecutive = 0;
  // Outcomes and failures of the ratio window, with running sums: recording is O(1) amortised,
  // which matters at thousands of requests per second.
  private outcomes: SlidingWindowLog;
  private failures: SlidingWindowLog;
  private coolDownMs: number;
  private openUntil = 0;
  private probeInFlight = false;
  private probeSuccesses = 0;
  private repeated = 0;
  private refusal: BreakerRefusal | undefined;
  // Until the provider answers once, distinct requests it refused as bad in a row.
  private answered = false;
  private refusedInARow = 0;
  private unavailableSince: number | undefined;

  constructor(
    private readonly policy: BreakerPolicy,
    private readonly clock: Clock,
    private readonly options: CircuitBreakerOptions = {},
  ) {
    this.since = clock.now();
    this.coolDownMs = policy.coolDownMs;
    this.outcomes = new SlidingWindowLog(Number.POSITIVE_INFINITY, policy.windowMs);
    this.failures = new SlidingWindowLog(Number.POSITIVE_INFINITY, policy.windowMs);
  }

  /** True if a request could go now (closed, or half-open with no probe out). Changes nothing. */
  canPass(): boolean {
    this.refresh();
    return this.mode === 'closed' || (this.mode === 'half-open' && !this.probeInFlight);
  }

  /**
   * Asks to send a request: `'pass'` while closed; `'probe'` for the one probe of half-open (the
   * caller must then `record(outcome, 'probe')`); `'wait'` otherwise — ask again at `nextProbeAt()`
   * or after the probe's outcome is recorded; `'refused'` for good once the credentials were refused.
   */
  admit(): Admission {
    this.refresh();
    if (this.mode === 'refused') return 'refused';
    if (this.mode === 'closed') return 'pass';
    if (this.mode === 'half-open' && !this.probeInFlight) {
      if (this.options.sharedProbe?.claimProbe() === false) return 'wait';
      this.probeInFlight = true;
      return 'probe';
    }
    return 'wait';
  }

  /**
   * When a waiting caller should ask again, ms since the epoch: the end of the cool-down while open,
   * now while half-open with no probe out; undefined while closed (go now), while a probe is out
   * (its outcome decides), or half-open with a shared probe (its grant wakes the breaker).
   */
  nextProbeAt(): number | undefined {
    this.refresh();
    if (this.mode === 'open') return this.openUntil;
    if (this.mode === 'half-open' && !this.probeInFlight && this.options.sharedProbe === undefined)
      return this.clock.now();
    return undefined;
  }

  /**
   * Records the outcome of an attempt. Outcomes of requests passed before the breaker opened are
   * ignored while it is open or half-open: only probes decide recovery. A failure of a request
   * that failed before (`fresh: false`) neither opens the breaker nor resets its count.
   */
  record(outcome: BreakerOutcome, attempt: RecordedAttempt = {}): void {
    this.refresh();
    const now = this.clock.now();
    const admission = attempt.admission ?? 'pass';
    if (this.mode === 'refused') return;
    if (this.mode === 'half-open' && admission === 'probe') {
      if (!this.probeInFlight) return;
      this.probeInFlight = false;
      if (outcome === 'ok') {
        this.probeSuccesses++;
        if (this.probeSuccesses >= this.policy.probesToClose) this.close(now, 'probes-succeeded');
      } else if (isBreakerFailure(outcome)) {
        this.coolDownMs = Math.min(this.policy.maxCoolDownMs, this.coolDownMs * 2);
        this.open('probe-failed', now);
      }
      return;
    }
    if (this.mode !== 'closed') return;
    if (outcome === 'ok') this.answered = true;
    if (outcome === 'client_error') {
      this.recordRefusedRequest(attempt);
      return;
    }
    const failed = isBreakerFailure(outcome);
    if (!failed && outcome !== 'ok') return;
    if (failed && attempt.fresh === false) {
      this.repeated++;
      return;
    }
    this.consecutive = failed ? this.consecutive + 1 : 0;
    this.outcomes.add(1, now);
    if (failed) this.failures.add(1, now);
    if (this.consecutive >= this.policy.consecutiveFailures) {
      this.open('consecutive-failures', now);
    } else if (this.ratioExceeded(now)) {
      this.open('failure-ratio', now);
    }
  }

  /** The current state, why, since when, and the cool-down. */
  state(): BreakerStatus {
    this.refresh();
    return {
      state: this.mode,
      reason: this.reason,
      since: this.since,
      coolDownMs: this.coolDownMs,
      ...(this.mode === 'open' && { nextProbeAt: this.openUntil }),
      consecutiveFailures: this.consecutive,
      repeatedFailures: this.repeated,
      ...(this.refusal && { refusal: this.refusal }),
      ...(this.unavailableSince !== undefined && { unavailableSince: this.unavailableSince }),
    };
  }

  /**
   * The provider refused the credentials (401/403): no request of this account can succeed, so
   * none is sent any more. Only a new breaker (a restart with other credentials) undoes it.
   */
  refuse(refusal: BreakerRefusal, reason: BreakerReason = 'credentials-refused'): void {
    if (this.mode === 'refused') return;
    this.refusal = refusal;
    this.probeInFlight = false;
    this.transition('refused', reason, this.clock.now());
  }

  /**
   * A request refused as bad (400, 404, 422) fails its own turn; but a provider that has never
   * answered and refuses distinct requests in a row refuses them all (a wrong path in the base
   * URL, a parameter it does not take): then no request is sent any more.
   */
  private recordRefusedRequest(attempt: RecordedAttempt): void {
    if (this.answered || attempt.fresh === false) return;
    this.refusedInARow += 1;
    if (this.refusedInARow < this.policy.consecutiveFailures) return;
    const said = attempt.message ?? 'the provider refused the request';
    this.refuse(
      {
        code: ERROR_CODES.clientError,
        message: `${this.refusedInARow} requests in a row refused and none answered, so none is sent any more: ${said}`,
      },
      'requests-refused',
    );
  }

  /**
   * Another process sharing the provider's account opened its breaker until `until` (ms since the
   * epoch), or its probe failed: a closed breaker, or a half-open one waiting for a probe, opens
   * until then; an open one stays open at least that long. One whose own probe is out (its outcome
   * decides) and a refused one are left as they are. An opening that has already ended (the
   * outage's probe is not decided yet) takes a closed breaker to half-open through an opening of
   * no length: it then waits for that probe's outcome with the others instead of sending as if
   * the provider were known to be well.
   */
  openElsewhere(until: number): void {
    this.refresh();
    const now = this.clock.now();
    if (this.mode === 'open') {
      this.openUntil = Math.max(this.openUntil, until);
      return;
    }
    if (until <= now && this.mode !== 'closed') return;
    if (this.mode !== 'closed' && !(this.mode === 'half-open' && !this.probeInFlight)) return;
    until = Math.max(until, now);
    this.openUntil = until;
    this.consecutive = 0;
    this.resetWindow();
    this.probeInFlight = false;
    this.transition('open', 'opened-elsewhere', now, until - now);
  }

  /**
   * Another process sharing the provider's account closed its breaker: its half-open probes
   * succeeded. A half-open breaker with no probe of its own out closes too; any other is left as it
   * is (an opening newer than that probe stands).
   */
  closeElsewhere(): void {
    this.refresh();
    if (this.mode === 'half-open' && !this.probeInFlight) this.close(this.clock.now(), 'closed-elsewhere');
  }

  private ratioExceeded(now: number): boolean {
    const total = this.outcomes.used(now);
    if (total < this.policy.minRequests || total === 0) return false;
    return this.failures.used(now) / total >= this.policy.failureRatio;
  }

  private resetWindow(): void {
    this.outcomes = new SlidingWindowLog(Number.POSITIVE_INFINITY, this.policy.windowMs);
    this.failures = new SlidingWindowLog(Number.POSITIVE_INFINITY, this.policy.windowMs);
  }

  /** The cool-down ends by the passing of time, so any read of the state first catches up with it. */
  private refresh(): void {
    if (this.mode === 'open' && this.clock.now() >= this.openUntil) {
      this.probeInFlight = false;
      this.probeSuccesses = 0;
      this.transition('half-open', 'cool-down-elapsed', this.clock.now());
    }
  }

  private open(reason: BreakerReason, now: number): void {
    this.unavailableSince ??= now;
    this.openUntil = now + this.coolDownMs;
    this.consecutive = 0;
    this.resetWindow();
    this.probeInFlight = false;
    this.transition('open', reason, now, this.coolDownMs);
  }

  private close(now: number, reason: BreakerReason): void {
    this.unavailableSince = undefined;
    this.coolDownMs = this.policy.coolDownMs;
    this.consecutive = 0;
    this.resetWindow();
    this.transition('closed', reason, now);
  }

  private transition(to: BreakerState, reason: BreakerReason, at: number, coolDownMs?: number): void {
    const from = this.mode;
    this.mode = to;
    this.reason = reason;
    this.since = at;
    this.options.onTransition?.({ from, to, reason, at, ...(coolDownMs !== undefined && { coolDownMs }) });
  }
}
