import { resolve } from 'node:path';
import { callDaemon } from '../../daemon/control-client.js';
import { loadSuite } from '../../suite/load.js';

/** Options of `troupe submit`. */
export interface SubmitOptions {
  readonly suite: string;
  readonly dataDir: string;
}

/**
 * `troupe submit <suite>`: validates the suite here (bad input is exit 2 before
 * the daemon hears of it), hands it to the daemon of the data directory, and
 * prints the new job's id. The daemon checks the API keys in its own environment.
 */
export async function runSubmit(options: SubmitOptions, out: (line: string) => void): Promise<void> {
  const suite = await loadSuite(options.suite);
  const answer = await callDaemon(options.dataDir, {
    type: 'submit',
    suite,
    suitePath: resolve(options.suite),
  });
  if (answer.type !== 'submitted') throw new Error(`unexpected answer ${answer.type}`);
  out(answer.job);
}
