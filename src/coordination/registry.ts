/**
 * The shared budgets of one troupe process: one per provider account that names `sharedLimits`,
 * one connection per store. It logs each budget's reachability and state losses, and reads the
 * budgets' participants for `status` and the metrics.
 */
import type { Logger } from '../log/logger.js';
import type { Clock } from '../resilience/clock.js';
import { dialectFor } from '../resilience/header-dialects.js';
import type { ProviderConfig } from '../suite/types.js';
import { BudgetStore, type BudgetStatus } from './budget-store.js';
import {
  SharedBudget,
  type SharedBreakerListener,
  type SharedBudgetEvent,
  type SharedBudgetStatus,
} from './shared-budget.js';
import { StoreClient } from './store-client.js';

/** A shared budget as this process sees it, with the store's view of its participants when readable. */
export interface SharedKeyReport {
  readonly provider: string;
  readonly local: SharedBudgetStatus;
  /** Undefined while the store is unreachable. */
  readonly store?: BudgetStatus;
}

/** The shared budgets of one process. */
export class CoordinationRegistry {
  private readonly clients = new Map<string, StoreClient>();
  private readonly budgets = new Map<
    string,
    { provider: string; budget: SharedBudget; store: BudgetStore }
  >();

  constructor(
    private readonly env: NodeJS.ProcessEnv,
    private readonly clock: Clock,
    private readonly log: Logger,
  ) {}

  /**
   * The shared budget of the provider account `accountKey` (created on first use), or undefined
   * if the provider names no `sharedLimits`. `onChange` wakes its rate limiter; `breaker` tells its
   * circuit breaker what the other participants' did.
   */
  budgetFor(
    accountKey: string,
    provider: string,
    config: ProviderConfig,
    job: string,
    onChange: () => void,
    breaker?: SharedBreakerListener,
  ): SharedBudget | undefined {
    const shared = config.sharedLimits;
    if (shared === undefined) return undefined;
    const existing = this.budgets.get(accountKey);
    if (existing) {
      existing.budget.addJob(job);
      return existing.budget;
    }
    // The job was checked before it started (`checkSharedLimits`); a daemon resuming it after the
    // variable went away finds no password, and the store says so when it refuses.
    const password = shared.passwordEnv === undefined ? undefined : this.env[shared.passwordEnv];
    const clientKey = `${shared.url}\u0000${shared.passwordEnv ?? ''}`;
    let client = this.clients.get(clientKey);
    if (!client) {
      client = new StoreClient({
        url: shared.url,
        ...(password !== undefined && password !== '' && { password }),
        connectionName: `troupe-${process.pid}`,
      });
      this.clients.set(clientKey, client);
    }
    const store = new BudgetStore(client, shared.key);
    const fields = { provider, sharedKey: shared.key, store: shared.url };
    const budget = new SharedBudget({
      store,
      url: shared.url,
      limits: config.limits ?? {},
      provider,
      dialect: dialectFor(config).name,
      clock: this.clock,
      onChange,
      ...(breaker && { breaker }),
      onEvent: (event) => this.logEvent(fields, event),
    });
    budget.addJob(job);
    this.budgets.set(accountKey, { provider, budget, store });
    return budget;
  }

  /** Every shared budget of this process, with its participants as the store holds them. */
  async report(): Promise<SharedKeyReport[]> {
    return Promise.all(
      [...this.budgets.values()].map(async ({ provider, budget, store }) => {
        const local = budget.status();
        try {
          return { provider, local, store: await store.status() };
        } catch {
          return { provider, local };
        }
      }),
    );
  }

  /** This process's side of every shared budget (no store call). */
  localStatuses(): { provider: string; status: SharedBudgetStatus }[] {
    return [...this.budgets.values()].map(({ provider, budget }) => ({ provider, status: budget.status() }));
  }

  /** The shared budget of an account, if it has one. */
  budgetOf(accountKey: string): SharedBudget | undefined {
    return this.budgets.get(accountKey)?.budget;
  }

  /** Leaves every budget (unused units and slots go back) and closes the connections. */
  async close(): Promise<void> {
    await Promise.all([...this.budgets.values()].map(({ budget }) => budget.close()));
    await Promise.all([...this.clients.values()].map((client) => client.close()));
    this.budgets.clear();
    this.clients.clear();
  }

  private logEvent(fields: Record<string, string>, event: SharedBudgetEvent): void {
    switch (event.type) {
      case 'unreachable':
        this.log.warn(
          { ...fields, code: event.error.code, error: event.error.message },
          'coordination store unreachable; the provider waits (leases held are used up, nothing more)',
        );
        return;
      case 'reachable':
        this.log.info({ ...fields, downMs: event.downMs }, 'coordination store reachable again');
        return;
      case 'state-lost':
        this.log.warn(
          fields,
          'coordination store lost the shared budget (restarted?); starting over cautiously',
        );
        return;
      default: {
        const unknown: never = event;
        throw new Error(`unknown event ${JSON.stringify(unknown)}`);
      }
    }
  }
}
