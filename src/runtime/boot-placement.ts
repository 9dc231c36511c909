import type { SequencePlacement } from '../actors/model.js';
import { CONVERSATIONS_OF_FIRST_STEP } from '../actors/placement-steps.js';

/** What `placementWhileWorkersBoot` chooses between. */
export interface BootPlacementParts {
  /** Places sequences in this process (the primary). */
  readonly local: SequencePlacement;
  /** Places sequences on the workers. */
  readonly workers: SequencePlacement;
  /** True until the workers' first boot ends. */
  readonly workersBooting: () => boolean;
  /** Resolves when the workers' first boot ends. */
  readonly workersBooted: Promise<void>;
  /** Conversations (sequences × runs) of each model started here while the workers boot. */
  readonly conversationsPerModel?: number;
}

/**
 * Places a job's sequences on the workers, except that while the workers boot each model's first
 * conversations (its first placement step) start in this process; the model's next steps wait
 * for the workers.
 *
 * Why: a worker process takes about 300 ms of CPU to load Node.js, the store, the transport and
 * the provider SDKs, and at a daemon restart the primary and every worker load at once on the
 * same cores. Meanwhile the primary would sit idle with the jobs it resumed; starting a few of
 * their conversations itself sends the first requests after the primary's own start alone. Those
 * conversations stay here until they finish (moving them would cost a request's latency each),
 * and there are few: once the workers are up, every later sequence goes to them.
 */
export function placementWhileWorkersBoot(parts: BootPlacementParts): SequencePlacement {
  const quota = parts.conversationsPerModel ?? CONVERSATIONS_OF_FIRST_STEP;
  /** Conversations started here so far, by model. */
  const startedHere = new Map<string, number>();
  const hasQuota = (model: string): boolean => (startedHere.get(model) ?? 0) < quota;
  return {
    place: (request) => {
      const model = request.model.id;
      if (!parts.workersBooting() || !hasQuota(model)) return parts.workers.place(request);
      startedHere.set(model, (startedHere.get(model) ?? 0) + request.runs);
      return parts.local.place(request);
    },
    readyFor: (model) => {
      if (!parts.workersBooting()) return parts.workers.readyFor?.(model);
      return hasQuota(model) ? parts.local.readyFor?.(model) : parts.workersBooted;
    },
  };
}
