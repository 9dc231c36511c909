import { resolve } from 'node:path';
import { callDaemon } from '../../daemon/control-client.js';
import { loadSuite } from '../../suite/load.js';
import { cappedSuite } from '../../planning/capped-suite.js';

/** Options of `troupe submit`. */
export interface SubmitOptions {
  readonly suite: string;
  readonly dataDir: string;
  /** The job's spend cap in US dollars (`--max-cost`); every model needs prices. */
  readonly maxCostUsd?: number;
  /** Stored jobs whose identical conversations the job copies instead of requesting (`--reuse`). */
  readonly reuse?: readonly string[];
}

/**
 * `troupe submit <suite>`: validates the suite here (bad input is exit 2 before
 * the daemon hears of it), hands it to the daemon of the data directory, and
 * prints the new job's id. The daemon checks the API keys in its own environment.
 */
export async function runSubmit(options: SubmitOptions, out: (line: string) => void): Promise<void> {
  const loaded = await loadSuite(options.suite);
  const suite = options.maxCostUsd === undefined ? loaded : cappedSuite(loaded, options.maxCostUsd);
  const answer = await callDaemon(options.dataDir, {
    type: 'submit',
    suite,
    suitePath: resolve(options.suite),
    ...(options.reuse !== undefined && options.reuse.length > 0 && { reuse: options.reuse }),
  });
  if (answer.type !== 'submitted') throw new Error(`unexpected answer ${answer.type}`);
  out(answer.job);
}
