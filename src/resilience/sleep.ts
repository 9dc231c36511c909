import { setTimeout as sleep } from 'node:timers/promises';

/** Waits `ms`; rejects with an AbortError as soon as `signal` aborts. */
export function abortableSleep(ms: number, signal: AbortSignal): Promise<void> {
  return sleep(ms, undefined, { signal });
}
