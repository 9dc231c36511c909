/**
 * nact, as published, copies an actor's whole children map into the context of every message
 * it delivers, so a parent of N children pays O(N) per message: a model actor with one child per
 * conversation made a job quadratic. troupe patches nact (patches/nact+7.6.2.patch, applied by
 * `npm ci` through patch-package) to copy the map only when a handler reads `ctx.children`.
 * This test fails on an unpatched nact.
 */
import * as nact from 'nact';
import { afterEach, describe, expect, it } from 'vitest';
import {
  dispatch,
  query,
  spawnActor,
  spawnStatelessActor,
  startSystem,
  stopActor,
} from '../src/actors/nact.js';
import type { ActorRef, SystemRef } from '../src/actors/nact.js';

const CHILDREN = 2_000;
const MESSAGES = 50;
const QUERY_TIMEOUT_MS = 5_000;

type ParentMessage = { readonly type: 'ping'; readonly replyTo: ActorRef<number> };

let system: SystemRef | undefined;
const originalIterator = Map.prototype[Symbol.iterator];
afterEach(() => {
  Map.prototype[Symbol.iterator] = originalIterator;
  if (system) stopActor(system);
  system = undefined;
});

/**
 * Counts how often a map of at least `size` entries is iterated (what `new Map(map)` does), from
 * now until the returned function is called; it returns the count.
 */
function countIterationsOfMapsOf(size: number): () => number {
  let count = 0;
  Map.prototype[Symbol.iterator] = function <K, V>(this: Map<K, V>) {
    if (this.size >= size) count += 1;
    return originalIterator.call(this) as MapIterator<[K, V]>;
  };
  return () => {
    Map.prototype[Symbol.iterator] = originalIterator;
    return count;
  };
}

describe('nact with troupe’s patch', () => {
  it('delivers messages to a parent of many children without copying its children', async () => {
    system = startSystem();
    let handled = 0;
    const parent = spawnActor<number, ParentMessage>(
      system,
      'parent',
      (state, message) => {
        handled += 1;
        dispatch(message.replyTo, state);
        return state + 1;
      },
      { initialState: () => 0 },
    );
    for (let i = 0; i < CHILDREN; i += 1) spawnStatelessActor(parent, `child-${i}`, () => undefined);

    const stop = countIterationsOfMapsOf(CHILDREN);
    for (let i = 0; i < MESSAGES; i += 1) {
      await query<ParentMessage, number>(parent, (replyTo) => ({ type: 'ping', replyTo }), QUERY_TIMEOUT_MS);
    }
    const copies = stop();

    expect(handled).toBe(MESSAGES);
    expect(copies).toBe(0);
  });

  it('still gives a handler that asks the parent’s children, as they are now', async () => {
    system = startSystem();
    const sizes: number[] = [];
    // Through nact itself: troupe's wrapper does not expose `children`.
    const parent = nact.spawnStateless(
      system as unknown as nact.Ref<unknown>,
      (_message: unknown, ctx: { children: Map<string, unknown> }) => {
        sizes.push(ctx.children.size);
      },
      'parent',
    );
    nact.spawnStateless(parent, () => undefined, 'a');
    const b = nact.spawnStateless(parent, () => undefined, 'b');
    nact.dispatch(parent, 'first');
    await expect.poll(() => sizes.length).toBe(1);
    nact.stop(b);
    nact.dispatch(parent, 'second');
    await expect.poll(() => sizes.length).toBe(2);
    expect(sizes).toEqual([2, 1]);
  });
});
