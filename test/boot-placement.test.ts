import { afterEach, describe, expect, it, vi } from 'vitest';
import type { ModelMessage, SequencePlacement } from '../src/actors/model.js';
import { spawnStatelessActor, startSystem, stopActor } from '../src/actors/nact.js';
import type { SystemRef } from '../src/actors/nact.js';
import type { SequenceMessage, SequenceReport } from '../src/actors/sequence.js';
import { placementWhileWorkersBoot } from '../src/runtime/boot-placement.js';
import type { ModelConfig } from '../src/suite/types.js';

const MODEL_A: ModelConfig = { id: 'a', provider: 'p', model: 'a-1', maxTokens: 10 };
const MODEL_B: ModelConfig = { id: 'b', provider: 'p', model: 'b-1', maxTokens: 10 };

let system: SystemRef | undefined;
afterEach(() => {
  if (system) stopActor(system);
  system = undefined;
});

/** A placement that records the sequences it places, ready when `ready` says. */
function recording(name: string, ready: Promise<void>) {
  const placed: string[] = [];
  const placement: SequencePlacement = {
    place: (request) => {
      placed.push(`${request.model.id}/${request.sequence.id}`);
      const ref = spawnStatelessActor<SequenceMessage>(
        request.parent,
        `${name}-${placed.length}`,
        () => undefined,
      );
      return { ref, retire: () => stopActor(ref) };
    },
    readyFor: () => ready,
  };
  return { placed, placement, ready };
}

function setUp() {
  system = startSystem();
  const parent = spawnStatelessActor<ModelMessage>(system, 'parent', () => undefined);
  const replyTo = spawnStatelessActor<SequenceReport>(system, 'reports', () => undefined);
  const local = recording('local', Promise.resolve());
  const workers = recording('workers', Promise.resolve());
  let booting = true;
  let endBoot: () => void = () => undefined;
  const workersBooted = new Promise<void>((resolve) => {
    endBoot = () => {
      booting = false;
      resolve();
    };
  });
  const boot = placementWhileWorkersBoot({
    local: local.placement,
    workers: workers.placement,
    workersBooting: () => booting,
    workersBooted,
    conversationsPerModel: 6,
  });
  let next = 0;
  const place = (model: ModelConfig, runs: number) => {
    next += 1;
    return boot.place({
      parent,
      job: 'job',
      model,
      sequence: { id: `s${next}`, prompts: ['p'] },
      firstRun: 1,
      runs,
      replyTo,
      onCrash: () => 'stop',
    });
  };
  return { boot, local, workers, place, endBoot, workersBooted };
}

describe('placement while the workers boot', () => {
  it('starts each model’s first conversations here, up to the quota, and the rest on the workers', () => {
    const { local, workers, place } = setUp();
    // Model a: 4 + 4 conversations reach the quota of 6; the third sequence goes to the workers.
    place(MODEL_A, 4);
    place(MODEL_A, 4);
    place(MODEL_A, 4);
    // Model b has a quota of its own.
    place(MODEL_B, 2);
    expect(local.placed).toEqual(['a/s1', 'a/s2', 'b/s4']);
    expect(workers.placed).toEqual(['a/s3']);
  });

  it('is ready for a model with quota left when this process is, else when the workers have booted', async () => {
    const { boot, local, place, endBoot } = setUp();
    expect(boot.readyFor?.('a')).toBe(local.ready);
    place(MODEL_A, 6);
    let ready = false;
    void boot.readyFor?.('a')?.then(() => (ready = true));
    expect(boot.readyFor?.('b')).toBe(local.ready);
    await Promise.resolve();
    expect(ready).toBe(false);
    endBoot();
    await vi.waitFor(() => expect(ready).toBe(true));
  });

  it('counts the conversations live here: one that ends while the workers boot gives its quota back', async () => {
    const { boot, local, workers, place } = setUp();
    // A resumed job: its first slices were done before the restart and finish at once here.
    const first = place(MODEL_A, 4);
    const second = place(MODEL_A, 2);
    let ready = false;
    void boot.readyFor?.('a')?.then(() => (ready = true));
    first.retire();
    first.retire(); // Retired twice (a job's release after the slice finished): given back once.
    await vi.waitFor(() => expect(ready).toBe(true));
    place(MODEL_A, 4);
    place(MODEL_A, 1);
    expect(local.placed).toEqual(['a/s1', 'a/s2', 'a/s3']);
    expect(workers.placed).toEqual(['a/s4']);
    second.retire();
    expect(boot.readyFor?.('a')).toBe(local.ready);
  });

  it('once the workers have booted, places everything on them and is ready as they are', async () => {
    const { boot, local, workers, place, endBoot } = setUp();
    endBoot();
    place(MODEL_A, 1);
    place(MODEL_B, 1);
    expect(local.placed).toEqual([]);
    expect(workers.placed).toEqual(['a/s1', 'b/s2']);
    expect(boot.readyFor?.('a')).toBe(workers.ready);
  });
});
