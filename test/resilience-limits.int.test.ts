/**
 * Contract 4 end to end: an Engine in this process drives a suite through the real SDKs
 * against the simulator's rate limits, and the simulator's record shows what left troupe.
 *
 * troupe's limiter thinks in real minutes; the simulator's minute is shrunk to keep the tests
 * fast, and its announced limits are per real minute, so both are scaled alike: a simulator
 * limit of 120 per 3 s minute is 2 400 per real minute, which the suite configures.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { hashMessages } from '../src/conversation/context.js';
import { estimateOutputTokens } from '../src/providers/token-estimate.js';
import { estimateInputTokens } from '../src/resilience/token-estimate.js';
import { BURST_WINDOW_MS, RATE_WINDOW_MS } from '../src/resilience/defaults.js';
import { startSimulator } from '../src/simulator/server.js';
import type { RecordedRequest, Simulator } from '../src/simulator/server.js';
import { expectContractHolds } from './helpers/contract.js';
import { providersSuite, simulatorSuite } from './helpers/job.js';
import {
  maxConcurrentInRecord,
  maxInWindow,
  sameRequest,
  startHarness,
  type Harness,
} from './resilience/engine-harness.js';

/** The simulator's shrunken minute, in ms. */
const SIM_MINUTE_MS = 3_000;
/** Real minutes per simulator minute. */
const SCALE = RATE_WINDOW_MS / SIM_MINUTE_MS;
/**
 * The simulator's burst, in its seconds (a sixtieth of its minute): one real second's worth, as
 * providers allow, twice the half second's worth troupe's own bucket lets out at once (the rest
 * is headroom for network jitter).
 */
const SIM_BURST_SECONDS = SCALE;
/**
 * How much a request's arrival at the simulator may lag behind its grant, in ms (actor hops, the
 * SDK, the loopback socket, and the event loop of a machine busy with other test files): arrivals
 * may bunch by that much more than grants. Tens of ms on a quiet machine; a few hundred seen with
 * five test files at once on two cores. The tight check is the simulator's own: no 429.
 */
const ARRIVAL_JITTER_MS = 500;

/**
 * The most units troupe may send in any window of `windowMs` under a per-minute `limit`: its
 * smoothing bucket's burst plus the refill over the window, and the arrival jitter.
 */
function allowedInWindow(limit: number, windowMs: number): number {
  const perMs = limit / RATE_WINDOW_MS;
  return (limit * BURST_WINDOW_MS) / RATE_WINDOW_MS + perMs * (windowMs + ARRIVAL_JITTER_MS);
}

/** Tokens the simulator counts for a request: its input estimate plus the answer's tokens. */
function tokensOf(record: RecordedRequest): number {
  return estimateInputTokens(record.messages) + estimateOutputTokens(record.response ?? '');
}

/** The most `tokensOf` the records arriving in one window of `windowMs` hold. */
function maxTokensInWindow(records: readonly RecordedRequest[], windowMs: number): number {
  const sorted = [...records].sort((a, b) => a.receivedAt - b.receivedAt);
  let most = 0;
  let sum = 0;
  let start = 0;
  for (const record of sorted) {
    sum += tokensOf(record);
    while (record.receivedAt - sorted[start]!.receivedAt >= windowMs) sum -= tokensOf(sorted[start++]!);
    most = Math.max(most, sum);
  }
  return most;
}

