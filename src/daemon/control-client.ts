import { randomUUID } from 'node:crypto';
import { ExitCode, ExitError, InputError } from '../errors.js';
import { DealerTransport } from '../transport/dealer.js';
import { isControlResponse } from './control-protocol.js';
import type { ControlRequest, ControlResponse } from './control-protocol.js';
import { readDaemonInfo } from './daemon-lock.js';

/** How long the CLI waits for the daemon's answer, in ms. */
export const CONTROL_TIMEOUT_MS = 10_000;

/**
 * How long `submit` waits, in ms: the daemon reads and validates the suite and stores its
 * sequences before it answers (a million-line sequences file takes about a minute).
 */
export const SUBMIT_TIMEOUT_MS = 600_000;

/** A request without its id (the client adds one). */
export type ControlCall = ControlRequest extends infer R
  ? R extends { requestId: string }
    ? Omit<R, 'requestId'>
    : never
  : never;

/**
 * Sends one request to the daemon running on `dataDir` and returns its answer (waiting at most
 * `timeoutMs`).
 * No daemon, a daemon that does not answer, or an error answer become an
 * `ExitError` with a message that says what to do.
 */
export async function callDaemon(
  dataDir: string,
  call: ControlCall,
  timeoutMs = CONTROL_TIMEOUT_MS,
): Promise<ControlResponse> {
  const info = await readDaemonInfo(dataDir);
  if (!info || info.controlEndpoint === '') {
    throw new InputError(
      `no troupe daemon is running on ${dataDir} (start one with: troupe daemon --data-dir ${dataDir})`,
    );
  }
  const transport = await DealerTransport.connect<ControlRequest, ControlResponse>(info.controlEndpoint, {
    routingId: `cli-${process.pid}-${randomUUID().slice(0, 8)}`,
    isMessage: isControlResponse,
  });
  try {
    const requestId = randomUUID();
    const answer = new Promise<ControlResponse>((resolve, reject) => {
      const timer = setTimeout(
        () =>
          reject(
            new ExitError(
              `the troupe daemon (pid ${info.pid}) on ${dataDir} did not answer within ${timeoutMs / 1000} s`,
              ExitCode.internal,
            ),
          ),
        timeoutMs,
      );
      transport.onMessage((message) => {
        if (message.requestId !== requestId) return;
        clearTimeout(timer);
        resolve(message);
      });
    });
    await transport.send({ ...call, requestId } as ControlRequest);
    const response = await answer;
    if (response.type === 'error') {
      throw new ExitError(response.error.message, response.badInput ? ExitCode.badInput : ExitCode.internal);
    }
    return response;
  } finally {
    await transport.close();
  }
}
