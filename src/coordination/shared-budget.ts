/**
 * One process's side of a shared budget: it keeps a `LeasePool` filled from the coordination
 * store (one round trip per lease, not per request), holds concurrency slots as TTL leases,
 * renews itself while alive, shares pauses, and when the store is away spends only what it
 * already holds: then every request waits, and `status` says "coordination store unreachable".
 *
 * The rate limiter consults it synchronously (`SharedBudgetPort`); when what it waits for
 * arrives (a lease, slots, the store back), `onChange` tells the limiter to try again.
 */
import { hostname } from 'node:os';
import type { Clock } from '../resilience/clock.js';
import type { LearnedLimits } from '../resilience/rate-limit-headers.js';
import type {
  AcquireReply,
  BudgetStore,
  HeaderReading,
  LeaseAdjustment,
  ParticipantInfo,
  ParticipantLimits,
} from './budget-store.js';
import {
  HEARTBEAT_INTERVAL_MS,
  LEASE_USE_MS,
  PARTICIPANT_TTL_MS,
  RETRY_BASE_MS,
  RETRY_MAX_MS,
  PROBE_POLL_MS,
  SLOT_POLL_MS,
} from './defaults.js';
import { LeasePool, type SharedCharges } from './lease-pool.js';
import { CoordinationFailure, type CoordinationError } from './store-client.js';
import type { SharedProbe } from '../resilience/circuit-breaker-core.js';

/** What the rate limiter asks of a shared budget; all synchronous, on the hot path. */
export interface SharedBudgetPort {
  /** True if a request of `charges` may start now on what this process holds; if not, more is asked for. */
  canStart(charges: SharedCharges, now: number): boolean;
  /** Request `id` starts: its charges are taken from a lease. */
  start(id: string, charges: SharedCharges, now: number): void;
  /**
   * Request `id` ended; `usedTokens` when its usage is known (tokens are reconciled). `learned`:
   * what its reply's headers said (remaining, reset), shared with every participant.
   */
  end(id: string, usedTokens: number | undefined, now: number, learned?: LearnedLimits): void;
  /**
   * The per-minute rates the provider's headers announce (where the dialect states a period): a
   * participant with no limit configured offers them as its limits, so the budget in force is shared.
   */
  announce(rates: { readonly requestsPerMinute?: number; readonly tokensPerMinute?: number }): void;
  /**
   * Requests this process may have in flight now (its concurrency slots; Infinity when no
   * concurrency limit is shared), given how many are in flight and waiting.
   */
  slots(inFlight: number, waiting: number, now: number): number;
  /** A pause this process met (a 429, an exhausted quota): every participant waits it out. */
  sharePause(until: number, reason: string): void;
  /** A pause another participant met, in this process's clock, if one is in force. */
  pause(now: number): { readonly until: number; readonly reason: string } | undefined;
}

/**
 * What a circuit breaker tells the other participants, and asks of them: it opened (until then,
 * this process's clock), it closed (its probes succeeded), and, half-open, whether it holds the
 * one probe the participants send between them.
 */
export interface SharedBreakerPort extends SharedProbe {
  opened(until: number): void;
  closedAfterProbes(): void;
}

/** What the other participants' breakers tell this process's (every time on this process's clock). */
export interface SharedBreakerListener {
  /** Another participant's breaker opened until then: this one opens until the same time. */
  opened(until: number): void;
  /** The probe's holder closed its breaker: the outage is over for every participant. */
  closed(): void;
  /** This process now holds the half-open probe (`claimProbe` says true). */
  probeGranted(): void;
}

