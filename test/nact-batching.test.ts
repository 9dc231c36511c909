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

type CounterMessage =
  | { readonly type: 'add'; readonly n: number }
  | { readonly type: 'boom' }
  | { readonly type: 'get'; readonly replyTo: ActorRef<readonly number[]> };

/** Turns of the event loop a recorder counts, at most: far more than a test here takes. */
const MAX_COUNTED_TURNS = 5_000;

let system: SystemRef | undefined;
afterEach(() => {
  if (system) stopActor(system);
  system = undefined;
});

/** Waits one turn of the event loop. */
const nextTurn = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

/** An actor that records what it adds, and the turn of the event loop it handled each in. */
function recorder(onCrash: (message: unknown) => void = () => undefined) {
  system = startSystem();
  // Counts the turns of the event loop, for a bounded number of them.
  let turn = 0;
  const countTurns = (): void => {
    turn += 1;
    if (turn < MAX_COUNTED_TURNS) setImmediate(countTurns);
  };
  setImmediate(countTurns);
  const turnsSeen = new Set<number>();
  const ref = spawnActor<number[], CounterMessage>(
    system,
    'recorder',
    (state, message) => {
      turnsSeen.add(turn);
      if (message.type === 'boom') throw new Error('boom');
      if (message.type === 'get') {
        dispatch(message.replyTo, [...state]);
        return state;
      }
      return [...state, message.n];
    },
    {
      initialState: () => [],
      onCrash: (message) => {
        onCrash(message);
        return 'resume';
      },
    },
  );
  return { ref, turnsSeen };
}

const contents = (ref: ActorRef<CounterMessage>): Promise<readonly number[]> =>
  query<CounterMessage, readonly number[]>(ref, (replyTo) => ({ type: 'get', replyTo }), 1_000);

describe('nact wrapper: messages sent together are handled together', () => {
  it('handles a thousand messages sent in one run in order, in one turn of the event loop', async () => {
    const { ref, turnsSeen } = recorder();
    const sent = Array.from({ length: 1_000 }, (_, n) => n);
    for (const n of sent) dispatch(ref, { type: 'add', n });
    // The query is handled after what was dispatched before it.
    expect(await contents(ref)).toEqual(sent);
    // One turn for the thousand, one for the query (nact takes one message per turn).
    expect(turnsSeen.size).toBeLessThanOrEqual(2);
  });

  it('hands a crash the message that threw, and loses none of the messages after it', async () => {
    const crashed: unknown[] = [];
    const { ref } = recorder((message) => crashed.push(message));
    dispatch(ref, { type: 'add', n: 1 });
    dispatch(ref, { type: 'boom' });
    dispatch(ref, { type: 'add', n: 2 });
    dispatch(ref, { type: 'add', n: 3 });
    await expect.poll(() => crashed).toEqual([{ type: 'boom' }]);
    // `resume` keeps the state from before the batch (see the module comment); what came after
    // the crash is handled, in order.
    await expect.poll(() => contents(ref)).toEqual([2, 3]);
  });

  it('batches for stateless actors too, in order, and awaits async handlers one at a time', async () => {
    system = startSystem();
    const handled: number[] = [];
    let running = 0;
    let overlapped = false;
    const ref = spawnStatelessActor<number>(system, 'slow', async (n) => {
      running += 1;
      overlapped ||= running > 1;
      await nextTurn();
      handled.push(n);
      running -= 1;
    });
    for (let n = 0; n < 50; n += 1) dispatch(ref, n);
    await expect.poll(() => handled.length).toBe(50);
    expect(handled).toEqual(Array.from({ length: 50 }, (_, n) => n));
    expect(overlapped).toBe(false);
  });
});
