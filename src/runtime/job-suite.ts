/**
 * The suite of a new job, from its file, for `troupe run` and for the daemon's `submit`: read and
 * validated exactly as `troupe validate` reads it, the spend cap of `--max-cost` applied, its API
 * keys found in the environment that will send the requests, and its coordination stores
 * answering. Nothing is written: a suite refused here leaves no trace. Its check scripts are
 * frozen into the data directory as its sequences are read (when the job is created).
 */
import path from 'node:path';
import { checkSharedLimits } from '../coordination/suite-check.js';
import { cappedSuite } from '../planning/capped-suite.js';
import { resolveApiKeys } from '../suite/api-keys.js';
import type { SuiteSource } from '../suite/load.js';
import { freezeScripts } from './frozen-scripts.js';

/** What a new job's suite is opened with. */
export interface JobSuiteOptions {
  /** The job's spend cap in US dollars (`--max-cost`), over the suite's `budget`. */
  readonly maxCostUsd?: number;
  /** Where the API keys are read from (the process that sends the requests). */
  readonly env: NodeJS.ProcessEnv;
  /** The data directory the job is created in: its check scripts are frozen there. */
  readonly dataDir: string;
}

/** Opens the suite file at `suitePath` for a new job; bad input throws an `InputError` (exit 2). */
export async function openJobSuite(suitePath: string, options: JobSuiteOptions): Promise<SuiteSource> {
  // Streamed: a sequences file of a million lines is validated now, and read again into the store.
  // The suite reader (yaml, the schema checks) is loaded on the first suite: a daemon resuming its
  // jobs at a restart does not need it before its first request.
  const { openSuite } = await import('../suite/load.js');
  const loaded = await openSuite(suitePath);
  const suite: SuiteSource =
    options.maxCostUsd === undefined
      ? loaded
      : { ...loaded, settings: cappedSuite(loaded.settings, options.maxCostUsd) };
  resolveApiKeys(suite.settings, options.env, suitePath);
  await checkSharedLimits(suite.settings, options.env, suitePath);
  return freezeScripts(suite, path.dirname(suitePath), options.dataDir);
}