/** A shared budget's state for `status`, logs and metrics. */
export interface SharedBudgetStatus {
  readonly key: string;
  readonly url: string;
  readonly participant: string;
  /** False while calls fail: the provider then waits ("coordination store unreachable"). */
  readonly reachable: boolean;
  /** Why the last call failed, if it did (never a secret). */
  readonly error?: CoordinationError;
  /** Since when it has been unreachable, ms since the epoch. */
  readonly unreachableSince?: number;
  /** The budget in force, per minute / at once (absent: none). */
  readonly requestsPerMinute?: number;
  readonly tokensPerMinute?: number;
  readonly maxConcurrency?: number;
  readonly participants: number;
  /** Slots this process holds (Infinity: no shared concurrency limit). */
  readonly slots: number;
  /** Round trips made to the store (leases, renewals). */
  readonly calls: number;
  /** Times the store was found to have lost the budget's state. */
  readonly stateLosses: number;
  /** The rate-limit header dialect this process reads its provider's answers in. */
  readonly dialect?: string;
  /** The per-minute rates this process's provider headers announced, if any. */
  readonly announced?: { readonly requestsPerMinute?: number; readonly tokensPerMinute?: number };
}

/** What a `SharedBudget` needs. */
export interface SharedBudgetOptions {
  readonly store: BudgetStore;
  readonly url: string;
  /** The limits this process's suite configures for the provider. */
  readonly limits: ParticipantLimits;
  readonly provider: string;
  /** The provider's rate-limit header dialect (`openai`, `anthropic`, …), for `status`. */
  readonly dialect?: string;
  readonly clock: Clock;
  /** Called when a waiting request may now start (a lease or slots came, the store is back). */
  readonly onChange: () => void;
  /** Called on each change of reachability, and when the store lost its state. */
  readonly onEvent?: (event: SharedBudgetEvent) => void;
  /** Told what the other participants' circuit breakers did. */
  readonly breaker?: SharedBreakerListener;
}

/** Something worth a log line. */
export type SharedBudgetEvent =
  | { readonly type: 'unreachable'; readonly error: CoordinationError }
  | { readonly type: 'reachable'; readonly downMs: number }
  | { readonly type: 'state-lost' };

let participantSeq = 0;

/** One process's participation in one shared budget. */
export class SharedBudget implements SharedBudgetPort, SharedBreakerPort {
  readonly participant: string;
  private readonly pool: LeasePool;
  private readonly jobs = new Set<string>();
  /** Changes with every new job; the store knows the info of `infoKnown` (-1: none). */
  private infoVersion = 0;
  private infoKnown = -1;
  private leaseSeq = 0;
  private calling = false;
  private again = false;
  /**
   * Counts news for the store (a pause, an opening, a close, a probe wanted, announced rates):
   * a call asked for while another was out follows it only if it has news or a lease to ask for.
   */
  private news = 0;
  private closed = false;
  private timer: NodeJS.Timeout | undefined;
  private timerAt: number | undefined;
  private readonly heartbeat: NodeJS.Timeout;
  private failures = 0;
  private error: CoordinationError | undefined;
  private unreachableSince: number | undefined;
  private epoch: string | undefined;
  private stateLosses = 0;
  private calls = 0;
  /** Slots held, and until when (this clock) they are valid without a renewal. */
  private held = 0;
  private heldUntil = 0;
  private inFlight = 0;
  private waiting = 0;
  private force = { requestsPerMinute: 0, tokensPerMinute: 0, maxConcurrency: 0, participants: 0 };
  private sharedPause: { until: number; reason: string } | undefined;
  private myPause: { until: number; reason: string } | undefined;
  /** When a refused lease may be granted, this clock. */
  private retryAt = 0;
  /** The store's clock minus this one, from the last answer (0 before the first). */
  private storeOffset = 0;
  /** This process's breaker opened until then (this clock), not yet past. */
  private myBreaker: number | undefined;
  /** The latest breaker end (store clock) this process shared or was told of. */
  private breakerKnown = 0;
  /**
   * A breaker on the account (this process's or another's) is open until then (this clock; 0:
   * none): no request starts before it, whatever the breaker actor has yet to hear.
   */
  private breakerHold = 0;
  /** This process's breaker is half-open and would send the probe; `probeHeld`: the store granted it. */
  private wantsProbe = false;
  private probeHeld = false;
  /** This process's breaker closed after its probes succeeded; not yet told to the store. */
  private closedToTell = false;
  /** Counts this process's openings, so that a reply cannot close an opening it never saw. */
  private openings = 0;
  /** When each request in flight left, for the readings of its reply. */
  private readonly startedAt = new Map<string, number>();
  /** The newest header reading of each kind not yet delivered (times on this clock). */
  private readonly readings = new Map<HeaderReading['kind'], HeaderReading>();
  private announced: { requestsPerMinute?: number; tokensPerMinute?: number } = {};

