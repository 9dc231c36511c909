import type { ProviderGate } from '../conversation/provider-gate.js';
import type { Metrics, MetricOutcome } from '../metrics/metrics.js';
import type { FailureKind } from '../providers/types.js';
import type { Clock } from '../resilience/clock.js';
import type { TokenPrices } from '../suite/types.js';

const OUTCOME_OF: Readonly<Record<'ok' | FailureKind, MetricOutcome>> = {
  ok: 'ok',
  rate_limited: 'rate_limited',
  quota_exhausted: 'rate_limited',
  server_error: 'server_error',
  connection: 'server_error',
  malformed: 'server_error',
  timeout: 'timeout',
  client_error: 'client_error',
  unauthorized: 'client_error',
  cancelled: 'cancelled',
};

/** Tokens per million, for prices quoted per million tokens. */
const TOKENS_PER_MILLION = 1_000_000;

/** What an observed gate needs to know to label and price what passes through it. */
export interface GateObservation {
  /** The provider's name in metrics. */
  readonly provider: string;
  readonly metrics: Metrics;
  readonly clock: Clock;
  /** The prices of a model of the job, if configured. */
  readonly pricesOf: (model: string) => TokenPrices | undefined;
}

/**
 * A provider gate that measures what passes through it: how long each request
 * waited for its permit, and each attempt's outcome, latency, tokens and cost.
 * It sits in the primary, where every attempt of every worker is settled, so
 * the counters survive a worker's restart.
 */
export function observedGate(gate: ProviderGate, observation: GateObservation): ProviderGate {
  const { metrics, provider, clock } = observation;
  // The model of each permit granted and not yet settled (attempt metrics are per model).
  const models = new Map<string, string>();
  return {
    async admit(request, signal) {
      const askedAt = clock.now();
      const permit = await gate.admit(request, signal);
      metrics.permitWait(provider, (clock.now() - askedAt) / 1000);
      models.set(permit.id, request.model);
      return permit;
    },
    settle(permit, outcome) {
      gate.settle(permit, outcome);
      const model = models.get(permit.id) ?? 'unknown';
      models.delete(permit.id);
      const inputTokens = outcome.kind === 'ok' ? outcome.usage.inputTokens : 0;
      const outputTokens = outcome.kind === 'ok' ? outcome.usage.outputTokens : 0;
      const prices = observation.pricesOf(model);
      metrics.attempt({
        provider,
        model,
        outcome: OUTCOME_OF[outcome.kind],
        latencySeconds: (outcome.latencyMs ?? 0) / 1000,
        inputTokens,
        outputTokens,
        ...(prices && {
          costUsd: (inputTokens * prices.input + outputTokens * prices.output) / TOKENS_PER_MILLION,
        }),
      });
    },
  };
}
