import { afterEach, describe, expect, it } from 'vitest';
import { startSimulator } from '../src/simulator/server.js';
import type { Simulator } from '../src/simulator/server.js';
import { simulatorSuite } from './helpers/job.js';
import { maxInWindow, maxConcurrentInRecord, startHarness, type Harness } from './resilience/engine-harness.js';

describe('explore', () => {
  let sim: Simulator; let h: Harness;
  afterEach(async () => { await h?.close(); await sim?.close(); });
  it('rpm', async () => {
    const minuteMs = 3000;
    sim = await startSimulator({ latencyMs: 20, rateLimit: { requestsPerMinute: 120, minuteMs, burstSeconds: 60000 / minuteMs } });
    h = await startHarness();
    const suite = await simulatorSuite(sim, { models: 2, sequences: 5, prompts: 4, runs: 6, providerExtra: '    limits: { requestsPerMinute: 2400 }' });
    const job = await h.createJob(suite);
    const t0 = Date.now();
    const outcome = await h.engine.runJob(job);
    const took = Date.now() - t0;
    const recs = sim.records;
    console.log({ outcome, took, n: recs.length, s429: recs.filter(r => r.status === 429).length, w3: maxInWindow(recs.map(r => r.receivedAt), 3000), w1: maxInWindow(recs.map(r => r.receivedAt), 1000), conc: maxConcurrentInRecord(recs), maxIn: sim.maxInFlight });
    console.log(h.logs.map(l => l.msg + ' ' + JSON.stringify(l)).slice(0, 20));
    expect(outcome.state).toBe('done');
  });
});
