import type { SequencePlacement } from '../actors/model.js';
import { spawnSequence } from '../actors/sequence.js';
import type { ProviderGate } from '../conversation/provider-gate.js';
import type { TurnExecutorDeps } from '../conversation/turn-executor.js';
import type { Logger } from '../log/logger.js';
import { createProvider } from '../providers/create.js';
import type { Provider } from '../providers/types.js';
import type { Clock } from '../resilience/clock.js';
import type { CheckpointStore, JobRecord } from '../store/records.js';
import { abortableSleep } from './sleep.js';

/** What sequence actors of one job need when they run in this process. */
export interface LocalPlacementDeps {
  readonly job: JobRecord;
  readonly store: CheckpointStore;
  /** API keys by provider id, resolved from the environment before the job started. */
  readonly apiKeys: ReadonlyMap<string, string>;
  readonly gateFor: (providerId: string) => ProviderGate;
  readonly clock: Clock;
  readonly log: Logger;
}

/**
 * Places a job's sequence actors in this process, as children of their model
 * actor. One provider client per provider of the job, shared by its conversations.
 */
export function localPlacement(deps: LocalPlacementDeps): SequencePlacement {
  const providers = new Map<string, Provider>();
  const providerFor = (providerId: string): Provider => {
    let provider = providers.get(providerId);
    if (!provider) {
      const config = deps.job.suite.providers[providerId];
      if (!config) throw new Error(`job ${deps.job.id}: no provider "${providerId}" in its suite`);
      provider = createProvider(config, deps.apiKeys.get(providerId));
      providers.set(providerId, provider);
    }
    return provider;
  };
  return {
    place(request) {
      const config = deps.job.suite.providers[request.model.provider];
      if (!config)
        throw new Error(`job ${deps.job.id}: no provider "${request.model.provider}" in its suite`);
      const executor: TurnExecutorDeps = {
        provider: providerFor(request.model.provider),
        gate: deps.gateFor(request.model.provider),
        retry: config.retry,
        clock: deps.clock,
        random: Math.random,
        sleep: abortableSleep,
      };
      return spawnSequence(
        request.parent,
        `sequence-${request.sequence.id}`,
        {
          job: request.job,
          model: request.model,
          sequence: request.sequence,
          runs: request.runs,
          replyTo: request.replyTo,
          store: deps.store,
          executor,
          warn: (text, fields) =>
            deps.log.warn(
              { job: request.job, model: request.model.id, sequence: request.sequence.id, ...fields },
              text,
            ),
        },
        request.onCrash,
      );
    },
  };
}
