import { describe, expect, it } from 'vitest';
import { PlacementTable } from '../src/runtime/worker-placements.js';
import type { Placed } from '../src/runtime/worker-placements.js';
import type { ActorRef } from '../src/actors/nact.js';
import { sequenceKey } from '../src/transport/protocol.js';
import type { SequenceReport } from '../src/transport/protocol.js';

function placed(sequence: string): Placed {
  return {
    key: sequenceKey('job', 'model', sequence, 1),
    job: 'job',
    model: 'model',
    sequence,
    firstRun: 1,
    runs: 1,
    replyTo: {} as ActorRef<SequenceReport>,
    worker: undefined,
    started: false,
    halted: undefined,
  };
}

describe('the placement table', () => {
  it('counts the sequences each worker hosts as they move, and forgets removed ones', () => {
    const table = new PlacementTable();
    const [a, b, c] = [placed('a'), placed('b'), placed('c')];
    for (const p of [a, b, c]) table.add(p);
    table.move(a, 'worker-1');
    table.move(b, 'worker-1');
    table.move(c, 'worker-2');
    expect([table.countOn('worker-1'), table.countOn('worker-2')]).toEqual([2, 1]);
    table.move(b, 'worker-2');
    expect([table.countOn('worker-1'), table.countOn('worker-2')]).toEqual([1, 2]);
    table.remove(c);
    expect([table.countOn('worker-2'), table.holds(c), table.get(c.key)]).toEqual([1, false, undefined]);
    expect(table.select((p) => p.worker === 'worker-2')).toEqual([b]);
  });

  it('chooses the least loaded of the ready workers, the first of them on a tie', () => {
    const table = new PlacementTable();
    const [a, b] = [placed('a'), placed('b')];
    table.add(a);
    table.add(b);
    expect(table.leastLoaded(['worker-1', 'worker-2'])).toBe('worker-1');
    table.move(a, 'worker-1');
    expect(table.leastLoaded(['worker-1', 'worker-2'])).toBe('worker-2');
    table.move(b, 'worker-2');
    expect(table.leastLoaded(['worker-2', 'worker-1'])).toBe('worker-2');
    expect(table.leastLoaded([])).toBeUndefined();
  });

  it('holds a placement, not its key: a later placement of the same key is another one', () => {
    const table = new PlacementTable();
    const first = placed('a');
    table.add(first);
    const again = placed('a');
    table.add(again);
    expect([table.holds(first), table.holds(again)]).toEqual([false, true]);
  });
});
