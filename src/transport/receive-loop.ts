import { setImmediate as nextCheckPhase } from 'node:timers/promises';

/** The part of a zeromq.js socket that a receive loop uses. */
export interface ReceivingSocket {
  readonly closed: boolean;
  receive(): Promise<Buffer[]>;
}

/**
 * Receives every message of `socket` until it closes, handing each to `dispatch`.
 *
 * After each message the loop waits for the event loop's check phase. zeromq.js resolves
 * `receive()` at once while messages are queued, so without that wait a burst of messages (the
 * permit requests of thousands of sequences resumed at once) is read to its end in microtasks,
 * and the actors — nact runs each message in a `setImmediate` — cannot answer the first of
 * them until the last has been read.
 *
 * Bounded by the socket's life: `receive()` rejects once the socket is closed. Any other failure
 * is a bug and is rethrown outside the loop, so that it cannot pass silently.
 */
export async function receiveUntilClosed(
  socket: ReceivingSocket,
  isClosing: () => boolean,
  dispatch: (frames: Buffer[]) => void,
): Promise<void> {
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
    await nextCheckPhase();
  }
}
