import { forecastSuite, type HistoryIndex, type ReusedTurns } from '../../planning/forecast.js';
import { planReuse } from '../../planning/reuse.js';
import type { Suite } from '../../suite/types.js';
import { formatForecast } from '../../planning/format.js';
import { readHistory } from '../../planning/history.js';
import { openLmdbStore } from '../../store/lmdb-store.js';
import { StoreError } from '../../store/store-error.js';
import { loadSuite } from '../../suite/load.js';

/** Options of `troupe plan`. */
export interface PlanOptions {
  /** Path of the suite file. */
  readonly suite: string;
  /** The store whose earlier jobs give answer lengths and latencies (optional: may not exist). */
  readonly dataDir: string;
  /** `table` for a terminal (default), `json` for machines. */
  readonly format: 'table' | 'json';
  /** Stored jobs whose answers the job would copy (`--reuse`): the plan leaves those turns out. */
  readonly reuse?: readonly string[];
}

/**
 * `troupe plan <suite>`: what the suite's job would send, cost and take, before anything is sent.
 * Needs no API key and sends nothing; the store is only read (and need not exist).
 */
export async function runPlan(options: PlanOptions, out: (line: string) => void): Promise<void> {
  const suite = await loadSuite(options.suite);
  const { history, reused } = await fromStore(options.dataDir, suite, options.reuse ?? []);
  const forecast = forecastSuite(suite, history, reused);
  out(options.format === 'json' ? JSON.stringify(forecast, null, 2) : formatForecast(forecast));
}

async function fromStore(
  dataDir: string,
  suite: Suite,
  reuse: readonly string[],
): Promise<{ history: HistoryIndex; reused?: ReusedTurns }> {
  let store;
  try {
    store = await openLmdbStore(dataDir, { readOnly: true });
  } catch (error) {
    // No store yet: a plan without history, from maxTokens and the default latency.
    if (error instanceof StoreError && error.code === 'troupe:store-missing' && reuse.length === 0) {
      return { history: new Map() };
    }
    throw error;
  }
  try {
    const history = readHistory(store);
    return reuse.length === 0 ? { history } : { history, reused: planReuse(store, suite, reuse).reused };
  } finally {
    await store.close();
  }
}
