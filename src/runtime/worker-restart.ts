/**
 * When to restart a worker process that died: at once after one that ran a while, then with a
 * doubling delay, so a worker that keeps crashing is not restarted in a hot loop.
 */

/** A worker that lived less than this before dying counts as a quick crash, in ms. */
export const QUICK_CRASH_MS = 10_000;
/** Delay before restarting a worker after its first quick crash, in ms; doubles per quick crash in a row. */
export const RESTART_BACKOFF_BASE_MS = 500;
/** Longest delay before restarting a worker, in ms. */
export const RESTART_BACKOFF_MAX_MS = 30_000;

/**
 * How long to wait before restarting a worker that has crashed quickly `quickCrashes` times in
 * a row, in ms.
 */
export function restartDelayMs(quickCrashes: number): number {
  if (quickCrashes <= 0) return 0;
  return Math.min(RESTART_BACKOFF_MAX_MS, RESTART_BACKOFF_BASE_MS * 2 ** (quickCrashes - 1));
}

/** Quick crashes in a row after a worker that had `previous` of them died having lived `livedMs`. */
export function quickCrashesAfter(previous: number, livedMs: number): number {
  return livedMs < QUICK_CRASH_MS ? previous + 1 : 0;
}
