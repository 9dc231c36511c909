/**
 * What the resilience integration tests share: an Engine in this process on a real LMDB
 * store in a temporary directory, a logger whose lines the test can read, bounded waits,
 * and measurements over the simulator's record.
 */
import { pino } from 'pino';
import type { Logger } from '../../src/log/logger.js';
import type { Metrics } from '../../src/metrics/metrics.js';
import { systemClock } from '../../src/resilience/clock.js';
import { Engine } from '../../src/runtime/engine.js';
import { createJob } from '../../src/runtime/jobs.js';
import type { RecordedRequest } from '../../src/simulator/server.js';
import { openLmdbStore } from '../../src/store/lmdb-store.js';
import type { CheckpointStore, JobRecord, TurnRecord } from '../../src/store/records.js';
import type { Suite } from '../../src/suite/types.js';
import { TEST_KEY, TEST_KEY_ENV } from '../helpers/job.js';
import { tempDir } from '../helpers/temp.js';

/** One line troupe logged, as parsed JSON (pino: `level`, `time`, `msg` and the fields). */
export interface LogLine {
  readonly level: number;
  readonly time: number;
  readonly msg: string;
  readonly [field: string]: unknown;
}

/** pino's numeric levels. */
export const LOG_LEVEL = { info: 30, warn: 40, error: 50 } as const;

/** An engine on a fresh store, and everything it logged. */
export interface Harness {
  readonly engine: Engine;
  readonly store: CheckpointStore & { turnsOf(job: string): TurnRecord[] };
  readonly logs: LogLine[];
  /** Creates and stores a job for `suite`. */
  createJob(suite: Suite): Promise<JobRecord>;
  /** Closes the engine and the store and removes the directory. */
  close(): Promise<void>;
}

/** A logger that keeps every line (info and above) in `lines`. */
export function capturingLogger(lines: LogLine[]): Logger {
  return pino(
    { level: 'info' },
    {
      write(line: string) {
        lines.push(JSON.parse(line) as LogLine);
      },
    },
  );
}

/** Starts an engine in this process on a new LMDB store in a temporary directory; `metrics` default none. */
export async function startHarness(options: { readonly metrics?: Metrics } = {}): Promise<Harness> {
  const dir = await tempDir('troupe-resilience-');
  const store = await openLmdbStore(dir.path);
  const logs: LogLine[] = [];
  const engine = await Engine.start({
    store,
    log: capturingLogger(logs),
    clock: systemClock,
    env: { [TEST_KEY_ENV]: TEST_KEY },
    ...(options.metrics && { metrics: options.metrics }),
  });
  let closed = false;
  return {
    engine,
    store,
    logs,
    createJob: (suite) => createJob(store, suite, 'generated.yaml'),
    async close() {
      if (closed) return;
      closed = true;
      await engine.close();
      await store.close();
      await dir.cleanup();
    },
  };
}

/** The largest number of `times` (ms, any order) that fall in one window `[t, t + windowMs)`. */
export function maxInWindow(times: readonly number[], windowMs: number): number {
  const sorted = [...times].sort((a, b) => a - b);
  let most = 0;
  let start = 0;
  for (let end = 0; end < sorted.length; end += 1) {
    while (sorted[end]! - sorted[start]! >= windowMs) start += 1;
    most = Math.max(most, end - start + 1);
  }
  return most;
}

/** The most requests that were open at the simulator at once, from the record's arrival and end times. */
export function maxConcurrentInRecord(records: readonly RecordedRequest[]): number {
  const events = records.flatMap((r) => [
    { at: r.receivedAt, delta: 1 },
    { at: r.finishedAt, delta: -1 },
  ]);
  // Ends before starts at the same ms: a request that ended as another arrived was not open with it.
  events.sort((a, b) => a.at - b.at || a.delta - b.delta);
  let open = 0;
  let most = 0;
  for (const event of events) {
    open += event.delta;
    most = Math.max(most, open);
  }
  return most;
}

/** Same model and messages: the same turn of the same conversation, asked again. */
export function sameRequest(a: RecordedRequest, b: RecordedRequest): boolean {
  return a.model === b.model && JSON.stringify(a.messages) === JSON.stringify(b.messages);
}