  constructor(private readonly options: SharedBudgetOptions) {
    this.participant = `${hostname()}:${process.pid}:${++participantSeq}`;
    const l = options.limits;
    this.force.requestsPerMinute = l.requestsPerMinute ?? 0;
    this.force.tokensPerMinute = l.tokensPerMinute ?? 0;
    this.force.maxConcurrency = l.maxConcurrency ?? 0;
    this.pool = new LeasePool({
      requests: this.force.requestsPerMinute > 0,
      tokens: this.force.tokensPerMinute > 0,
    });
    this.heartbeat = setInterval(() => this.kick(true), HEARTBEAT_INTERVAL_MS);
    this.heartbeat.unref();
    this.kick();
  }

  /** Notes that `job` draws on this budget (shown in `status`). */
  addJob(job: string): void {
    if (this.jobs.has(job)) return;
    this.jobs.add(job);
    this.infoVersion++;
  }

  canStart(charges: SharedCharges, now: number): boolean {
    const pause = this.pause(now);
    if (pause !== undefined) {
      // Its end is when a lease may be granted again: ask then, and the limiter is woken.
      this.scheduleCall(pause.until);
      return false;
    }
    if (this.breakerHold > now) {
      // The breaker actor hears of an opening after this does: a unit taken in between must not go.
      this.scheduleCall(this.breakerHold);
      return false;
    }
    if (this.pool.canTake(charges, now)) return true;
    this.kick();
    return false;
  }

  start(id: string, charges: SharedCharges, now: number): void {
    this.pool.take(id, charges, now);
    this.startedAt.set(id, now);
    // A lease running low is renewed in the background, before it is empty.
    if (this.pool.wish(now, this.waiting) !== undefined) this.kick();
  }

  end(id: string, usedTokens: number | undefined, now: number, learned?: LearnedLimits): void {
    this.pool.settle(id, usedTokens);
    const sentAt = this.startedAt.get(id) ?? now;
    this.startedAt.delete(id);
    for (const kind of ['requests', 'tokens'] as const) {
      const reading = learned?.[kind];
      if (reading?.remaining === undefined || reading.resetAtMs === undefined) continue;
      const held = this.readings.get(kind);
      if (held !== undefined && held.sentAt > sentAt) continue;
      this.readings.set(kind, {
        kind,
        remaining: reading.remaining,
        ...(reading.limit !== undefined && { limit: reading.limit }),
        resetAt: reading.resetAtMs,
        sentAt,
      });
    }
  }

  announce(rates: { readonly requestsPerMinute?: number; readonly tokensPerMinute?: number }): void {
    const changed =
      rates.requestsPerMinute !== this.announced.requestsPerMinute ||
      rates.tokensPerMinute !== this.announced.tokensPerMinute;
    this.announced = { ...rates };
    if (changed) {
      this.news++;
      this.kick();
    }
  }

  opened(until: number): void {
    this.breakerHold = Math.max(this.breakerHold, until);
    this.openings++;
    this.wantsProbe = false;
    this.probeHeld = false;
    this.closedToTell = false;
    if (this.myBreaker !== undefined && this.myBreaker >= until) return;
    this.myBreaker = until;
    this.news++;
    this.kick();
  }

  closedAfterProbes(): void {
    this.wantsProbe = false;
    this.probeHeld = false;
    this.closedToTell = true;
    this.news++;
    this.kick(true);
  }

  claimProbe(): boolean {
    if (this.probeHeld) return true;
    if (!this.wantsProbe) {
      this.wantsProbe = true;
      this.news++;
      this.kick(true);
    }
    return false;
  }

