import { performance } from 'node:perf_hooks';
import { setImmediate as nextCheckPhase } from 'node:timers/promises';

/** The part of a zeromq.js socket that a receive loop uses. */
export interface ReceivingSocket {
  readonly closed: boolean;
  receive(): Promise<Buffer[]>;
}

/**
 * How long reading may hold the event loop before it waits for the loop's check phase, in ms:
 * the handlers' time, and the microtasks they start (a permit's request being built, say).
 */
export const RECEIVE_BUDGET_MS = 2;

/**
 * Receives every message of `socket` until it closes, handing each to `dispatch`.
 *
 * Once `RECEIVE_BUDGET_MS` have passed since it last waited, the loop waits for the event loop's
 * check phase. zeromq.js resolves `receive()` at once while messages are queued, so without that
 * wait a burst of messages (the permit requests of thousands of sequences resumed at once, or
 * their permits coming back) is read to its end in microtasks: the actors — nact runs each
 * message in a `setImmediate` — cannot answer the first of them, nor the requests they start be
 * written to their sockets, until the last has been read. Waiting after every message instead
 * costs a turn of the loop per message when messages are cheap and queued back to back: about a
 * fifth of the throughput with workers.
 *
 * Bounded by the socket's life: `receive()` rejects once the socket is closed. Any other failure
 * is a bug and is rethrown outside the loop, so that it cannot pass silently.
 */
export async function receiveUntilClosed(
  socket: ReceivingSocket,
  isClosing: () => boolean,
  dispatch: (frames: Buffer[]) => void,
): Promise<void> {
  let waitedAt = performance.now();
  while (!socket.closed) {
    let frames: Buffer[];
    try {
      frames = await socket.receive();
    } catch (error) {
      if (isClosing() || socket.closed) return;
      setImmediate(() => {
        throw error;
      });
      return;
    }
    dispatch(frames);
    if (performance.now() - waitedAt >= RECEIVE_BUDGET_MS) {
      await nextCheckPhase();
      waitedAt = performance.now();
    }
  }
}
