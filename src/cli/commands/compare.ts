import { compareJobs, formatComparison } from '../../report/compare.js';
import { storedJob } from '../../report/stored-job.js';
import { openLmdbStore } from '../../store/lmdb-store.js';

/** Options of `troupe compare`. */
export interface CompareOptions {
  /** The job before. */
  readonly before: string;
  /** The job after. */
  readonly after: string;
  readonly dataDir: string;
  readonly format: 'table' | 'json';
}

/** `troupe compare <jobA> <jobB>`: what got better or worse, per model and sequence. */
export async function runCompare(options: CompareOptions, out: (line: string) => void): Promise<void> {
  const store = await openLmdbStore(options.dataDir, { readOnly: true });
  try {
    const comparison = compareJobs(
      storedJob(store, options.before, options.dataDir),
      storedJob(store, options.after, options.dataDir),
    );
    out(options.format === 'json' ? JSON.stringify(comparison, null, 2) : formatComparison(comparison));
  } finally {
    await store.close();
  }
}
