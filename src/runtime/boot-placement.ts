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
  /** Conversations (sequences × runs) of each model live here at once, at most, while the workers boot. */
  readonly conversationsPerModel?: number;
}

/**
 * Places a job's sequences on the workers, except that while the workers boot each model keeps up
 * to a quota of conversations (its first placement step's worth) live in this process; the
 * model's other sequences wait for the workers.
 *
 * Why: a worker process takes about 300 ms of CPU to load Node.js, the store, the transport and
 * the provider SDKs, and at a daemon restart the primary and every worker load at once on the
 * same cores. Meanwhile the primary would sit idle with the jobs it resumed; starting a few of
 * their conversations itself sends the first requests after the primary's own start alone.
 *
 * The quota counts conversations live here, not every one ever started here: a resumed job's
 * walk starts at its last checkpoint, and the slices right after it were mostly finished before
 * the restart (they read their turns from the store and finish at once, without a request).
 * Counting those for good spent the quota on them, and the first request waited for the workers.
 * A slice that finishes here gives its conversations back while the workers boot, so the primary
 * walks on to the first conversations with a turn left. Those stay here until they finish (moving
 * them would cost a request's latency each), and there are few: once the workers are up, every
 * later sequence goes to them.
 */
export function placementWhileWorkersBoot(parts: BootPlacementParts): SequencePlacement {
  const quota = parts.conversationsPerModel ?? CONVERSATIONS_OF_FIRST_STEP;
  /** Conversations live here, by model. */
  const liveHere = new Map<string, number>();
  /** Per model waiting for quota: resolves when a conversation here ends (or the workers booted). */
  const quotaFreed = new Map<string, { promise: Promise<void>; resolve: () => void }>();
  const hasQuota = (model: string): boolean => (liveHere.get(model) ?? 0) < quota;
  const freed = (model: string): Promise<void> => {
    let waiting = quotaFreed.get(model);
    if (!waiting) {
      let resolve: () => void = () => undefined;
      const promise = Promise.race([
        parts.workersBooted,
        new Promise<void>((done) => {
          resolve = done;
        }),
      ]);
      waiting = { promise, resolve };
      quotaFreed.set(model, waiting);
    }
    return waiting.promise;
  };
  return {
    place: (request) => {
      const model = request.model.id;
      if (!parts.workersBooting() || !hasQuota(model)) return parts.workers.place(request);
      liveHere.set(model, (liveHere.get(model) ?? 0) + request.runs);
      const placed = parts.local.place(request);
      let retired = false;
      return {
        ref: placed.ref,
        retire: () => {
          placed.retire();
          if (retired) return;
          retired = true;
          liveHere.set(model, (liveHere.get(model) ?? 0) - request.runs);
          const waiting = quotaFreed.get(model);
          quotaFreed.delete(model);
          waiting?.resolve();
        },
      };
    },
    readyFor: (model) => {
      if (!parts.workersBooting()) return parts.workers.readyFor?.(model);
      return hasQuota(model) ? parts.local.readyFor?.(model) : freed(model);
    },
  };
}