  slots(inFlight: number, waiting: number, now: number): number {
    this.inFlight = inFlight;
    this.waiting = waiting;
    if (this.force.maxConcurrency <= 0) return Infinity;
    // Slots not renewed within a participant's TTL may have gone to others: use none of them.
    const held = now < this.heldUntil ? this.held : Math.min(this.held, inFlight);
    if (inFlight >= held && waiting > 0) this.scheduleCall(now + SLOT_POLL_MS);
    return held;
  }

  sharePause(until: number, reason: string): void {
    if (this.myPause !== undefined && this.myPause.until >= until) return;
    this.myPause = { until, reason };
    this.news++;
    this.kick();
  }

  pause(now: number): { readonly until: number; readonly reason: string } | undefined {
    return this.sharedPause !== undefined && this.sharedPause.until > now ? this.sharedPause : undefined;
  }

  /** The state for `status`, logs and metrics. */
  status(): SharedBudgetStatus {
    const positive = (n: number) => (n > 0 ? n : undefined);
    const rpm = positive(this.force.requestsPerMinute);
    const tpm = positive(this.force.tokensPerMinute);
    const conc = positive(this.force.maxConcurrency);
    return {
      key: this.options.store.sharedKey,
      url: this.options.url,
      participant: this.participant,
      reachable: this.error === undefined,
      ...(this.error && { error: this.error }),
      ...(this.unreachableSince !== undefined && { unreachableSince: this.unreachableSince }),
      ...(rpm !== undefined && { requestsPerMinute: rpm }),
      ...(tpm !== undefined && { tokensPerMinute: tpm }),
      ...(conc !== undefined && { maxConcurrency: conc }),
      participants: this.force.participants,
      slots: conc === undefined ? Infinity : this.held,
      calls: this.calls,
      stateLosses: this.stateLosses,
      ...(this.options.dialect !== undefined && { dialect: this.options.dialect }),
      ...((this.announced.requestsPerMinute !== undefined ||
        this.announced.tokensPerMinute !== undefined) && {
        announced: { ...this.announced },
      }),
    };
  }

  /** Leaves the budget: unused units and slots go back. Later calls do nothing. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    clearInterval(this.heartbeat);
    clearTimeout(this.timer);
    this.pool.giveBackAll();
    const now = this.options.clock.now();
    try {
      await this.options.store.acquire({
        ...this.baseRequest(now),
        adjustments: this.pool.drainAdjustments(now),
        leave: true,
      });
    } catch {
      // The store is away: the TTL gives the slots back.
    }
  }

  /**
   * Asks the store now, or as soon as the call in flight returns; after a failure, at the next
   * retry. A renewal goes even while a refused lease waits for its time (the TTL must not lapse).
   */
  private kick(renewal = false): void {
    if (this.closed) return;
    if (this.calling) {
      this.again = true;
      return;
    }
    const now = this.options.clock.now();
    if (this.failures > 0 && this.timerAt !== undefined) return;
    if (!renewal && this.retryAt > now) {
      this.scheduleCall(this.retryAt);
      return;
    }
    void this.call();
  }

  private scheduleCall(at: number): void {
    if (this.closed || (this.timerAt !== undefined && this.timerAt <= at)) return;
    clearTimeout(this.timer);
    this.timerAt = at;
    this.timer = setTimeout(
      () => {
        this.timerAt = undefined;
        this.timer = undefined;
        this.kick(true);
      },
      Math.max(0, at - this.options.clock.now()),
    );
    this.timer.unref();
  }

