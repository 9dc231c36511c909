/**
 * A window measured in an engine's own work instead of in time: another job run to its end on
 * the same engine. A job that should send nothing more is watched while this one runs; on a
 * loaded machine the window grows with the work it holds, where a fixed sleep would shrink to
 * nothing.
 */
import { expect } from 'vitest';
import type { Engine } from '../../src/runtime/engine.js';
import { createJob } from '../../src/runtime/jobs.js';
import { startSimulator } from '../../src/simulator/server.js';
import type { CheckpointStore } from '../../src/store/records.js';
import { simulatorSuite } from './job.js';

/** Requests of the sentinel job, sent one after the other. */
export const SENTINEL_TURNS = 12;

/**
 * Runs a job of `SENTINEL_TURNS` turns in one conversation on `engine` (whose env holds the test
 * key) against a simulator of its own, so that it shares neither the watched job's provider
 * gate nor its request log, and checks that it ran to its end.
 */
export async function runSentinelJob(engine: Engine, store: CheckpointStore): Promise<void> {
  const sim = await startSimulator({ latencyMs: 20 });
  try {
    const shape = { models: 1, sequences: 1, prompts: SENTINEL_TURNS, runs: 1 };
    const job = await createJob(store, await simulatorSuite(sim, shape), 'sentinel.yaml');
    expect((await engine.runJob(job)).state).toBe('done');
    expect(sim.records).toHaveLength(SENTINEL_TURNS);
  } finally {
    await sim.close();
  }
}
