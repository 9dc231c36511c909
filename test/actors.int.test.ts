import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { silentLogger } from '../src/log/logger.js';
import { systemClock } from '../src/resilience/clock.js';
import { Engine } from '../src/runtime/engine.js';
import { createJob } from '../src/runtime/jobs.js';
import { startSimulator } from '../src/simulator/server.js';
import type { Simulator } from '../src/simulator/server.js';
import { FailingStore } from '../src/store/failing-store.js';
import { openLmdbStore } from '../src/store/lmdb-store.js';
import type { CheckpointStore, TurnRecord } from '../src/store/records.js';
import { expectContractHolds } from './helpers/contract.js';
import { TEST_KEY, TEST_KEY_ENV, simulatorSuite } from './helpers/job.js';
import { runSentinelJob } from './helpers/sentinel-job.js';
import { tempDir } from './helpers/temp.js';

const env = { [TEST_KEY_ENV]: TEST_KEY };
const SHAPE = { models: 2, sequences: 3, prompts: 3, runs: 2 } as const;
const TOTAL_TURNS = 2 * 3 * 3 * 2;

/** A store whose `putTurns` throws synchronously (a bug, not a failed write) the first `times` calls. */
class ThrowingStore extends FailingStore {
  constructor(
    inner: CheckpointStore,
    private times: number,
  ) {
    super(inner);
  }
  override putTurns(turns: readonly TurnRecord[]): Promise<void> {
    if (this.times > 0) {
      this.times -= 1;
      throw new Error('surprise in the write path');
    }
    return super.putTurns(turns);
  }
}

describe('actor tree: resume from the store, supervision, store failures', () => {
  let sim: Simulator;
  let dir: Awaited<ReturnType<typeof tempDir>>;

  beforeEach(async () => {
    sim = await startSimulator({ latencyMs: 20 });
    dir = await tempDir();
  });
  afterEach(async () => {
    await sim.close();
    await dir.cleanup();
  });

  it('a failed checkpoint write halts the job; a restart resumes where the store stopped, exactly once', async () => {
    const lmdb = await openLmdbStore(dir.path);
    const failing = new FailingStore(lmdb);
    // One request at a time: at the halt at most one is in flight, whatever the machine's speed.
    const suite = await simulatorSuite(sim, { ...SHAPE, providerExtra: '    limits: { maxConcurrency: 1 }' });
    const job = await createJob(lmdb, suite, 'generated.yaml');
    failing.failWritesAfter(10);

    const first = await Engine.start({ store: failing, log: silentLogger(), clock: systemClock, env });
    const outcome = await first.runJob(job);
    expect(outcome.state).toBe('halted');
    // Work stops while the engine still runs: after the halt no new request leaves; the one
    // admitted in the instant the halt was decided may still arrive. The window is another job
    // run to its end on the same engine (12 requests of 20 ms one after the other, the store
    // healed): left running, the halted job would send about as many meanwhile.
    const sentAtHalt = sim.records.length;
    failing.heal();
    await runSentinelJob(first, lmdb);
    expect(sim.records.length - sentAtHalt).toBeLessThanOrEqual(1);
    await first.close();
    const afterHalt = lmdb.turnsOf(job.id);
    expect(afterHalt.length).toBeGreaterThan(0);
    expect(afterHalt.length).toBeLessThan(TOTAL_TURNS);
    const requestsAtHalt = sim.records.length;

    const second = await Engine.start({ store: lmdb, log: silentLogger(), clock: systemClock, env });
    expect((await second.runJob(job)).state).toBe('done');
    await second.close();
    const turns = lmdb.turnsOf(job.id);
    // Answers whose write failed were in flight: they may be asked again, nothing else.
    const unrecorded = requestsAtHalt - afterHalt.length;
    expectContractHolds(suite, turns, sim.records, unrecorded);
    for (const stored of afterHalt) {
      expect(
        turns.find(
          (t) =>
            t.run === stored.run &&
            t.turn === stored.turn &&
            t.model === stored.model &&
            t.sequence === stored.sequence,
        ),
      ).toEqual(stored);
    }
    await lmdb.close();
  });

  it('a sequence actor that throws is reset from the store and the job completes with every turn once', async () => {
    const lmdb = await openLmdbStore(dir.path);
    const store = new ThrowingStore(lmdb, 3);
    const suite = await simulatorSuite(sim, SHAPE);
    const job = await createJob(lmdb, suite, 'generated.yaml');
    const engine = await Engine.start({ store, log: silentLogger(), clock: systemClock, env });
    expect((await engine.runJob(job)).state).toBe('done');
    await engine.close();
    // Each crash loses what its incarnation had in flight (at most one request per run),
    // and those turns are asked again; nothing else is.
    expectContractHolds(suite, lmdb.turnsOf(job.id), sim.records, 3 * SHAPE.runs);
    await lmdb.close();
  });

  it('a sequence actor that keeps throwing is stopped and the job halts, without taking down the others', async () => {
    const lmdb = await openLmdbStore(dir.path);
    const store = new ThrowingStore(lmdb, Number.MAX_SAFE_INTEGER);
    const suite = await simulatorSuite(sim, { ...SHAPE, models: 1, sequences: 1 });
    const job = await createJob(lmdb, suite, 'generated.yaml');
    const engine = await Engine.start({ store, log: silentLogger(), clock: systemClock, env });
    const outcome = await engine.runJob(job);
    await engine.close();
    expect(outcome.state).toBe('halted');
    expect(outcome.state === 'halted' && outcome.error.message).toMatch(/crashed \d+ times/);
    await lmdb.close();
  });
});