  private baseRequest(now: number) {
    const info: ParticipantInfo = {
      host: hostname(),
      pid: process.pid,
      provider: this.options.provider,
      jobs: [...this.jobs],
    };
    return {
      participant: this.participant,
      ...(this.infoKnown !== this.infoVersion && { info }),
      limits: this.limitsOffered(),
      lease: `${this.participant}#${++this.leaseSeq}`,
      wantRequests: 0,
      minRequests: 0,
      wantTokens: 0,
      minTokens: 0,
      slotsWanted:
        this.force.maxConcurrency > 0 ? Math.min(this.force.maxConcurrency, this.inFlight + this.waiting) : 0,
      slotsInUse: this.inFlight,
      adjustments: [] as LeaseAdjustment[],
      // Times go to the store on its clock.
      ...(this.myPause !== undefined &&
        this.myPause.until > now && {
          pause: { until: this.myPause.until + this.storeOffset, reason: this.myPause.reason },
        }),
      ...(this.myBreaker !== undefined &&
        this.myBreaker > now && { breakerOpenUntil: this.myBreaker + this.storeOffset }),
      readings: [...this.readings.values()].map((r) => ({
        ...r,
        resetAt: r.resetAt + this.storeOffset,
        sentAt: r.sentAt + this.storeOffset,
      })),
      breakerClosed: this.closedToTell,
      wantsProbe: this.wantsProbe,
    };
  }

  /** The limits this process offers: those configured, else those the provider's headers announce. */
  private limitsOffered(): ParticipantLimits {
    const l = this.options.limits;
    const rpm = (l.requestsPerMinute ?? 0) > 0 ? l.requestsPerMinute : this.announced.requestsPerMinute;
    const tpm = (l.tokensPerMinute ?? 0) > 0 ? l.tokensPerMinute : this.announced.tokensPerMinute;
    return {
      ...(rpm !== undefined && { requestsPerMinute: rpm }),
      ...(tpm !== undefined && { tokensPerMinute: tpm }),
      ...(l.maxConcurrency !== undefined && { maxConcurrency: l.maxConcurrency }),
    };
  }

  /** True if the pool would ask for a lease now (a request waits, or the leases run low). */
  private wantsLease(): boolean {
    return this.pool.wish(this.options.clock.now(), this.waiting) !== undefined;
  }

  /** The store's word on the half-open probe this process asked for. */
  private probeAnswered(reply: AcquireReply, startedAt: number): void {
    if (reply.breakerState === 'closed') {
      // Another participant's probes closed its breaker (or the store lost the outage): so does this one.
      this.wantsProbe = false;
      this.probeHeld = false;
      this.options.breaker?.closed();
      return;
    }
    const held = this.probeHeld;
    this.probeHeld = reply.probe;
    if (reply.probe && !held) this.options.breaker?.probeGranted();
    if (reply.probe) return;
    // Asked again when the opening ends, or soon while another participant's probe is out.
    this.scheduleCall(
      reply.breakerState === 'open'
        ? startedAt + (reply.breakerOpenUntil - reply.now)
        : startedAt + PROBE_POLL_MS,
    );
  }

