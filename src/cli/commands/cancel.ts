import { callDaemon } from '../../daemon/control-client.js';

/** Options of `troupe cancel`. */
export interface CancelOptions {
  readonly dataDir: string;
  readonly job: string;
}

/** `troupe cancel <job>`: the job stops issuing requests; its finished turns stay readable. */
export async function runCancel(options: CancelOptions, out: (line: string) => void): Promise<void> {
  const answer = await callDaemon(options.dataDir, { type: 'cancel', job: options.job });
  if (answer.type !== 'cancelled') throw new Error(`unexpected answer ${answer.type}`);
  out(`job ${answer.job} cancelled`);
}
