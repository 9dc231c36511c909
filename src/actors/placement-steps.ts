/**
 * How fast a burst of conversations is set up: in steps that double, so that the first requests
 * leave after a short set-up. The model actor starts its slices in these steps, and a worker
 * spawns the slices it receives in them.
 */

/**
 * Conversations a model keeps live at once when its provider sets no `maxConcurrency`. A live
 * conversation costs a few kB (its actor and context); a conversation waiting to start costs
 * nothing. 1 024 conversations keep a 20 ms provider at 50 000 requests a second, far more than
 * one machine's CPU serves.
 */
export const DEFAULT_LIVE_CONVERSATIONS_PER_MODEL = 1_024;

/**
 * Conversations (sequences × runs) started per step, at most; the model actor yields to the event
 * loop between steps. Setting up a conversation costs CPU (reading its turns from the store,
 * building its context, its first admit), and starting a big window at once would keep its first
 * request waiting behind the set-up of all of them: after a daemon restart, resuming 10 000
 * conversations took about half a second before the first request left.
 */
export const CONVERSATIONS_PER_PLACEMENT_STEP = 256;
/** Conversations of the first placement step: the first requests leave after a short set-up. */
export const CONVERSATIONS_OF_FIRST_STEP = 16;

/**
 * Conversations of placement step `step` (0 for the first): the steps double from
 * `CONVERSATIONS_OF_FIRST_STEP` up to `CONVERSATIONS_PER_PLACEMENT_STEP`, so that the event loop
 * stays free for the first requests' messages while they find their way.
 */
export function conversationsOfStep(step: number): number {
  return Math.min(CONVERSATIONS_PER_PLACEMENT_STEP, CONVERSATIONS_OF_FIRST_STEP * 2 ** step);
}
