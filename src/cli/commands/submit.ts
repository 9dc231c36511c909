import { resolve } from 'node:path';
import { callDaemon, SUBMIT_TIMEOUT_MS } from '../../daemon/control-client.js';

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
 * `troupe submit <suite>`: hands the suite file's absolute path to the daemon of the data
 * directory, which reads and validates it exactly as `troupe validate` does (bad input is exit 2,
 * with the same messages) and checks the API keys in its own environment; prints the new job's id.
 */
export async function runSubmit(options: SubmitOptions, out: (line: string) => void): Promise<void> {
  const answer = await callDaemon(
    options.dataDir,
    {
      type: 'submit',
      suitePath: resolve(options.suite),
      ...(options.maxCostUsd !== undefined && { maxCostUsd: options.maxCostUsd }),
      ...(options.reuse !== undefined && options.reuse.length > 0 && { reuse: options.reuse }),
    },
    SUBMIT_TIMEOUT_MS,
  );
  if (answer.type !== 'submitted') throw new Error(`unexpected answer ${answer.type}`);
  out(answer.job);
}
