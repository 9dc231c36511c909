/**
 * Provider failures end to end: an Engine in this process drives suites through the real SDKs
 * against simulators that fail on purpose, and the simulators' records and troupe's log show
 * what the breaker, the retries and the limiter did.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { hashMessages } from '../src/conversation/context.js';
import { INITIAL_ADAPTIVE_CONCURRENCY } from '../src/resilience/defaults.js';
import { startSimulator } from '../src/simulator/server.js';
import type { RecordedRequest, Simulator } from '../src/simulator/server.js';
import type { TurnRecord } from '../src/store/records.js';
import type { Suite } from '../src/suite/types.js';
import { expectContractHolds } from './helpers/contract.js';
import { runSentinelJob } from './helpers/sentinel-job.js';
import { TEST_KEY, providersSuite, simulatorSuite } from './helpers/job.js';
import { LOG_LEVEL, sameRequest, startHarness, type Harness } from './resilience/engine-harness.js';

/** Longest a test waits for the job to reach a state it must reach, in ms. */
const STATE_TIMEOUT_MS = 20_000;
/**
 * How long a request may take from leaving troupe to arriving at the simulator, in ms, on a
 * machine busy with other test files: one let through just before the breaker opened may arrive
 * just after. Well below the cool-downs, so that most of every open stretch is checked.
 */
const WIRE_MS = 400;

/** The turns of a job that did not end `ok`. */
const notOk = (turns: readonly TurnRecord[]) => turns.filter((t) => t.status !== 'ok');

/**
 * The turns that sent `record`'s request. Usually one; but the runs of a sequence send the same
 * first request, so a request alone does not say which run it was.
 */
function turnsSending(suite: Suite, turns: readonly TurnRecord[], record: RecordedRequest): TurnRecord[] {
  const hash = hashMessages(record.messages);
  return turns.filter(
    (t) => t.requestHash === hash && suite.models.find((m) => m.id === t.model)?.model === record.model,
  );
}

