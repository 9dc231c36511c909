import type { Engine } from './engine.js';

/** How long in-flight requests may take to finish after a first SIGTERM/SIGINT, in ms. */
export const DEFAULT_SHUTDOWN_GRACE_MS = 30_000;

/** Signals that ask troupe to stop. */
const STOP_SIGNALS: readonly NodeJS.Signals[] = ['SIGINT', 'SIGTERM'];

/** What a graceful shutdown tells the user (a line for a terminal, or a log call). */
export type ShutdownNotice = (
  event: 'draining' | 'drained' | 'grace-expired' | 'forced',
  graceMs: number,
) => void;

/** The stop handling of a process, as `handleStopSignals` installs it. */
export interface StopHandlers {
  /** Asks for a stop as a first signal does (the output's reader went away, say). */
  readonly stop: () => void;
  /** Removes the signal handlers. */
  readonly remove: () => void;
}

/**
 * Installs the stop-signal handling of a troupe process. The first SIGTERM or
 * SIGINT (or `stop()`) stops issuing turns and lets requests in flight finish and
 * be committed, for at most `graceMs`; then the work stops (the jobs stay
 * resumable) and `onStopped` runs. A second signal stops at once — still safe,
 * because every answer that counts is already in the store.
 */
export function handleStopSignals(
  engine: Engine,
  graceMs: number,
  notice: ShutdownNotice,
  onStopped: () => void = () => undefined,
): StopHandlers {
  let signals = 0;
  const onSignal = (): void => {
    signals += 1;
    if (signals > 1) {
      notice('forced', graceMs);
      engine.stopWork();
      onStopped();
      return;
    }
    notice('draining', graceMs);
    void engine.drain(graceMs).then((drained) => {
      if (signals > 1) return;
      notice(drained ? 'drained' : 'grace-expired', graceMs);
      engine.stopWork();
      onStopped();
    });
  };
  for (const signal of STOP_SIGNALS) process.on(signal, onSignal);
  return {
    stop: () => {
      if (signals === 0) onSignal();
    },
    remove: () => {
      for (const signal of STOP_SIGNALS) process.off(signal, onSignal);
    },
  };
}
