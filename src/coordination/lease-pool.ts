/**
 * The units of a shared budget this process holds: leases of a few requests and tokens, taken
 * from the coordination store, spent locally with no round trip, and given back when unused by
 * their use-by time. Pure: every method takes `now` (ms), so it is tested without sleeping.
 */
import type { LeaseAdjustment } from './budget-store.js';
import { LEASE_HORIZON_MS, MAX_LEASE_REQUESTS, RATE_SAMPLE_MS } from './defaults.js';

/** What one request costs in a shared budget. */
export interface SharedCharges {
  readonly requests: number;
  readonly tokens: number;
}

/** Which budgets are shared (a limit is in force for them). */
export interface SharedKinds {
  readonly requests: boolean;
  readonly tokens: boolean;
}

/** What to ask the store for next. */
export interface LeaseWish {
  readonly wantRequests: number;
  readonly minRequests: number;
  readonly wantTokens: number;
  readonly minTokens: number;
}

interface Lease {
  readonly id: string;
  requests: number;
  tokens: number;
  /** After this (ms, this process's clock) the units left go back. */
  readonly useBy: number;
}

interface Taken {
  readonly lease: string;
  readonly tokens: number;
}

/** Options of `LeasePool`. */
export interface LeasePoolOptions {
  /** A lease holds about this long's worth of recent rate, in ms. Default `LEASE_HORIZON_MS`. */
  readonly horizonMs?: number;
  /** Most requests one lease holds. Default `MAX_LEASE_REQUESTS`. */
  readonly maxRequests?: number;
}

/** Expired samples of the recent rate kept before the arrays are compacted. */
const COMPACT_AFTER = 1_024;

/** The leases one process holds on one shared budget. */
export class LeasePool {
  private leases: Lease[] = [];
  private readonly taken = new Map<string, Taken>();
  private readonly adjustments = new Map<string, { requests: number; tokens: number }>();
  /**
   * Times and token sizes of recent takes, oldest first from `recentHead`, with their token sum:
   * the rate that sizes leases, kept in O(1) per request (this is the hot path).
   */
  private recentAt: number[] = [];
  private recentTokens: number[] = [];
  private recentHead = 0;
  private recentTokenSum = 0;
  /** The head waiter's charges when the pool could not serve it. */
  private shortOf: SharedCharges | undefined;
  private readonly horizonMs: number;
  private readonly maxRequests: number;

  constructor(
    private kinds: SharedKinds,
    options: LeasePoolOptions = {},
  ) {
    this.horizonMs = options.horizonMs ?? LEASE_HORIZON_MS;
    this.maxRequests = options.maxRequests ?? MAX_LEASE_REQUESTS;
  }

  /** True if any budget is shared: otherwise every request goes without a lease. */
  get shared(): boolean {
    return this.kinds.requests || this.kinds.tokens;
  }

  /** Changes which budgets are shared (the store said which limits are in force). */
  setKinds(kinds: SharedKinds, now: number): void {
    if (kinds.requests === this.kinds.requests && kinds.tokens === this.kinds.tokens) return;
    this.kinds = kinds;
    // Leases of the old shape go back; new ones are asked for with the new shape.
    for (const lease of this.leases) this.giveBack(lease);
    this.leases = [];
    this.expire(now);
  }

  /**
   * True if a request of `charges` can go now on the leases held. If not, the pool remembers the
   * shortfall: `wish` then asks for at least that much.
   */
  canTake(charges: SharedCharges, now: number): boolean {
    if (!this.shared) return true;
    this.expire(now);
    if (this.leaseFor(charges) !== undefined) {
      this.shortOf = undefined;
      return true;
    }
    this.shortOf = charges;
    return false;
  }

  /** Takes `charges` for request `id` from a lease (check `canTake` first). */
  take(id: string, charges: SharedCharges, now: number): void {
    if (!this.shared) return;
    this.expire(now);
    const lease = this.leaseFor(charges);
    if (lease === undefined) throw new Error(`lease pool: no lease holds ${JSON.stringify(charges)}`);
    if (this.kinds.requests) lease.requests -= charges.requests;
    if (this.kinds.tokens) lease.tokens -= charges.tokens;
    this.taken.set(id, { lease: lease.id, tokens: charges.tokens });
    this.recentAt.push(now);
    this.recentTokens.push(charges.tokens);
    this.recentTokenSum += charges.tokens;
  }

  /**
   * Request `id` ended. With the tokens it really used, the difference with its estimate is
   * charged or refunded to its lease; without (it failed), the estimate stays spent.
   */
  settle(id: string, usedTokens: number | undefined): void {
    const taken = this.taken.get(id);
    if (!taken) return;
    this.taken.delete(id);
    if (usedTokens !== undefined && this.kinds.tokens && usedTokens !== taken.tokens) {
      this.adjust(taken.lease, 0, usedTokens - taken.tokens);
    }
  }

