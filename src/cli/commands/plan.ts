import { ForecastBuilder } from '../../planning/forecast.js';
import type { JobForecast } from '../../planning/forecast-types.js';
import type { HistoryIndex } from '../../planning/history.js';
import { findReuse } from '../../planning/reuse.js';
import { formatForecast } from '../../planning/format.js';
import { readHistory } from '../../planning/history.js';
import { openLmdbStore, type LmdbCheckpointStore } from '../../store/lmdb-store.js';
import { StoreError } from '../../store/store-error.js';
import { openSuite, type SuiteSource } from '../../suite/load.js';
import { jsonForTerminal } from '../../results/terminal-text.js';

/** Sequences read from the suite (and matched against `--reuse` jobs) at a time. */
const PLAN_BATCH = 1000;

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
 * Needs no API key and sends nothing; the store is only read (and need not exist). The sequences
 * are read in batches, so a sequences file of a million lines is planned without being held.
 */
export async function runPlan(options: PlanOptions, out: (line: string) => void): Promise<void> {
  const source = await openSuite(options.suite);
  const reuse = options.reuse ?? [];
  const store = await openStore(options.dataDir, reuse.length > 0);
  let forecast: JobForecast;
  try {
    forecast = await planSuite(source, store === undefined ? new Map() : readHistory(store), store, reuse);
  } finally {
    await store?.close();
  }
  out(options.format === 'json' ? jsonForTerminal(forecast) : formatForecast(forecast));
}

/** The store, read-only; undefined when there is none yet and no `--reuse` needs one. */
async function openStore(dataDir: string, needed: boolean): Promise<LmdbCheckpointStore | undefined> {
  try {
    return await openLmdbStore(dataDir, { readOnly: true });
  } catch (error) {
    // No store yet: a plan without history, from maxTokens and the default latency.
    if (error instanceof StoreError && error.code === 'troupe:store-missing' && !needed) return undefined;
    throw error;
  }
}

async function planSuite(
  source: SuiteSource,
  history: HistoryIndex,
  store: LmdbCheckpointStore | undefined,
  reuse: readonly string[],
): Promise<JobForecast> {
  const builder = new ForecastBuilder(source.settings, history);
  const finder =
    store === undefined || reuse.length === 0 ? undefined : findReuse(store, source.settings, reuse);
  for await (const batch of source.sequences(PLAN_BATCH)) builder.add(batch, finder?.find(batch).reused);
  return builder.result();
}
