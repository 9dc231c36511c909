import type { BreakerSnapshot, CircuitBreakerMessage } from '../actors/circuit-breaker-actor.js';
import { query } from '../actors/nact.js';
import type { RateLimiterMessage } from '../actors/rate-limiter-actor.js';
import type { BreakerStateValue, Metrics } from '../metrics/metrics.js';
import type { BreakerStatus } from '../resilience/circuit-breaker-core.js';
import { jobModelOfGateGroup } from '../conversation/provider-gate.js';
import type { LimiterSnapshot } from '../resilience/rate-limiter-core.js';
import type { GateRegistry } from './gate-registry.js';
import { PROVIDER_STATUS_TIMEOUT_MS } from './provider-status.js';

/** How often the providers' gauges (in flight, waiting, limits, breaker) are sampled, in ms. */
export const PROVIDER_SAMPLE_INTERVAL_MS = 1_000;

const BREAKER_VALUE: Readonly<Record<BreakerStatus['state'], BreakerStateValue>> = {
  closed: 0,
  'half-open': 1,
  open: 2,
  refused: 3,
};

/**
 * Samples every provider account's limiter and breaker into gauges (the models
 * each provider refused among them), once a second: off the hot path (a turn never waits for metrics), and current
 * enough for a dashboard. Returns a function that stops sampling.
 */
export function sampleProviderMetrics(gates: GateRegistry, metrics: Metrics): () => void {
  let sampling = false;
  const sample = async (): Promise<void> => {
    if (sampling) return;
    sampling = true;
    try {
      const refusedModels: { job: string; model: string }[] = [];
      await Promise.all(
        gates.all().map(async (account) => {
          const [limiter, breaker] = await Promise.all([
            query<RateLimiterMessage, LimiterSnapshot>(
              account.limiter,
              (replyTo) => ({ type: 'get-snapshot', replyTo }),
              PROVIDER_STATUS_TIMEOUT_MS,
            ),
            query<CircuitBreakerMessage, BreakerSnapshot>(
              account.breaker,
              (replyTo) => ({ type: 'get-snapshot', replyTo }),
              PROVIDER_STATUS_TIMEOUT_MS,
            ),
          ]);
          metrics.setInFlight(account.provider, limiter.inFlight);
          metrics.setPermitsWaiting(account.provider, limiter.waiting);
          metrics.setLimit(account.provider, 'concurrency', limiter.concurrencyLimit);
          if (limiter.limits.requestsPerMinute !== undefined) {
            metrics.setLimit(account.provider, 'requests_per_minute', limiter.limits.requestsPerMinute);
          }
          if (limiter.limits.tokensPerMinute !== undefined) {
            metrics.setLimit(account.provider, 'tokens_per_minute', limiter.limits.tokensPerMinute);
          }
          metrics.setBreakerState(account.provider, BREAKER_VALUE[breaker.state]);
          metrics.setRepeatedFailures(account.provider, breaker.repeatedFailures);
          for (const group of breaker.refusedModels.keys()) refusedModels.push(jobModelOfGateGroup(group));
        }),
      );
      metrics.setRefusedModels(refusedModels);
    } catch {
      // A provider's actors did not answer in time (stopping); the next sample tries again.
    } finally {
      sampling = false;
    }
  };
  const timer = setInterval(() => void sample(), PROVIDER_SAMPLE_INTERVAL_MS);
  timer.unref();
  return () => clearInterval(timer);
}