describe('rate limits against the simulator, through the real SDKs', () => {
  let sim: Simulator | undefined;
  let harness: Harness;

  beforeEach(async () => {
    harness = await startHarness();
  });
  afterEach(async () => {
    await harness.close();
    await sim?.close();
    sim = undefined;
  });

  it('with the suite at the provider RPM: no 429, and no window holds more than the limit allows', async () => {
    const simRpm = 120;
    const rpm = simRpm * SCALE;
    sim = await startSimulator({
      latencyMs: 20,
      rateLimit: { requestsPerMinute: simRpm, minuteMs: SIM_MINUTE_MS, burstSeconds: SIM_BURST_SECONDS },
    });
    // 60 conversations, 240 requests: about two simulator minutes at the limit.
    const suite = await simulatorSuite(sim, {
      models: 2,
      sequences: 5,
      prompts: 4,
      runs: 6,
      providerExtra: `    limits: { requestsPerMinute: ${rpm} }`,
    });
    const job = await harness.createJob(suite);
    expect(await harness.engine.runJob(job)).toEqual({ state: 'done' });

    const records = sim.records;
    expectContractHolds(suite, harness.store.turnsOf(job.id), records);
    expect(records.filter((r) => r.status === 429)).toEqual([]);
    const arrivals = records.map((r) => r.receivedAt);
    // A simulator minute, and a second (the rate, not only the average, holds).
    expect(maxInWindow(arrivals, SIM_MINUTE_MS)).toBeLessThanOrEqual(allowedInWindow(rpm, SIM_MINUTE_MS));
    expect(maxInWindow(arrivals, 1_000)).toBeLessThanOrEqual(allowedInWindow(rpm, 1_000));
    // The job was long enough for the limit to bind over more than one simulator minute.
    expect(Math.max(...arrivals) - Math.min(...arrivals)).toBeGreaterThan(SIM_MINUTE_MS);
  });

  it('with the suite at the provider TPM (Anthropic): no 429, and no window holds more tokens than allowed', async () => {
    const simTpm = 6_000;
    const tpm = simTpm * SCALE;
    sim = await startSimulator({
      latencyMs: 20,
      rateLimit: { tokensPerMinute: simTpm, minuteMs: SIM_MINUTE_MS, burstSeconds: SIM_BURST_SECONDS },
    });
    const suite = await providersSuite(
      [{ id: 'ant', type: 'anthropic', sim, models: 2, extra: `    limits: { tokensPerMinute: ${tpm} }\n` }],
      { sequences: 4, prompts: 4, runs: 5 },
    );
    const job = await harness.createJob(suite);
    expect(await harness.engine.runJob(job)).toEqual({ state: 'done' });

    const records = sim.records;
    expectContractHolds(suite, harness.store.turnsOf(job.id), records);
    expect(records.filter((r) => r.status === 429)).toEqual([]);
    expect(maxTokensInWindow(records, SIM_MINUTE_MS)).toBeLessThanOrEqual(
      allowedInWindow(tpm, SIM_MINUTE_MS),
    );
    const total = records.reduce((sum, r) => sum + tokensOf(r), 0);
    // More tokens than one simulator minute allows: the token limit bound the job.
    expect(total).toBeGreaterThan(simTpm);
  });

  it('without limits in the suite: few 429s, and each is followed by a wait of at least its retry-after', async () => {
    const simRpm = 120;
    // The simulator's burst is 2 requests: troupe, knowing nothing at first, will overshoot it.
    sim = await startSimulator({
      latencyMs: 20,
      rateLimit: { requestsPerMinute: simRpm, minuteMs: SIM_MINUTE_MS },
    });
    // One run of many sequences: no two conversations send the same messages, so a request
    // asked again is known by its messages.
    const suite = await simulatorSuite(sim, { models: 2, sequences: 30, prompts: 4, runs: 1 });
    const job = await harness.createJob(suite);
    expect(await harness.engine.runJob(job)).toEqual({ state: 'done' });

    const records = sim.records;
    const turns = harness.store.turnsOf(job.id);
    expectContractHolds(suite, turns, records);
    const refused = records.filter((r) => r.status === 429);
    // troupe learns the limit from the headers and backs off: refusals stay a fraction of the
    // turns (about a tenth on a quiet machine; a retry loop would make them a multiple).
    expect(refused.length).toBeLessThanOrEqual(turns.length * 0.5);
    for (const r of refused) {
      expect(r.retryAfterMs, `429 #${r.id} carries a retry-after`).toBeGreaterThan(0);
      const again = records.find((next) => next.id > r.id && sameRequest(next, r));
      expect(again, `429 #${r.id} was asked again`).toBeDefined();
      expect(again!.receivedAt, `429 #${r.id} asked again too soon`).toBeGreaterThanOrEqual(
        r.finishedAt + r.retryAfterMs!,
      );
    }
    // Every request is an attempt of a turn, recorded: nothing reached the provider uncounted.
    expect(turns.reduce((n, t) => n + t.attempts, 0)).toBe(records.length);
    const modelName = new Map(suite.models.map((m) => [m.id, m.model]));
    const refusedTurns = new Set(refused.map((r) => `${r.model} ${hashMessages(r.messages)}`));
    const hit = turns.filter((t) => refusedTurns.has(`${modelName.get(t.model)} ${t.requestHash}`));
    expect(hit).toHaveLength(refusedTurns.size);
    for (const turn of hit) expect(turn.attempts).toBeGreaterThan(1);
  });

  it('with maxConcurrency N: never more than N in flight, retries included; every attempt recorded', async () => {
    const maxConcurrency = 5;
    sim = await startSimulator({
      latencyMs: 30,
      latencyJitterMs: 20,
      faults: [
        { fault: { kind: 'status', status: 503 }, times: 3 },
        { fault: { kind: 'status', status: 429, retryAfterSeconds: 0.05 }, times: 3 },
        { fault: { kind: 'reset' }, times: 2 },
      ],
    });
    const suite = await simulatorSuite(sim, {
      models: 2,
      sequences: 3,
      prompts: 3,
      runs: 4,
      providerExtra: [
        `    limits: { maxConcurrency: ${maxConcurrency} }`,
        '    retry: { baseDelayMs: 10, maxDelayMs: 50 }',
        '    breaker: { coolDownMs: 100, maxCoolDownMs: 200 }',
      ].join('\n'),
    });
    const job = await harness.createJob(suite);
    expect(await harness.engine.runJob(job)).toEqual({ state: 'done' });

    const records = sim.records;
    const turns = harness.store.turnsOf(job.id);
    expectContractHolds(suite, turns, records);
    expect(sim.maxInFlight).toBeLessThanOrEqual(maxConcurrency);
    expect(maxConcurrentInRecord(records)).toBeLessThanOrEqual(maxConcurrency);
    // The cap was reached: it, not the demand, held the concurrency.
    expect(sim.maxInFlight).toBe(maxConcurrency);
    expect(records.filter((r) => r.status !== 200)).toHaveLength(8);
    expect(turns.reduce((n, t) => n + t.attempts, 0)).toBe(records.length);
    expect(turns.filter((t) => t.attempts > 1).length).toBeGreaterThan(0);
  });

  it('without maxConcurrency, a healthy provider is not throttled: concurrency reaches the demand in a few round trips', async () => {
    sim = await startSimulator({ latencyMs: 400 });
    // 400 conversations of 2 turns: adaptive concurrency starts at 8.
    const suite = await simulatorSuite(sim, { models: 2, sequences: 10, prompts: 2, runs: 20 });
    const job = await harness.createJob(suite);
    expect(await harness.engine.runJob(job)).toEqual({ state: 'done' });
    expectContractHolds(suite, harness.store.turnsOf(job.id), sim.records);
    // Growing by one per window from 8, 800 requests would not take it past about 40; slow
    // start reaches the 256 cap on a quiet machine (a busy one runs out of CPU before).
    expect(sim.maxInFlight).toBeGreaterThanOrEqual(100);
  });
});
