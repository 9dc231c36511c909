/**
 * Samples the shared budgets of a process into the metrics once a second (one read of the store
 * per key, off the hot path): whether the store answers, the budget in force, and each live
 * participant's share of it.
 */
import type { LearnedBucketSample, Metrics, SharedKeySample } from '../metrics/metrics.js';
import type { CoordinationRegistry } from './registry.js';
import { sharedKeyView, type LearnedBucketView, type SharedKeyView } from './shared-view.js';

const MS_PER_SECOND = 1_000;

function learnedSample(bucket: LearnedBucketView): LearnedBucketSample {
  return {
    remaining: bucket.remaining,
    ...(bucket.limit !== undefined && { limit: bucket.limit }),
    resetSeconds: bucket.resetInMs / MS_PER_SECOND,
  };
}

/** How often the shared keys' gauges are sampled, in ms. */
export const SHARED_SAMPLE_INTERVAL_MS = 1_000;

/** One shared key as the metrics take it. */
export function sharedKeySample(view: SharedKeyView): SharedKeySample {
  return {
    key: view.key,
    reachable: view.reachable,
    ...view.budget,
    learned: {
      ...(view.learned.requests && { requests: learnedSample(view.learned.requests) }),
      ...(view.learned.tokens && { tokens: learnedSample(view.learned.tokens) }),
    },
    participants: view.participants,
  };
}

/** Starts sampling; returns a function that stops it. */
export function sampleSharedMetrics(coordination: CoordinationRegistry, metrics: Metrics): () => void {
  let sampling = false;
  const sample = async (): Promise<void> => {
    if (sampling) return;
    sampling = true;
    try {
      metrics.setSharedKeys((await coordination.report()).map((r) => sharedKeySample(sharedKeyView(r))));
    } finally {
      sampling = false;
    }
  };
  const timer = setInterval(() => void sample(), SHARED_SAMPLE_INTERVAL_MS);
  timer.unref();
  return () => clearInterval(timer);
}
