import type { SequencePlacement } from '../actors/model.js';
import { stopActor } from '../actors/nact.js';
import type { ActorRef, AnyActorRef, CrashHandler, SystemRef } from '../actors/nact.js';
import { spawnSequence } from '../actors/sequence.js';
import type { SequenceMessage, SequenceReport } from '../actors/sequence.js';
import type { ProviderGate } from '../conversation/provider-gate.js';
import type { TurnExecutorDeps } from '../conversation/turn-executor.js';
import type { Logger } from '../log/logger.js';
import { createProvider, loadSdksFor } from '../providers/create.js';
import type { Provider } from '../providers/types.js';
import type { Clock } from '../resilience/clock.js';
import type { JudgeDeps } from '../scoring/judge.js';
import type { CheckpointStore, JobRecord } from '../store/records.js';
import type { ModelConfig, SequenceConfig } from '../suite/types.js';
import { abortableSleep } from '../resilience/sleep.js';

/** What sequence actors of one job need, wherever they run. */
export interface SequenceFactoryDeps {
  readonly job: JobRecord;
  readonly store: CheckpointStore;
  /** API keys by provider id, resolved from this process's environment. */
  readonly apiKeys: ReadonlyMap<string, string>;
  readonly gateFor: (providerId: string) => ProviderGate;
  readonly clock: Clock;
  readonly log: Logger;
}

/** Spawns one sequence actor of a job under `parent`. */
export type SequenceFactory = (request: {
  readonly parent: AnyActorRef | SystemRef;
  /** Unique among the parent's children. Default `sequence-<id>-<first run>` (unique under a model actor). */
  readonly name?: string;
  readonly model: ModelConfig;
  readonly sequence: SequenceConfig;
  /** The slice's first run (from 1) and its number of runs. */
  readonly firstRun: number;
  readonly runs: number;
  readonly replyTo: ActorRef<SequenceReport>;
  readonly onCrash: CrashHandler<SequenceMessage>;
}) => ActorRef<SequenceMessage>;

/**
 * Builds the sequence actors of one job in this process: one provider client per
 * provider of the job, shared by its conversations; each attempt through the gate
 * of the provider's account. Used by the primary without workers, and by workers.
 */
export function sequenceFactory(deps: SequenceFactoryDeps): SequenceFactory {
  const providers = new Map<string, Provider>();
  const providerFor = (providerId: string): Provider => {
    let provider = providers.get(providerId);
    if (!provider) {
      provider = createProvider(configOf(deps.job, providerId), deps.apiKeys.get(providerId));
      providers.set(providerId, provider);
    }
    return provider;
  };
  const executorFor = (providerId: string): TurnExecutorDeps => ({
    provider: providerFor(providerId),
    gate: deps.gateFor(providerId),
    retry: configOf(deps.job, providerId).retry,
    clock: deps.clock,
    random: Math.random,
    sleep: abortableSleep,
  });
  const judge = judgeOf(deps.job, executorFor);
  return (request) => {
    const executor = executorFor(request.model.provider);
    return spawnSequence(
      request.parent,
      request.name ?? `sequence-${request.sequence.id}-${request.firstRun}`,
      {
        job: deps.job.id,
        model: request.model,
        sequence: request.sequence,
        firstRun: request.firstRun,
        runs: request.runs,
        replyTo: request.replyTo,
        store: deps.store,
        executor,
        ...(judge && { judge }),
        warn: (text, fields) =>
          deps.log.warn(
            { job: deps.job.id, model: request.model.id, sequence: request.sequence.id, ...fields },
            text,
          ),
      },
      request.onCrash,
    );
  };
}

/**
 * Places a job's sequence actors in this process, as children of their model actor; ready once
 * the SDKs of the job's providers are loaded.
 */
export function localPlacement(deps: SequenceFactoryDeps): SequencePlacement {
  const spawn = sequenceFactory(deps);
  const sdksLoaded = loadSdksFor(Object.values(deps.job.suite.providers));
  return {
    place: (request) => {
      const ref = spawn(request);
      return { ref, retire: () => stopActor(ref) };
    },
    readyFor: () => sdksLoaded,
  };
}

/** The judge of a job whose suite has one: its model, reached through its provider's gate. */
function judgeOf(
  job: JobRecord,
  executorFor: (providerId: string) => TurnExecutorDeps,
): JudgeDeps | undefined {
  const config = job.suite.judge;
  if (!config) return undefined;
  const model = job.suite.models.find((m) => m.id === config.model);
  if (!model) throw new Error(`job ${job.id}: the judge names no model of its suite ("${config.model}")`);
  return { config, model, executor: executorFor(model.provider), group: `${job.id}/judge` };
}

function configOf(job: JobRecord, providerId: string) {
  const config = job.suite.providers[providerId];
  if (!config) throw new Error(`job ${job.id}: no provider "${providerId}" in its suite`);
  return config;
}
