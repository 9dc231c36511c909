import { afterEach, beforeEach, describe, expect, it, onTestFailed } from 'vitest';
import { silentLogger } from '../src/log/logger.js';
import { systemClock } from '../src/resilience/clock.js';
import { Engine } from '../src/runtime/engine.js';
import type { EngineOptions } from '../src/runtime/engine.js';
import { createJob } from '../src/runtime/jobs.js';
import { startSimulator } from '../src/simulator/server.js';
import type { Simulator } from '../src/simulator/server.js';
import { expectContractHolds, expectExactlyOnceAcrossCrashes } from './helpers/contract.js';
import type { Crash } from './helpers/contract.js';
import { simulatorSuite, TEST_KEY, TEST_KEY_ENV } from './helpers/job.js';
import { testRandom } from './helpers/seed.js';
import { useTempStore } from './helpers/temp.js';

/** How long one leg of the job may take to reach its stop point, or to finish, in ms. */
const LEG_WAIT_MS = 60_000;
/** Grace of each drain, in ms: generous, so that a drain on a loaded machine always completes. */
const DRAIN_GRACE_MS = 30_000;
/** Drains (graceful stops) per job before the leg that finishes it. */
const STOPS = 4;

/**
 * A graceful stop (drain, then stop) at seeded points of a job, then a resume, several times:
 * every turn recorded exactly once and none asked twice (a drain leaves nothing in flight), context
 * exact. The stop points are drawn from the seed; each leg stops after a few more requests
 * reached the provider, so they fall while slices start, run, finish and move the model's progress
 * mark, with the workers booting or ready.
 */
describe('drain and resume at seeded points: every turn exactly once', () => {
  const temp = useTempStore();
  let sim: Simulator;
  beforeEach(async () => {
    // Latencies spread over 5–45 ms: turns of one slice end out of order, slices finish out of order.
    sim = await startSimulator({ latencyMs: 5, latencyJitterMs: 40, seed: 7 });
  });
  afterEach(async () => {
    await sim.close();
  });

  async function drainsThenFinishes(engineOptions: Partial<EngineOptions>): Promise<void> {
    const random = testRandom();
    onTestFailed(() => console.error(`stop points drawn with TROUPE_TEST_SEED=${random.seed}`));
    // 2 models × 12 sequences × 3 prompts × 2 runs = 144 turns; a window of 6 conversations a model.
    const suite = await simulatorSuite(sim, {
      models: 2,
      sequences: 12,
      prompts: 3,
      runs: 2,
      providerExtra: '    limits: { maxConcurrency: 6 }',
    });
    const job = await createJob(temp.store, suite, 'drain-resume.yaml');
    const start = (): Promise<Engine> =>
      Engine.start({
        store: temp.store,
        log: silentLogger(),
        clock: systemClock,
        env: { [TEST_KEY_ENV]: TEST_KEY },
        dataDir: temp.dataDir,
        ...engineOptions,
      });
    const crashes: Crash[] = [];
    for (let stop = 0; stop < STOPS; stop += 1) {
      const engine = await start();
      const outcome = engine.runJob(job);
      // The next stop: 1 to 24 requests after this leg's start.
      const threshold = sim.records.length + 1 + Math.floor(random.next() * 24);
      await expect
        .poll(() => sim.records.length >= threshold, {
          timeout: LEG_WAIT_MS,
          interval: 1,
          message: `${threshold} requests (TROUPE_TEST_SEED=${random.seed})`,
        })
        .toBe(true);
      expect(await engine.drain(DRAIN_GRACE_MS), `drained (TROUPE_TEST_SEED=${random.seed})`).toBe(true);
      engine.stopWork();
      const ended = await outcome;
      await engine.close();
      crashes.push({ at: Date.now(), committed: temp.store.turnsOf(job.id) });
      // Finished before its stop point could come (the last turns were in flight): nothing left.
      if (ended.state === 'done') break;
      expect(ended.state, `leg ${stop + 1} (TROUPE_TEST_SEED=${random.seed})`).toBe('interrupted');
    }
    const last = await start();
    try {
      expect(await last.runJob({ ...job, state: 'running' })).toEqual({ state: 'done' });
    } finally {
      await last.close();
    }
    const turns = temp.store.turnsOf(job.id);
    // A drain leaves nothing in flight: no request is ever sent twice.
    expectContractHolds(suite, turns, sim.records, 0);
    expectExactlyOnceAcrossCrashes(suite, crashes, turns, sim.records);
  }

  it('in this process (no workers)', async () => {
    await drainsThenFinishes({ workers: 0 });
  }, 240_000);

  it('with two worker processes, stopped while they boot and after', async () => {
    await drainsThenFinishes({ workers: 2 });
  }, 240_000);
});