describe('provider failures against the simulator, through the real SDKs', () => {
  const sims: Simulator[] = [];
  let harness: Harness;
  const start = async (...args: Parameters<typeof startSimulator>) => {
    const sim = await startSimulator(...args);
    sims.push(sim);
    return sim;
  };

  beforeEach(async () => {
    harness = await startHarness();
  });
  afterEach(async () => {
    await harness.close();
    await Promise.all(sims.splice(0).map((sim) => sim.close()));
  });

  it("a provider's outage opens its breaker: its conversations wait, another provider's finish, then all finish", async () => {
    const maxAttempts = 4;
    const probesToClose = 2;
    const a = await start({ latencyMs: 20, faults: [{ fault: { kind: 'status', status: 503 } }] });
    const b = await start({ latencyMs: 20 });
    const extra = [
      `    retry: { maxAttempts: ${maxAttempts}, baseDelayMs: 10, maxDelayMs: 40 }`,
      `    breaker: { coolDownMs: 1000, maxCoolDownMs: 2000, probesToClose: ${probesToClose} }`,
      '',
    ].join('\n');
    const suite = await providersSuite(
      [
        { id: 'a', type: 'openai', sim: a, models: 1, extra },
        { id: 'b', type: 'anthropic', sim: b, models: 1, extra },
      ],
      { sequences: 4, prompts: 3, runs: 5 },
    );
    const perModel = 4 * 3 * 5;
    const job = await harness.createJob(suite);
    const done = harness.engine.runJob(job);
    const turnsOfModel = (model: string) => harness.store.turnsOf(job.id).filter((t) => t.model === model);
    const breakerLog = (provider: string) =>
      harness.logs.filter((l) => l.provider === provider && l.msg.startsWith('circuit '));

    // B finishes while A is down, and A's breaker has opened again after a failed probe.
    await expect
      .poll(
        () =>
          turnsOfModel('b-m1').length === perModel &&
          breakerLog('a').some((l) => l.msg === 'circuit open' && l.reason === 'probe-failed'),
        { timeout: STATE_TIMEOUT_MS, message: "B's turns and a failed probe of A" },
      )
      .toBe(true);
    // A's conversations waited: none of its turns ended, not even as failed.
    expect(turnsOfModel('a-m1')).toEqual([]);
    a.configure({ faults: [] });
    expect(await done).toEqual({ state: 'done' });

    const turns = harness.store.turnsOf(job.id);
    expectContractHolds(suite, turns, [...a.records, ...b.records]);
    for (const turn of turns) expect(turn.attempts).toBeLessThanOrEqual(maxAttempts);
    expect(breakerLog('b')).toEqual([]);

    // From the first opening to the closing, A saw only probes: none while open, and at most
    // `probesToClose`, one after the other, in each half-open stretch.
    const transitions = breakerLog('a').map((l) => ({ state: l.msg.slice('circuit '.length), at: l.time }));
    expect(transitions.map((t) => t.state).at(-1)).toBe('closed');
    const firstOpen = transitions.findIndex((t) => t.state === 'open');
    expect(firstOpen).toBeGreaterThanOrEqual(0);
    for (let i = firstOpen; i < transitions.length - 1; i += 1) {
      const { state, at } = transitions[i]!;
      const until = transitions[i + 1]!.at;
      const arrived = a.records.filter((r) => r.receivedAt > at && r.receivedAt < until);
      if (state === 'open') {
        expect(
          arrived.filter((r) => r.receivedAt > at + WIRE_MS),
          `A received requests while its breaker was open (${at}–${until})`,
        ).toEqual([]);
      } else {
        expect(state).toBe('half-open');
        expect(arrived.length).toBeLessThanOrEqual(probesToClose);
        for (let k = 1; k < arrived.length; k += 1) {
          expect(arrived[k]!.receivedAt).toBeGreaterThanOrEqual(arrived[k - 1]!.finishedAt);
        }
      }
    }
  });

  it('a 400 fails its turn at once with the provider message; the rest of its run is skipped, the others finish', async () => {
    const sim = await start({
      latencyMs: 10,
      faults: [{ fault: { kind: 'status', status: 400 }, model: 'model-2', times: 1 }],
    });
    const suite = await simulatorSuite(sim, { models: 2, sequences: 3, prompts: 3, runs: 2 });
    const job = await harness.createJob(suite);
    expect(await harness.engine.runJob(job)).toEqual({ state: 'done' });

    const turns = harness.store.turnsOf(job.id);
    expect(turns).toHaveLength(2 * 3 * 3 * 2);
    const failed = turns.filter((t) => t.status === 'failed');
    expect(failed).toHaveLength(1);
    const [turn] = failed;
    // The first request of model-2 is the first turn of one of its conversations.
    expect(turn).toMatchObject({ model: 'm2', turn: 1, attempts: 1, response: null });
    expect(turn!.error?.code).toBe('troupe:client-error');
    expect(turn!.error?.message).toContain('400');
    expect(turn!.error?.message).not.toContain(TEST_KEY);
    const sameRun = (t: TurnRecord) =>
      t.model === turn!.model && t.sequence === turn!.sequence && t.run === turn!.run;
    const skipped = turns.filter((t) => t.status === 'skipped');
    expect(skipped.map((t) => t.turn).sort()).toEqual([2, 3]);
    for (const t of skipped) {
      expect(sameRun(t)).toBe(true);
      expect(t).toMatchObject({ attempts: 0, error: { code: 'troupe:skipped' } });
    }
    expect(turns.filter((t) => t.status === 'ok')).toHaveLength(turns.length - 3);
    // Not retried: one request for the failed turn, none for the skipped ones.
    const refused = sim.records.filter((r) => r.status === 400);
    expect(refused).toHaveLength(1);
    // Runs of a sequence send the same first turn: one request each, the refused one included.
    const sameFirstTurn = turns.filter(
      (t) => t.model === turn!.model && t.sequence === turn!.sequence && t.turn === 1,
    );
    expect(sim.records.filter((r) => sameRequest(r, refused[0]!))).toHaveLength(sameFirstTurn.length);
    expect(sim.records).toHaveLength(turns.length - 3 + 1);
  });

  it('a 401 stops the provider at once: one message, few requests, every conversation fails its first turn unsent', async () => {
    const sim = await start({ latencyMs: 10, apiKey: 'another-key' });
    const suite = await simulatorSuite(sim, { models: 2, sequences: 10, prompts: 3, runs: 10 });
    const job = await harness.createJob(suite);
    expect(await harness.engine.runJob(job)).toEqual({ state: 'done' });

    const turns = harness.store.turnsOf(job.id);
    expect(turns).toHaveLength(2 * 10 * 3 * 10);
    const failed = turns.filter((t) => t.status === 'failed');
    expect(failed).toHaveLength(200);
    for (const turn of failed) {
      expect(turn).toMatchObject({ turn: 1, response: null, error: { code: 'troupe:unauthorized' } });
      expect(turn.error?.message).toContain('401');
      expect(turn.error?.message).not.toContain(TEST_KEY);
    }
    expect(turns.filter((t) => t.status === 'skipped')).toHaveLength(400);
    // Only the requests that left before the first refusal came back reach the provider.
    expect(sim.records.length).toBeLessThanOrEqual(INITIAL_ADAPTIVE_CONCURRENCY);
    expect(failed.filter((t) => t.attempts === 0).length).toBeGreaterThanOrEqual(200 - sim.records.length);
    const refusals = harness.logs.filter((l) => l.msg.includes('refused the credentials'));
    expect(refusals).toHaveLength(1);
    expect(refusals[0]!.level).toBe(LOG_LEVEL.error);
  });

  it('garbage, truncated and empty answers are retried; every turn ends ok, the hit ones after more than one attempt', async () => {
    const sim = await start({
      latencyMs: 10,
      faults: [
        { fault: { kind: 'malformed' }, times: 2 },
        { fault: { kind: 'truncated' }, times: 2 },
        { fault: { kind: 'empty' }, times: 1 },
      ],
    });
    const suite = await simulatorSuite(sim, {
      models: 1,
      sequences: 3,
      prompts: 3,
      runs: 3,
      // Five bad answers in a row would open the breaker for its default 5 s.
      providerExtra: [
        '    retry: { baseDelayMs: 10, maxDelayMs: 50 }',
        '    breaker: { coolDownMs: 100, maxCoolDownMs: 200 }',
      ].join('\n'),
    });
    const job = await harness.createJob(suite);
    expect(await harness.engine.runJob(job)).toEqual({ state: 'done' });

    const turns = harness.store.turnsOf(job.id);
    const records = sim.records;
    const isBad = (r: RecordedRequest) => r.status === 200 && r.response === null;
    const bad = records.filter(isBad);
    expect(bad).toHaveLength(5);
    expectContractHolds(
      suite,
      turns,
      records.filter((r) => !isBad(r)),
    );
    // Every request that got bad answers was sent again at least as often by the turns sending it.
    const badPerRequest = new Map<string, RecordedRequest[]>();
    for (const record of bad) {
      const key = `${record.model}/${hashMessages(record.messages)}`;
      badPerRequest.set(key, [...(badPerRequest.get(key) ?? []), record]);
    }
    for (const [request, answers] of badPerRequest) {
      const sending = turnsSending(suite, turns, answers[0]!);
      expect(sending.length, `the turns of request ${request}`).toBeGreaterThan(0);
      const retries = sending.reduce((n, t) => n + t.attempts - 1, 0);
      expect(retries, `retries of request ${request}`).toBeGreaterThanOrEqual(answers.length);
    }
    expect(turns.reduce((n, t) => n + t.attempts, 0)).toBe(records.length);
  });

  it('an exhausted quota pauses the provider without hammering it; once it is back the job completes, no turn burned', async () => {
    const retryAfterSeconds = 0.3;
    const sim = await start({
      latencyMs: 10,
      faults: [{ fault: { kind: 'quota', retryAfterSeconds } }],
    });
    const suite = await simulatorSuite(sim, {
      models: 1,
      sequences: 3,
      prompts: 3,
      runs: 3,
      providerExtra: '    retry: { maxAttempts: 2, baseDelayMs: 10, maxDelayMs: 50 }',
    });
    const job = await harness.createJob(suite);
    const done = harness.engine.runJob(job);
    const quotaLog = () =>
      harness.logs.filter((l) => l.level === LOG_LEVEL.error && l.msg.includes('quota exhausted'));
    // The first burst (the initial concurrency window), then three probes that found the quota spent.
    await expect
      .poll(() => sim.records.filter((r) => r.status === 429).length >= INITIAL_ADAPTIVE_CONCURRENCY + 3, {
        timeout: STATE_TIMEOUT_MS,
        message: 'three probes',
      })
      .toBe(true);
    const duringQuota = sim.records;
    sim.configure({ faults: [] });
    expect(await done).toEqual({ state: 'done' });

    expect(quotaLog().length).toBeGreaterThan(0);
    expect(quotaLog()[0]).toMatchObject({ provider: 'sim', reason: 'quota' });
    // The first window went out before any answer; after it, one request per pause, each no
    // sooner than the retry-after of the answers before it.
    const arrived = [...duringQuota].sort((x, y) => x.receivedAt - y.receivedAt);
    const probes = arrived.slice(INITIAL_ADAPTIVE_CONCURRENCY);
    expect(probes.length).toBeGreaterThanOrEqual(3);
    for (const [k, probe] of probes.entries()) {
      const before = arrived.slice(0, INITIAL_ADAPTIVE_CONCURRENCY + k);
      const lastAnswer = Math.max(...before.map((r) => r.finishedAt));
      expect(probe.receivedAt).toBeGreaterThanOrEqual(lastAnswer + retryAfterSeconds * 1_000);
    }
    // No turn burned: every turn ended ok, though maxAttempts is 2 and some were refused more often.
    const turns = harness.store.turnsOf(job.id);
    expectContractHolds(suite, turns, sim.records);
    expect(Math.max(...turns.map((t) => t.attempts))).toBeGreaterThan(2);
  });

  it('an exhausted quota without retry-after pauses the provider until the job is cancelled; nothing is failed', async () => {
    const sim = await start({ latencyMs: 10, faults: [{ fault: { kind: 'quota' } }] });
    const suite = await simulatorSuite(sim, { models: 1, sequences: 3, prompts: 3, runs: 3 });
    const job = await harness.createJob(suite);
    const done = harness.engine.runJob(job);
    await expect
      .poll(
        () => harness.logs.some((l) => l.level === LOG_LEVEL.error && l.msg.includes('quota exhausted')),
        { timeout: STATE_TIMEOUT_MS, message: 'the quota log' },
      )
      .toBe(true);
    const pause = harness.logs.find((l) => l.msg.includes('quota exhausted'))!;
    expect(pause).toMatchObject({ provider: 'sim', reason: 'quota' });
    expect(pause.until as number).toBeGreaterThan(pause.time);
    // The first window went out before any answer came back; after it, nothing while another
    // job runs to its end on the same engine (the pause is a minute). A retry loop would have
    // sent a request every 10 ms meanwhile.
    await runSentinelJob(harness.engine, harness.store);
    expect(sim.records.length).toBeLessThanOrEqual(INITIAL_ADAPTIVE_CONCURRENCY);
    expect(sim.records.every((r) => r.status === 429 || r.status === 0)).toBe(true);
    harness.engine.cancelJob(job.id);
    expect(await done).toEqual({ state: 'cancelled' });
    expect(notOk(harness.store.turnsOf(job.id))).toEqual([]);
  });
});
