/**
 * The budget stage beside the rate limiter: a provider gate that, once the limiter lets a request
 * go, reserves its worst case against the job's spend caps, checkpoints the reservation in the
 * store before the request is sent, and reconciles it with the reported usage when it is settled.
 * A reservation that would pass a cap is refused: the request is not sent, its turn is left
 * unanswered (resumable), and the job is told, once, to end as `budget-exhausted`.
 */
import { GateRefusal } from '../conversation/provider-gate.js';
import type { ProviderGate } from '../conversation/provider-gate.js';
import type { Metrics } from '../metrics/metrics.js';
import { ERROR_CODES } from '../resilience/errors.js';
import type { Usage } from '../providers/types.js';
import type { SuiteSettings, TokenPrices } from '../suite/types.js';
import { SpendLedger, describeCap, type SpendCaps, type SpendState } from './spend-ledger.js';

const TOKENS_PER_MILLION = 1_000_000;

/** Where a job's spend state is checkpointed. */
export interface SpendCheckpoint {
  /** The job's stored spend state, if any. */
  read(job: string): SpendState | undefined;
  /** Writes the job's spend state; resolves once committed. */
  write(job: string, state: SpendState): Promise<void>;
}

/** The caps a suite sets, or undefined when it sets none. */
export function capsOf(suite: SuiteSettings): SpendCaps | undefined {
  const providerUsd: Record<string, number> = {};
  for (const [id, provider] of Object.entries(suite.providers)) {
    if (provider.limits?.maxCostUsd !== undefined) providerUsd[id] = provider.limits.maxCostUsd;
  }
  const jobUsd = suite.budget?.maxCostUsd;
  if (jobUsd === undefined && Object.keys(providerUsd).length === 0) return undefined;
  return { ...(jobUsd !== undefined && { jobUsd }), providerUsd };
}

/** Cost of `input` and `output` tokens at `prices`, in US dollars. */
export function costUsd(prices: TokenPrices, input: number, output: number): number {
  return (input * prices.input + output * prices.output) / TOKENS_PER_MILLION;
}

/** The cost of reported usage at `prices` (0 without usage). */
function usageCost(prices: TokenPrices, usage: Usage | undefined): number {
  return usage === undefined ? 0 : costUsd(prices, usage.inputTokens, usage.outputTokens);
}

/** One job's ledger, its checkpoint and what to do when a cap is reached. */
export class JobBudget {
  readonly ledger: SpendLedger;
  private exhaustedReason: string | undefined;

  constructor(
    readonly job: string,
    caps: SpendCaps,
    private readonly checkpoint: SpendCheckpoint,
    private readonly onExhausted: (job: string, reason: string) => void,
    private readonly metrics: Metrics,
  ) {
    this.ledger = new SpendLedger(caps, checkpoint.read(job));
  }

  /** Why the job's budget ran out, once it did. */
  get exhausted(): string | undefined {
    return this.exhaustedReason;
  }

  /** Checkpoints the ledger and exports its figures. */
  save(providers: readonly string[]): Promise<void> {
    const state = this.ledger.state();
    for (const provider of providers) {
      this.metrics.spend(
        this.job,
        provider,
        state.spentUsd[provider] ?? 0,
        this.ledger.remainingProviderUsd(provider),
      );
    }
    this.metrics.budgetRemaining(this.job, this.ledger.remainingJobUsd());
    return this.checkpoint.write(this.job, state);
  }

  /**
   * Records that a cap refused. The job is told (once) when no reserved request is in flight any
   * more: those were paid for within the cap, so their answers are let arrive and be kept.
   */
  refuse(reason: string): void {
    this.exhaustedReason ??= reason;
    this.endIfDrained();
  }

  /** A reserved request is about to be sent. */
  started(): void {
    this.inFlight += 1;
  }

  /** A reserved request ended (answered, failed, or not sent after all). */
  finished(): void {
    this.inFlight -= 1;
    this.endIfDrained();
  }

  private inFlight = 0;
  private told = false;

  private endIfDrained(): void {
    if (this.exhaustedReason === undefined || this.inFlight > 0 || this.told) return;
    this.told = true;
    this.onExhausted(this.job, this.exhaustedReason);
  }
}

/** `provider`'s gate with `budget`'s caps in front of the request. */
export function budgetGate(
  gate: ProviderGate,
  budget: JobBudget,
  provider: string,
  pricesOf: (model: string) => TokenPrices | undefined,
): ProviderGate {
  // Prices of each reservation not yet settled, by permit id.
  const open = new Map<string, TokenPrices>();
  return {
    async admit(request, signal) {
      const permit = await gate.admit(request, signal);
      const prices = pricesOf(request.model);
      // A model a cap covers always has prices (the suite is refused otherwise).
      if (prices === undefined) return permit;
      const worst = costUsd(
        prices,
        request.estimatedInputTokens,
        request.estimatedTokens - request.estimatedInputTokens,
      );
      const reservation = budget.ledger.reserve(permit.id, provider, worst);
      if (!reservation.ok) {
        gate.settle(permit, { kind: 'cancelled', headers: {} });
        const reason =
          `${describeCap(reservation.scope, reservation.capUsd)} would be exceeded: ` +
          `$${reservation.committedUsd.toFixed(4)} spent or reserved, the next request may cost up to ` +
          `$${reservation.requestedUsd.toFixed(4)}`;
        budget.refuse(reason);
        throw new GateRefusal({ code: ERROR_CODES.budgetExhausted, message: reason });
      }
      open.set(permit.id, prices);
      budget.started();
      try {
        // On disk before the request leaves: after a kill -9 it counts as spent.
        await budget.save([provider]);
      } catch (error) {
        open.delete(permit.id);
        budget.ledger.settle(permit.id, 0);
        gate.settle(permit, { kind: 'cancelled', headers: {} });
        budget.finished();
        throw error;
      }
      return permit;
    },
    settle(permit, outcome) {
      gate.settle(permit, outcome);
      const prices = open.get(permit.id);
      if (prices === undefined) return;
      open.delete(permit.id);
      budget.ledger.settle(permit.id, outcome.kind === 'ok' ? usageCost(prices, outcome.usage) : 0);
      // A failed write shows at the next reservation, which awaits its own.
      budget.save([provider]).catch(() => undefined);
      budget.finished();
    },
  };
}

/** The budgets of the jobs an engine runs, created when a job's first gate is asked for. */
export class BudgetBook {
  private readonly budgets = new Map<string, JobBudget>();

  constructor(
    private readonly checkpoint: SpendCheckpoint,
    private readonly onExhausted: (job: string, reason: string) => void,
    private readonly metrics: Metrics,
  ) {}

  /** `job`'s budget, or undefined when its suite caps nothing; a resumed job's caps replace the old ones. */
  forJob(job: { readonly id: string; readonly suite: SuiteSettings }): JobBudget | undefined {
    const caps = capsOf(job.suite);
    if (caps === undefined) return undefined;
    const existing = this.budgets.get(job.id);
    if (existing !== undefined) {
      existing.ledger.setCaps(caps);
      return existing;
    }
    const budget = new JobBudget(job.id, caps, this.checkpoint, this.onExhausted, this.metrics);
    this.budgets.set(job.id, budget);
    return budget;
  }

  /** A job ended here: its ledger goes (its state stays in the store). */
  forget(job: string): void {
    this.budgets.delete(job);
  }
}