  private async call(): Promise<void> {
    this.calling = true;
    this.again = false;
    const news = this.news;
    const startedAt = this.options.clock.now();
    // A lease refused until a later time is not asked for before it.
    const wish = startedAt + 1 >= this.retryAt ? this.pool.wish(startedAt, this.waiting) : undefined;
    const adjustments = this.pool.drainAdjustments(startedAt);
    const request = { ...this.baseRequest(startedAt), ...wish, adjustments };
    // A job added while this call is out changes the info again: the next call sends it.
    const infoVersion = this.infoVersion;
    // Readings newer than these, arriving while the call is out, stay for the next one.
    const readingsSent = [...this.readings.values()];
    const openings = this.openings;
    let changed = false;
    try {
      this.calls++;
      const reply = await this.options.store.acquire(request);
      if (this.closed) return;
      const wasDown = this.unreachableSince;
      this.failures = 0;
      this.error = undefined;
      this.unreachableSince = undefined;
      if (wasDown !== undefined) {
        changed = true;
        this.options.onEvent?.({ type: 'reachable', downMs: startedAt - wasDown });
      }
      if (this.epoch !== undefined && reply.epoch !== this.epoch) {
        this.stateLosses++;
        this.options.onEvent?.({ type: 'state-lost' });
      }
      this.epoch = reply.epoch;
      this.storeOffset = reply.now - startedAt;
      for (const delivered of readingsSent)
        if (this.readings.get(delivered.kind) === delivered) this.readings.delete(delivered.kind);
      if (request.breakerOpenUntil !== undefined)
        this.breakerKnown = Math.max(this.breakerKnown, request.breakerOpenUntil);
      if (reply.breakerOpenUntil > reply.now) {
        const until = startedAt + (reply.breakerOpenUntil - reply.now);
        this.breakerHold = Math.max(this.breakerHold, until);
        if (reply.breakerOpenUntil > this.breakerKnown + 1) {
          // Another participant's breaker opened: this one opens until the same time.
          this.breakerKnown = reply.breakerOpenUntil;
          this.options.breaker?.opened(until);
        }
      } else if (
        reply.breakerState === 'half-open' &&
        !this.wantsProbe &&
        reply.breakerOpenUntil > this.breakerKnown + 1
      ) {
        // An outage this process never saw open (it joined, or its calls were out meanwhile) is
        // waiting for its probe: this breaker waits for the outcome too, half-open, instead of
        // sending as if the provider were well.
        this.breakerKnown = reply.breakerOpenUntil;
        this.options.breaker?.opened(startedAt);
      }
      if (request.breakerClosed && this.closedToTell && openings === this.openings) this.closedToTell = false;
      // An answer to a probe asked for before this process's breaker changed again.
      if (request.wantsProbe && this.wantsProbe && openings === this.openings)
        this.probeAnswered(reply, startedAt);
      if (this.breakerHold !== 0 && this.breakerHold <= startedAt) {
        this.breakerHold = 0;
        changed = true;
      }
      if (reply.needsInfo) this.infoKnown = -1;
      else if (request.info !== undefined) this.infoKnown = infoVersion;
      if (this.infoKnown !== this.infoVersion) this.again = true;
      this.force = {
        requestsPerMinute: reply.requestsPerMinute,
        tokensPerMinute: reply.tokensPerMinute,
        maxConcurrency: reply.maxConcurrency,
        participants: reply.participants,
      };
      this.pool.setKinds(
        { requests: reply.requestsPerMinute > 0, tokens: reply.tokensPerMinute > 0 },
        startedAt,
      );
      if (reply.grantedRequests > 0 || reply.grantedTokens > 0) {
        // Counted from before the call: the store granted after it began, so this is never late.
        this.pool.add(request.lease, reply.grantedRequests, reply.grantedTokens, startedAt + LEASE_USE_MS);
        changed = true;
      }
      // The store's times, moved onto this clock by the decision's offset.
      const toLocal = (t: number) => startedAt + (t - reply.now);
      if (wish !== undefined) this.retryAt = reply.retryAt > 0 ? toLocal(reply.retryAt) : 0;
      if (reply.slots !== this.held) changed = true;
      this.held = reply.slots;
      this.heldUntil = startedAt + PARTICIPANT_TTL_MS;
      const pause =
        reply.pauseUntil > reply.now
          ? { until: toLocal(reply.pauseUntil), reason: reply.pauseReason }
          : undefined;
      if (pause?.until !== this.sharedPause?.until) changed = true;
      this.sharedPause = pause;
      if (this.myPause !== undefined && this.myPause.until <= startedAt) this.myPause = undefined;
      if (this.myBreaker !== undefined && this.myBreaker <= startedAt) this.myBreaker = undefined;
      if (this.retryAt > 0) this.scheduleCall(this.retryAt);
    } catch (error) {
      if (!(error instanceof CoordinationFailure)) throw error;
      this.pool.restoreAdjustments(adjustments);
      this.failures++;
      if (this.error === undefined) {
        this.unreachableSince = startedAt;
        this.options.onEvent?.({ type: 'unreachable', error: error.error });
        changed = true;
      }
      this.error = error.error;
      this.scheduleCall(startedAt + Math.min(RETRY_MAX_MS, RETRY_BASE_MS * 2 ** (this.failures - 1)));
    } finally {
      this.calling = false;
    }
    if (changed) this.options.onChange();
    // Asked for while this call was out: worth another round trip only with news or a lease to ask for.
    if (
      this.again &&
      this.failures === 0 &&
      (this.news !== news || this.infoKnown !== this.infoVersion || this.wantsLease())
    )
      this.kick();
  }
}