  /** Adds a lease the store granted. Units it holds must be sent by `useBy` (this process's clock). */
  add(id: string, requests: number, tokens: number, useBy: number): void {
    this.leases.push({
      id,
      requests: this.kinds.requests ? requests : Infinity,
      tokens: this.kinds.tokens ? tokens : Infinity,
      useBy,
    });
  }

  /**
   * What to ask for: at least what the head waiter lacks, about `horizonMs` of the recent rate;
   * undefined if no lease is needed now.
   */
  wish(now: number, waiting: number): LeaseWish | undefined {
    if (!this.shared) return undefined;
    this.expire(now);
    const short = this.shortOf;
    const left = this.leases.reduce((sum, l) => sum + (this.kinds.requests ? l.requests : 1), 0);
    const sized = this.sizedRequests(now, waiting);
    // Asked again before running dry while the rate holds: a lease arrives before it is needed.
    if (short === undefined && !(this.recentCount > 0 && left < Math.ceil(sized / 2))) return undefined;
    const tokensEach = this.averageTokens(short?.tokens ?? 0);
    return {
      wantRequests: this.kinds.requests ? sized : 0,
      minRequests: this.kinds.requests ? 1 : 0,
      wantTokens: this.kinds.tokens ? Math.max(short?.tokens ?? 0, Math.ceil(sized * tokensEach)) : 0,
      minTokens: this.kinds.tokens ? Math.max(1, short?.tokens ?? Math.ceil(tokensEach)) : 0,
    };
  }

  /** Unused units and token reconciliations to report with the next call; cleared. */
  drainAdjustments(now: number): LeaseAdjustment[] {
    this.expire(now);
    const out = [...this.adjustments].map(([lease, a]) => ({
      lease,
      requests: a.requests,
      tokens: a.tokens,
    }));
    this.adjustments.clear();
    return out;
  }

  /** Puts back adjustments a failed call did not deliver. */
  restoreAdjustments(adjustments: readonly LeaseAdjustment[]): void {
    for (const a of adjustments) this.adjust(a.lease, a.requests, a.tokens);
  }

  /** Gives every lease back (the process leaves): its unused units, as adjustments. */
  giveBackAll(): void {
    for (const lease of this.leases) this.giveBack(lease);
    this.leases = [];
  }

  /** Requests held in leases, unused (Infinity if requests are not shared). */
  heldRequests(now: number): number {
    this.expire(now);
    return this.leases.reduce((sum, l) => sum + l.requests, 0);
  }

  private get recentCount(): number {
    return this.recentAt.length - this.recentHead;
  }

  private leaseFor(charges: SharedCharges): Lease | undefined {
    return this.leases.find(
      (l) =>
        (!this.kinds.requests || l.requests >= charges.requests) &&
        (!this.kinds.tokens || l.tokens >= charges.tokens),
    );
  }

  private sizedRequests(now: number, waiting: number): number {
    const rate = this.recentCount / RATE_SAMPLE_MS;
    const fromRate = Math.ceil(rate * this.horizonMs);
    return Math.max(1, Math.min(this.maxRequests, Math.max(fromRate, Math.min(waiting, this.maxRequests))));
  }

  private averageTokens(fallback: number): number {
    return this.recentCount === 0 ? fallback : this.recentTokenSum / this.recentCount;
  }

  private expire(now: number): void {
    const kept: Lease[] = [];
    for (const lease of this.leases) {
      const empty = (this.kinds.requests && lease.requests <= 0) || (this.kinds.tokens && lease.tokens <= 0);
      if (now >= lease.useBy || empty) this.giveBack(lease);
      else kept.push(lease);
    }
    this.leases = kept;
    const since = now - RATE_SAMPLE_MS;
    while (this.recentHead < this.recentAt.length && this.recentAt[this.recentHead]! <= since) {
      this.recentTokenSum -= this.recentTokens[this.recentHead]!;
      this.recentHead++;
    }
    // The arrays are compacted once most of them is behind the head: amortised O(1).
    if (this.recentHead > COMPACT_AFTER && this.recentHead * 2 > this.recentAt.length) {
      this.recentAt = this.recentAt.slice(this.recentHead);
      this.recentTokens = this.recentTokens.slice(this.recentHead);
      this.recentHead = 0;
    }
    if (this.recentCount === 0) this.recentTokenSum = 0;
  }

  private giveBack(lease: Lease): void {
    const requests = this.kinds.requests && Number.isFinite(lease.requests) ? Math.max(0, lease.requests) : 0;
    const tokens = this.kinds.tokens && Number.isFinite(lease.tokens) ? Math.max(0, lease.tokens) : 0;
    if (requests > 0 || tokens > 0) this.adjust(lease.id, -requests, -tokens);
  }

  private adjust(lease: string, requests: number, tokens: number): void {
    const current = this.adjustments.get(lease) ?? { requests: 0, tokens: 0 };
    this.adjustments.set(lease, { requests: current.requests + requests, tokens: current.tokens + tokens });
  }
}
