import { forecastSuite, type HistoryIndex } from '../../planning/forecast.js';
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
}

/**
 * `troupe plan <suite>`: what the suite's job would send, cost and take, before anything is sent.
 * Needs no API key and sends nothing; the store is only read (and need not exist).
 */
export async function runPlan(options: PlanOptions, out: (line: string) => void): Promise<void> {
  const suite = await loadSuite(options.suite);
  const history = await historyOf(options.dataDir);
  const forecast = forecastSuite(suite, history);
  out(options.format === 'json' ? JSON.stringify(forecast, null, 2) : formatForecast(forecast));
}

async function historyOf(dataDir: string): Promise<HistoryIndex> {
  let store;
  try {
    store = await openLmdbStore(dataDir, { readOnly: true });
  } catch (error) {
    // No store yet: a plan without history, from maxTokens and the default latency.
    if (error instanceof StoreError && error.code === 'troupe:store-missing') return new Map();
    throw error;
  }
  try {
    return readHistory(store);
  } finally {
    await store.close();
  }
}
