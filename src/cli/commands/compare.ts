import { compareJobReaders, formatComparison } from '../../report/compare.js';
import { storedJobReader } from '../../report/job-reader.js';
import { openLmdbStore } from '../../store/lmdb-store.js';
import { jsonForTerminal } from '../../results/terminal-text.js';

/** Options of `troupe compare`. */
export interface CompareOptions {
  /** Id of the job before (the baseline). */
  readonly before: string;
  /** Id of the job after. */
  readonly after: string;
  /** The store's directory. */
  readonly dataDir: string;
  /** `table` for a terminal (default), `json` for machines. */
  readonly format: 'table' | 'json';
}

/**
 * `troupe compare <jobA> <jobB>`: what got better or worse from A to B, per model and per
 * sequence, in memory bounded whatever the jobs' sizes. An unknown job is an `InputError` naming the latest jobs.
 */
export async function runCompare(options: CompareOptions, out: (line: string) => void): Promise<void> {
  const store = await openLmdbStore(options.dataDir, { readOnly: true });
  try {
    // Streamed: both jobs' turns are read in key order, one (model, sequence) of each at a time.
    const comparison = compareJobReaders(
      storedJobReader(store, options.before, options.dataDir),
      storedJobReader(store, options.after, options.dataDir),
    );
    out(options.format === 'json' ? jsonForTerminal(comparison) : formatComparison(comparison));
  } finally {
    await store.close();
  }
}
