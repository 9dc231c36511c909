import type { ErrorData } from '../store/records.js';
import { ERROR_CODES } from '../resilience/errors.js';
import { dispatch } from './nact.js';
import type { CrashHandler } from './nact.js';
import type { SequenceMessage } from './sequence.js';

/** Restarts allowed per sequence actor before it is stopped and its job halted. */
export const DEFAULT_MAX_SEQUENCE_RESTARTS = 5;

/** What the restart policy needs to know and whom it tells. */
export interface RestartPolicyOptions {
  readonly sequence: string;
  /** Restarts allowed before the actor is stopped. */
  readonly maxRestarts: number;
  /** Called once when the actor is stopped for good. */
  readonly onGiveUp: (error: ErrorData) => void;
  readonly warn: (message: string, fields?: Record<string, unknown>) => void;
}

/**
 * The supervision policy of a sequence actor, installed in its own props by
 * whoever places it (its model actor, or the worker that hosts it): a crash
 * resets the actor, which rebuilds its runs from the store and is started again;
 * after `maxRestarts` crashes it is stopped and `onGiveUp` is told, so a
 * conversation that keeps failing never takes down its job or its process.
 */
export function sequenceRestartPolicy(options: RestartPolicyOptions): CrashHandler<SequenceMessage> {
  let restarts = 0;
  return (_message, error, crashed) => {
    restarts += 1;
    const reason = error instanceof Error ? error.message : String(error);
    if (restarts > options.maxRestarts) {
      options.warn('sequence actor keeps crashing; stopping it', {
        sequence: options.sequence,
        restarts,
        reason,
      });
      options.onGiveUp({ code: ERROR_CODES.internal, message: `crashed ${restarts} times; last: ${reason}` });
      return 'stop';
    }
    options.warn('sequence actor crashed; restarting it from the store', {
      sequence: options.sequence,
      restarts,
      reason,
    });
    // The mailbox survives a reset, so this 'start' is the first message the rebuilt actor handles.
    dispatch(crashed.self, { type: 'start' });
    return 'reset';
  };
}
