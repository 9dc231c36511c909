import type { BreakerSnapshot, CircuitBreakerMessage } from '../actors/circuit-breaker-actor.js';
import { query } from '../actors/nact.js';
import type { RateLimiterMessage } from '../actors/rate-limiter-actor.js';
import type { BreakerRefusal } from '../resilience/circuit-breaker-core.js';
import type { LimiterSnapshot } from '../resilience/rate-limiter-core.js';
import { gateGroupOf } from '../conversation/provider-gate.js';
import type { ProviderAccount } from './gate-registry.js';

/** How long a provider's actors may take to report their state, in ms. */
export const PROVIDER_STATUS_TIMEOUT_MS = 1_000;

/** Whether a provider is taking requests now, and if not, why and until when. */
export interface ProviderStatus {
  readonly state:
    | 'ok'
    | 'rate-limited'
    | 'quota-exhausted'
    | 'circuit-open'
    | 'circuit-half-open'
    /** The provider's `sharedLimits` store cannot be reached: it waits, never exceeding. */
    | 'coordination-unreachable'
    | 'refused'
    | 'unknown';
  /** Why the provider refuses every request (`refused`): the provider's own message. */
  readonly reason?: string;
  /** When the pause or the cool-down ends, ISO 8601 (if known). */
  readonly until?: string;
  readonly inFlight?: number;
  readonly waiting?: number;
  /**
   * Failures of requests that had failed before (poison prompts tried again): failing requests,
   * not an outage, so the breaker does not count them. Since the breaker started.
   */
  readonly repeatedFailures?: number;
}

/** A model its provider refused (404 naming it): no request of it is sent any more. */
export interface ModelRefusal {
  /** A namespaced error code (`troupe:client-error`). */
  readonly code: string;
  /** Why, as the terminal said it once: the provider, the model and the provider's own message. */
  readonly reason: string;
}

/** How a provider account stands, and which of its models (by gate group, `gateGroupOf`) it refused. */
export interface AccountStatus {
  readonly provider: ProviderStatus;
  readonly refusedModels: ReadonlyMap<string, BreakerRefusal>;
}

/** Asks a provider account's limiter and breaker how the provider stands. */
export async function providerStatus(account: ProviderAccount): Promise<AccountStatus> {
  let breaker: BreakerSnapshot;
  let limiter: LimiterSnapshot;
  try {
    [breaker, limiter] = await Promise.all([
      query<CircuitBreakerMessage, BreakerSnapshot>(
        account.breaker,
        (replyTo) => ({ type: 'get-snapshot', replyTo }),
        PROVIDER_STATUS_TIMEOUT_MS,
      ),
      query<RateLimiterMessage, LimiterSnapshot>(
        account.limiter,
        (replyTo) => ({ type: 'get-snapshot', replyTo }),
        PROVIDER_STATUS_TIMEOUT_MS,
      ),
    ]);
  } catch {
    return { provider: { state: 'unknown' }, refusedModels: new Map() };
  }
  return { provider: stateOf(account, breaker, limiter), refusedModels: breaker.refusedModels };
}

/** The refusal of `job`'s model `model` (its suite id) in `status`, if its provider refused it. */
export function modelRefusal(status: AccountStatus, job: string, model: string): ModelRefusal | undefined {
  const refusal = status.refusedModels.get(gateGroupOf(job, model));
  return refusal && { code: refusal.code, reason: refusal.message };
}

function stateOf(
  account: ProviderAccount,
  breaker: BreakerSnapshot,
  limiter: LimiterSnapshot,
): ProviderStatus {
  const counts = {
    inFlight: limiter.inFlight,
    waiting: limiter.waiting,
    ...(breaker.repeatedFailures > 0 && { repeatedFailures: breaker.repeatedFailures }),
  };
  const iso = (ms: number | undefined): string | undefined =>
    ms === undefined ? undefined : new Date(ms).toISOString();
  // shared limits: while the store is away nothing beyond the leases held may go.
  if (account.shared && !account.shared.status().reachable)
    return { state: 'coordination-unreachable', ...counts };
  if (breaker.state === 'open') return { state: 'circuit-open', until: iso(breaker.nextProbeAt), ...counts };
  if (breaker.state === 'half-open') return { state: 'circuit-half-open', ...counts };
  if (breaker.refusal) return { state: 'refused', reason: breaker.refusal.message, ...counts };
  if (limiter.pause) {
    return {
      state: limiter.pause.reason === 'quota' ? 'quota-exhausted' : 'rate-limited',
      until: iso(limiter.pause.until),
      ...counts,
    };
  }
  // shared limits: a pause another process met holds here too.
  const sharedPause = account.shared?.pause(Date.now());
  if (sharedPause) {
    const state = sharedPause.reason === 'quota' ? 'quota-exhausted' : 'rate-limited';
    return { state, until: iso(sharedPause.until), ...counts };
  }
  return { state: 'ok', ...counts };
}

/** A provider's state as a few words for a terminal: `ok`, `rate limited until 12:00:05`, … */
export function describeProviderStatus(status: ProviderStatus): string {
  const state = describeState(status);
  // Failing requests are told apart from an outage: the provider answers, some requests fail.
  const repeated = status.repeatedFailures ?? 0;
  return repeated > 0 ? `${state}; failing requests: ${repeated} retries failed again` : state;
}

function describeState(status: ProviderStatus): string {
  // The whole date: a pause may end tomorrow, and a time alone would not say so.
  const until = status.until ? ` until ${status.until.slice(0, 10)} ${status.until.slice(11, 19)} UTC` : '';
  switch (status.state) {
    case 'ok':
      return 'ok';
    case 'rate-limited':
      return `rate limited${until}`;
    case 'quota-exhausted':
      return `paused: quota exhausted${until}`;
    case 'circuit-open':
      return `circuit open${until}`;
    case 'circuit-half-open':
      return 'circuit half-open (probing)';
    case 'coordination-unreachable':
      return 'paused: coordination store unreachable';
    case 'refused':
      return `refused: ${status.reason ?? 'the provider refused the credentials'}`;
    case 'unknown':
      return 'unknown';
    default: {
      const unknown: never = status.state;
      return String(unknown);
    }
  }
}
