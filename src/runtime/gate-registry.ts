import { spawnCircuitBreaker } from '../actors/circuit-breaker-actor.js';
import type { BreakerView, CircuitBreakerMessage } from '../actors/circuit-breaker-actor.js';
import { createGateClient } from '../actors/gate-client.js';
import type { AnyActorRef, ActorRef } from '../actors/nact.js';
import { spawnRateLimiter } from '../actors/rate-limiter-actor.js';
import type { RateLimiterMessage } from '../actors/rate-limiter-actor.js';
import type { ProviderGate } from '../conversation/provider-gate.js';
import type { Logger } from '../log/logger.js';
import type { Clock } from '../resilience/clock.js';
import { DEFAULT_RETRY_POLICY } from '../resilience/defaults.js';
import { dialectFor } from '../resilience/header-dialects.js';
import type { JobRecord } from '../store/records.js';
import type { ProviderConfig, TokenPrices } from '../suite/types.js';
import { budgetGate, type BudgetBook } from '../planning/budget-gate.js';
import { noMetrics } from '../metrics/metrics.js';
import type { Metrics } from '../metrics/metrics.js';
import { observedGate } from './observed-gate.js';
import type { CoordinationRegistry } from '../coordination/registry.js';
import type { SharedBudget } from '../coordination/shared-budget.js';
import { dispatch } from '../actors/nact.js';

/** A provider account's actors and the gate in front of them. */
export interface ProviderAccount {
  readonly key: string;
  /** The provider id of the suite that first used the account: its name in logs and metrics. */
  readonly provider: string;
  readonly limiter: ActorRef<RateLimiterMessage>;
  readonly breaker: ActorRef<CircuitBreakerMessage>;
  readonly gate: ProviderGate;
  /** The budget shared with other processes, if the provider names `sharedLimits`. */
  readonly shared?: SharedBudget;
}

/**
 * Which limits a provider entry shares. Real providers: one account per API root
 * and key variable, whatever job or suite names it, so that jobs sharing an
 * account share its limits. Simulated providers: one per provider id.
 */
export function accountKeyOf(providerId: string, config: ProviderConfig): string {
  switch (config.type) {
    case 'simulated':
      return `simulated:${providerId}`;
    case 'openai':
    case 'anthropic':
      return `${config.type}:${config.baseURL ?? 'default'}:${config.apiKeyEnv}`;
    default: {
      const unknown: never = config;
      throw new Error(`unknown provider type ${JSON.stringify(unknown)}`);
    }
  }
}

/**
 * The rate limiter and circuit breaker of every provider account, created on
 * first use (as children of the supervisor) and shared by every job after.
 */
export class GateRegistry {
  private readonly accounts = new Map<string, ProviderAccount>();

  constructor(
    private readonly parent: () => AnyActorRef,
    private readonly clock: Clock,
    private readonly log: Logger,
    private readonly metrics: Metrics = noMetrics,
    /** The spend caps of the jobs (none: nothing is capped). */
    private readonly budgets?: BudgetBook,
    /** Where shared budgets come from; without it `sharedLimits` is ignored (tests of the gates alone). */
    private readonly coordination?: CoordinationRegistry,
    /**
     * Called once when an account's provider has been unavailable (breaker open or half-open)
     * longer than its `retry.maxPauseMs`; its requests are refused from then on. Without it (the
     * daemon), the breaker keeps probing, however long it takes.
     */
    private readonly onUnavailable?: (account: ProviderAccount, reason: string) => void,
  ) {}

  /**
   * The gate of `providerId` as `job`'s suite defines it, measured with the job's model prices,
   * behind the job's spend caps when it has any.
   */
  gateFor(job: JobRecord, providerId: string): ProviderGate {
    const account = this.accountFor(job, providerId);
    const pricesOf = (model: string): TokenPrices | undefined =>
      job.suite.models.find((m) => m.id === model)?.pricePerMillionTokens;
    const observed = observedGate(account.gate, {
      provider: account.provider,
      metrics: this.metrics,
      clock: this.clock,
      pricesOf,
    });
    const budget = this.budgets?.forJob(job);
    return budget === undefined ? observed : budgetGate(observed, budget, providerId, pricesOf);
  }

  /** The account of `providerId` as `job`'s suite defines it, created if new. */
  accountFor(job: JobRecord, providerId: string): ProviderAccount {
    const config = job.suite.providers[providerId];
    if (!config) throw new Error(`job ${job.id}: no provider "${providerId}" in its suite`);
    const key = accountKeyOf(providerId, config);
    const existing = this.accounts.get(key);
    if (existing) {
      existing.shared?.addJob(job.id);
      return existing;
    }
    // Actor names must be unique and path-safe; the key holds URLs.
    const name = `provider-${this.accounts.size + 1}`;
    const parent = this.parent();
    const deps = { provider: providerId, clock: this.clock, log: this.log };
    // The shared budget wakes the limiter when a lease or slots arrive, or the store is back;
    // it never calls back before its first answer, so after the limiter exists.
    const shared = this.coordination?.budgetFor(
      key,
      providerId,
      config,
      job.id,
      () => dispatch(limiter, { type: 'wake' }),
      {
        opened: (until) => dispatch(breaker, { type: 'opened-elsewhere', until }),
        closed: () => dispatch(breaker, { type: 'closed-elsewhere' }),
        probeGranted: () => dispatch(breaker, { type: 'probe-granted' }),
      },
    );
    const limiter = spawnRateLimiter(parent, `${name}-rate-limiter`, {
      ...deps,
      limits: config.limits,
      dialect: dialectFor(config),
      ...(shared && { shared }),
      maxPauseMs: config.retry.maxPauseMs ?? DEFAULT_RETRY_POLICY.maxPauseMs,
    });
    // The gate reads the breaker's state from this view instead of asking it for every permit.
    const view: BreakerView = { state: 'closed' };
    const onUnavailable = this.onUnavailable;
    const breaker = spawnCircuitBreaker(parent, `${name}-circuit-breaker`, {
      ...deps,
      policy: config.breaker,
      view,
      ...(onUnavailable && {
        giveUp: {
          afterMs: config.retry.maxPauseMs ?? DEFAULT_RETRY_POLICY.maxPauseMs,
          onGiveUp: (reason: string) => onUnavailable(account, reason),
        },
      }),
      ...(shared && { shared }),
    });
    const gate = createGateClient(parent, `${name}-gate`, limiter, breaker, view);
    const account: ProviderAccount = {
      key,
      provider: providerId,
      limiter,
      breaker,
      gate,
      ...(shared && { shared }),
    };
    this.accounts.set(key, account);
    return account;
  }

  /** The account of `providerId` as `job`'s suite defines it, if it was created. */
  existingAccount(job: JobRecord, providerId: string): ProviderAccount | undefined {
    const config = job.suite.providers[providerId];
    return config ? this.accounts.get(accountKeyOf(providerId, config)) : undefined;
  }

  /** Every account created so far. */
  all(): readonly ProviderAccount[] {
    return [...this.accounts.values()];
  }
}
