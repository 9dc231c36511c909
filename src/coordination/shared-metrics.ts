/**
 * Samples the shared budgets of a process into the metrics once a second (one read of the store
 * per key, off the hot path): whether the store answers, the budget in force, and each live
 * participant's share of it.
 */
import type { Metrics, SharedKeySample } from '../metrics/metrics.js';
import type { CoordinationRegistry } from './registry.js';
import { sharedKeyView } from './shared-view.js';

/** How often the shared keys' gauges are sampled, in ms. */
export const SHARED_SAMPLE_INTERVAL_MS = 1_000;

/** Starts sampling; returns a function that stops it. */
export function sampleSharedMetrics(coordination: CoordinationRegistry, metrics: Metrics): () => void {
  let sampling = false;
  const sample = async (): Promise<void> => {
    if (sampling) return;
    sampling = true;
    try {
      const views = (await coordination.report()).map(sharedKeyView);
      metrics.setSharedKeys(
        views.map((view): SharedKeySample => ({
          key: view.key,
          reachable: view.reachable,
          ...view.budget,
          participants: view.participants,
        })),
      );
    } finally {
      sampling = false;
    }
  };
  const timer = setInterval(() => void sample(), SHARED_SAMPLE_INTERVAL_MS);
  timer.unref();
  return () => clearInterval(timer);
}
