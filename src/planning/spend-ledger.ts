/**
 * A job's spend against its caps: `budget.maxCostUsd` for the whole job and `limits.maxCostUsd`
 * for each provider. Before a request is sent its worst case (input estimate + `maxTokens` at the
 * model's prices) is reserved; afterwards the reservation is replaced by the cost of the usage
 * the provider reported. A reservation that would take a cap past its limit is refused, and from
 * then on that cap refuses everything: nothing more is sent under it.
 *
 * Pure and synchronous; the budget gate persists `state()` before it lets a request go, so that
 * after a crash the reservations of requests that were in flight count as spent (they may have
 * been charged) and the cap still holds.
 */

/** The caps of one job, in US dollars. */
export interface SpendCaps {
  /** The whole job's cap; undefined: none. */
  readonly jobUsd?: number;
  /** Each provider's cap (by the suite's provider id); a provider not listed has none. */
  readonly providerUsd: Readonly<Record<string, number>>;
}

/** The checkpointed state of a ledger: what was spent, and what is reserved now, per provider. */
export interface SpendState {
  /** Cost of reported usage (and of reservations found after a crash), per provider. */
  readonly spentUsd: Readonly<Record<string, number>>;
  /** Reservations of requests not settled yet, per provider. */
  readonly reservedUsd: Readonly<Record<string, number>>;
}

/** Which cap refused a reservation. */
export type CapScope = { readonly kind: 'job' } | { readonly kind: 'provider'; readonly provider: string };

/** The answer to a reservation. */
export type Reservation =
  | { readonly ok: true }
  | {
      readonly ok: false;
      readonly scope: CapScope;
      /** The cap, and what was spent and reserved under it when the reservation was refused. */
      readonly capUsd: number;
      readonly committedUsd: number;
      readonly requestedUsd: number;
    };

/** An empty ledger state. */
export const EMPTY_SPEND: SpendState = { spentUsd: {}, reservedUsd: {} };

const sum = (record: Readonly<Record<string, number>>): number =>
  Object.values(record).reduce((total, usd) => total + usd, 0);

/** One job's spend ledger. */
export class SpendLedger {
  private readonly spent = new Map<string, number>();
  private readonly reserved = new Map<string, number>();
  /** Outstanding reservations by request id: provider and amount. */
  private readonly open = new Map<string, { readonly provider: string; readonly usd: number }>();
  /** Caps that refused once, by `scopeKey`: they refuse from then on. */
  private readonly exhausted = new Set<string>();

  /**
   * A ledger for `caps`, resuming from a checkpointed `state`: its reservations were of requests
   * in flight when the process stopped, so they count as spent.
   */
  constructor(
    private caps: SpendCaps,
    state: SpendState = EMPTY_SPEND,
  ) {
    for (const [provider, usd] of Object.entries(state.spentUsd)) this.add(this.spent, provider, usd);
    for (const [provider, usd] of Object.entries(state.reservedUsd)) this.add(this.spent, provider, usd);
  }

  /** Replaces the caps (a resume with a higher `--max-cost`); a cap that is now above its spend opens again. */
  setCaps(caps: SpendCaps): void {
    this.caps = caps;
    this.exhausted.clear();
  }

  /** Reserves `usd` for request `id` on `provider`, unless a cap would be exceeded. */
  reserve(id: string, provider: string, usd: number): Reservation {
    const checks: { scope: CapScope; capUsd: number | undefined; committed: number }[] = [
      { scope: { kind: 'job' }, capUsd: this.caps.jobUsd, committed: this.totalCommitted() },
      {
        scope: { kind: 'provider', provider },
        capUsd: this.caps.providerUsd[provider],
        committed: (this.spent.get(provider) ?? 0) + (this.reserved.get(provider) ?? 0),
      },
    ];
    for (const { scope, capUsd, committed } of checks) {
      if (capUsd === undefined) continue;
      if (this.exhausted.has(scopeKey(scope)) || committed + usd > capUsd) {
        this.exhausted.add(scopeKey(scope));
        return { ok: false, scope, capUsd, committedUsd: committed, requestedUsd: usd };
      }
    }
    this.open.set(id, { provider, usd });
    this.add(this.reserved, provider, usd);
    return { ok: true };
  }

  /** Replaces request `id`'s reservation with `actualUsd`, the cost of its reported usage (0 for none). */
  settle(id: string, actualUsd: number): void {
    const reservation = this.open.get(id);
    if (reservation === undefined) return;
    this.open.delete(id);
    this.add(this.reserved, reservation.provider, -reservation.usd);
    this.add(this.spent, reservation.provider, actualUsd);
  }

  /** Spent plus reserved over every provider. */
  totalCommitted(): number {
    return sum(Object.fromEntries(this.spent)) + sum(Object.fromEntries(this.reserved));
  }

  /** What the job's cap leaves (undefined without a cap); never below 0. */
  remainingJobUsd(): number | undefined {
    return this.caps.jobUsd === undefined ? undefined : Math.max(0, this.caps.jobUsd - this.totalCommitted());
  }

  /** What `provider`'s cap leaves (undefined without a cap); never below 0. */
  remainingProviderUsd(provider: string): number | undefined {
    const cap = this.caps.providerUsd[provider];
    if (cap === undefined) return undefined;
    return Math.max(0, cap - (this.spent.get(provider) ?? 0) - (this.reserved.get(provider) ?? 0));
  }

  /** The state to checkpoint. */
  state(): SpendState {
    return { spentUsd: Object.fromEntries(this.spent), reservedUsd: Object.fromEntries(this.reserved) };
  }

  private add(map: Map<string, number>, provider: string, usd: number): void {
    const next = (map.get(provider) ?? 0) + usd;
    // Float sums of reservations and refunds leave dust; a cent's billionth is nothing.
    map.set(provider, Math.abs(next) < DUST_USD ? 0 : next);
  }
}

/** Below this a balance is zero (rounding of float sums). */
const DUST_USD = 1e-12;

function scopeKey(scope: CapScope): string {
  return scope.kind === 'job' ? 'job' : `provider:${scope.provider}`;
}

/** `the job's cap of $1.00` / `provider oai's cap of $0.50`, for messages. */
export function describeCap(scope: CapScope, capUsd: number): string {
  const usd = `$${capUsd.toFixed(2)}`;
  return scope.kind === 'job' ? `the job's cap of ${usd}` : `provider ${scope.provider}'s cap of ${usd}`;
}
