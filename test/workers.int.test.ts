import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { silentLogger } from '../src/log/logger.js';
import { systemClock } from '../src/resilience/clock.js';
import { Engine } from '../src/runtime/engine.js';
import type { EngineOptions } from '../src/runtime/engine.js';
import { createJob } from '../src/runtime/jobs.js';
import { startSimulator } from '../src/simulator/server.js';
import type { Simulator } from '../src/simulator/server.js';
import { expectContractHolds, expectNoCommittedTurnRepeated } from './helpers/contract.js';
import { TEST_KEY, TEST_KEY_ENV, simulatorSuite } from './helpers/job.js';
import { tempDir, useTempStore } from './helpers/temp.js';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { openJobSuite } from '../src/runtime/job-suite.js';
import { loadSuite } from '../src/suite/load.js';
import { DealerTransport } from '../src/transport/dealer.js';
import { PrivateSocketDir } from '../src/transport/private-socket-dir.js';
import { isToWorker } from '../src/transport/protocol.js';
import type { FromWorker, ToWorker } from '../src/transport/protocol.js';

const env = { ...process.env, [TEST_KEY_ENV]: TEST_KEY };
/** Short heartbeats so a hung worker is found quickly; only where a test hangs one on purpose. */
const HUNG_WORKER_HEARTBEAT_MS = 200;
/**
 * The first boot waits for both workers however slow the machine (a loaded one can take more than
 * the default 2 s to start a worker): the even shares the tests check need both ready.
 */
const FIRST_BOOT_WAIT_MS = 120_000;
/** Latency of the first answers while the workers boot, in ms: far longer than a worker takes to boot. */
const HELD_UNTIL_BOOTED_MS = 10_000;

describe('sequence actors in worker processes (real cluster workers, real ZeroMQ)', () => {
  let sim: Simulator;
  const temp = useTempStore();
  let engine: Engine | undefined;

  beforeEach(async () => {
    sim = await startSimulator({ latencyMs: 50 });
  });
  afterEach(async () => {
    await engine?.close();
    engine = undefined;
    await sim.close();
  });

  /**
   * An engine with two workers, once they have booted (as for a job submitted to a running
   * daemon): every sequence runs on a worker. With `whileBooting`, at once. Heartbeats at the
   * default interval unless `heartbeatIntervalMs` is given; every job on the workers unless
   * `inProcessJobMaxConversations` is given.
   */
  const start = async (
    whileBooting = false,
    more: Pick<EngineOptions, 'heartbeatIntervalMs' | 'inProcessJobMaxConversations'> = {},
  ): Promise<Engine> => {
    engine = await Engine.start({
      store: temp.store,
      log: silentLogger(),
      clock: systemClock,
      env,
      workers: 2,
      dataDir: temp.dataDir,
      ...more,
      firstBootWaitMs: FIRST_BOOT_WAIT_MS,
      providerTypes: ['openai'],
    });
    if (!whileBooting) await engine.pool?.firstBoot;
    return engine;
  };

  it('a job started while the workers boot runs each model’s first 16 conversations here, the rest on the workers', async () => {
    // 2 models × 20 sequences × 1 run: 16 of each model here, 4 on the workers.
    const suite = await simulatorSuite(sim, { models: 2, sequences: 20, prompts: 3, runs: 1 });
    const job = await createJob(temp.store, suite, 'generated.yaml');
    // The conversations started here hold their first answer until the workers are up: one that
    // ended while they boot would give its place here to the next (see placementWhileWorkersBoot).
    sim.configure({ latencyMs: HELD_UNTIL_BOOTED_MS });
    const running = await start(true);
    expect(running.pool?.isBooting).toBe(true);
    const outcome = running.runJob(job);
    await running.pool?.firstBoot;
    sim.configure({ latencyMs: 50 });
    expect((await outcome).state).toBe('done');
    // Counted over the whole job, not at one instant: on a busy machine the first sequences on the
    // workers (50 ms answers) may finish before the last are placed.
    expect(running.pool?.placementCounts().placed).toBe(8);
    expectContractHolds(suite, temp.store.turnsOf(job.id), sim.records);
  });

  it('keeps the contract with two workers: context exact and isolated, every turn once', async () => {
    const suite = await simulatorSuite(sim, { models: 3, sequences: 4, prompts: 3, runs: 3 });
    const job = await createJob(temp.store, suite, 'generated.yaml');
    const running = await start();
    const outcome = running.runJob(job);
    // The 12 sequences (3 models × 4) are shared evenly between the two workers.
    const placed = (): Record<string, number> => running.pool?.sequencesPerWorker() ?? {};
    await expect
      .poll(() => Object.values(placed()).reduce((a, b) => a + b, 0) === 12, {
        message: 'every sequence placed',
      })
      .toBe(true);
    expect(placed()).toEqual({ 'worker-1': 6, 'worker-2': 6 });
    expect((await outcome).state).toBe('done');
    expectContractHolds(suite, temp.store.turnsOf(job.id), sim.records);
    // A finished job's sequences leave the workers.
    expect(placed()).toEqual({ 'worker-1': 0, 'worker-2': 0 });
  });

  it('a job of many conversations under a small in-flight limit never holds more sequence actors than the limit allows', async () => {
    // 1 model × 60 sequences × 2 runs = 120 conversations; a window of 4 conversations is two
    // sequence actors of 2 runs each, live at once at most, whatever the job's size.
    const window = { models: 1, sequences: 60, prompts: 2, runs: 2 };
    const suite = await simulatorSuite(sim, {
      ...window,
      providerExtra: '    limits: { maxConcurrency: 4 }',
    });
    const job = await createJob(temp.store, suite, 'generated.yaml');
    const running = await start();
    expect((await running.runJob(job)).state).toBe('done');
    expect(running.pool?.placementCounts()).toEqual({ placed: 60, mostAtOnce: 2, now: 0 });
    expect(sim.maxInFlight).toBeLessThanOrEqual(4);
    expectContractHolds(suite, temp.store.turnsOf(job.id), sim.records);
  });

  it('a job within inProcessJobMaxConversations runs in this process; a bigger one on the workers', async () => {
    const small = await simulatorSuite(sim, { models: 2, sequences: 3, prompts: 2, runs: 2 });
    const big = await simulatorSuite(sim, { models: 2, sequences: 4, prompts: 2, runs: 2 });
    const running = await start(false, { inProcessJobMaxConversations: 12 });
    const smallJob = await createJob(temp.store, small, 'small.yaml');
    expect((await running.runJob(smallJob)).state).toBe('done');
    expect(running.pool?.placementCounts().placed).toBe(0);
    expectContractHolds(small, temp.store.turnsOf(smallJob.id), sim.records);
    sim.reset();
    const bigJob = await createJob(temp.store, big, 'big.yaml');
    expect((await running.runJob(bigJob)).state).toBe('done');
    // 2 models × 4 sequences, each one slice of its 2 runs.
    expect(running.pool?.placementCounts().placed).toBe(8);
    expectContractHolds(big, temp.store.turnsOf(bigJob.id), sim.records);
  });

  it('a worker killed with SIGKILL mid-job is replaced; the job completes, only in-flight requests repeat', async () => {
    sim.configure({ latencyMs: 100 });
    const suite = await simulatorSuite(sim, { models: 2, sequences: 6, prompts: 4, runs: 2 });
    const job = await createJob(temp.store, suite, 'generated.yaml');
    const running = await start();
    const outcome = running.runJob(job);
    await expect.poll(() => sim.records.length >= 32, { message: 'a third of the turns' }).toBe(true);
    const victim = running.pool?.pids()['worker-1'];
    expect(victim).toBeDefined();
    process.kill(victim ?? Number.NaN, 'SIGKILL');
    const committedAtKill = temp.store.turnsOf(job.id);
    expect((await outcome).state).toBe('done');
    expect(running.pool?.restarts).toBe(1);
    expect(running.pool?.pids()['worker-1']).not.toBe(victim);
    const turns = temp.store.turnsOf(job.id);
    expectNoCommittedTurnRepeated(suite, committedAtKill, turns, sim.records);
    expectContractHolds(suite, turns, sim.records, turns.length - committedAtKill.length);
  });

  it('a drain does not wait for sequences whose worker died, and their replacement never starts them', async () => {
    sim.configure({ latencyMs: 100 });
    const suite = await simulatorSuite(sim, { models: 1, sequences: 4, prompts: 4, runs: 2 });
    const job = await createJob(temp.store, suite, 'generated.yaml');
    const running = await start();
    void running.runJob(job);
    await expect.poll(() => sim.records.length >= 4, { message: 'some turns' }).toBe(true);
    // Both workers die: every sequence waits for a replacement (restarted after a back-off).
    const pids = Object.values(running.pool?.pids() ?? {});
    expect(pids).toHaveLength(2);
    for (const pid of pids) {
      expect(pid).toBeGreaterThan(0);
      process.kill(pid as number, 'SIGKILL');
    }
    await expect
      .poll(() => running.pool?.notReady().length === 2, { message: 'the sequences to wait for a worker' })
      .toBe(true);
    // Nothing is in flight any more: drained before the replacements are even up.
    expect(await running.drain(10_000)).toBe(true);
    expect(running.pool?.notReady()).toHaveLength(2);
    await expect
      .poll(() => running.pool?.notReady().length === 0, { message: 'the replacement workers' })
      .toBe(true);
    // A worker is sent the sequences it is to run in the same turn as it is marked ready, and
    // counted there: the replacements were handed none, so none can send a request.
    expect(running.pool?.sequencesPerWorker()).toEqual({ 'worker-1': 0, 'worker-2': 0 });
  });

  it('a message sent by a worker that was replaced is dropped: a late gate-admit takes no permit', async () => {
    sim.configure({ latencyMs: 100 });
    // One request at a time: a permit taken and never settled would stall the job.
    const suite = await simulatorSuite(sim, {
      models: 1,
      sequences: 2,
      prompts: 3,
      runs: 1,
      providerExtra: '    limits: { maxConcurrency: 1 }',
    });
    const job = await createJob(temp.store, suite, 'generated.yaml');
    const running = await start();
    const replaced = running.pool?.peers()['worker-1'];
    expect(replaced).toBeDefined();
    process.kill(running.pool?.pids()['worker-1'] ?? Number.NaN, 'SIGKILL');
    await expect
      .poll(
        () => {
          const peer = running.pool?.peers()['worker-1'];
          return peer !== undefined && peer !== replaced && running.pool?.notReady().length === 0;
        },
        { message: 'the replacement worker' },
      )
      .toBe(true);
    // What the dead worker might have left in the socket: it reaches the primary under its old id.
    const ghost = await DealerTransport.connect<FromWorker, ToWorker>(
      (await PrivateSocketDir.open(temp.dataDir)).endpointFor('workers'),
      { routingId: replaced ?? '', isMessage: isToWorker },
    );
    const answers: ToWorker[] = [];
    ghost.onMessage((message) => answers.push(message));
    try {
      const request = {
        group: `${job.id}/m1`,
        model: 'm1',
        priority: 99,
        estimatedTokens: 10,
        estimatedInputTokens: 5,
        fresh: true,
      };
      const outcome = running.runJob(job);
      await expect.poll(() => sim.records.length >= 1, { message: 'the job’s first request' }).toBe(true);
      await ghost.send({ type: 'gate-admit', id: 'ghost-1', job: job.id, provider: 'sim', request });
      // A permit taken for the ghost would never be settled, and the job would stall.
      const stalled = new Promise<string>((resolve) => setTimeout(() => resolve('stalled'), 10_000).unref());
      expect(await Promise.race([outcome.then((ended) => ended.state), stalled])).toBe('done');
      expect(answers).toEqual([]);
    } finally {
      await ghost.close();
    }
  });

  it('a hung worker (SIGSTOP) is detected by heartbeats and replaced; the job completes', async () => {
    sim.configure({ latencyMs: 100 });
    const suite = await simulatorSuite(sim, { models: 2, sequences: 4, prompts: 4, runs: 2 });
    const job = await createJob(temp.store, suite, 'generated.yaml');
    const running = await start(false, { heartbeatIntervalMs: HUNG_WORKER_HEARTBEAT_MS });
    const outcome = running.runJob(job);
    await expect.poll(() => sim.records.length >= 10, { message: 'some turns' }).toBe(true);
    const victim = running.pool?.pids()['worker-2'] ?? Number.NaN;
    process.kill(victim, 'SIGSTOP');
    const committedAtStop = temp.store.turnsOf(job.id);
    try {
      await expect
        .poll(() => (running.pool?.restarts ?? 0) >= 1, { message: 'the hung worker to be replaced' })
        .toBe(true);
      expect((await outcome).state).toBe('done');
    } finally {
      // Already SIGKILLed by the pool; a stopped process still receives SIGKILL. Make sure.
      try {
        process.kill(victim, 'SIGKILL');
      } catch {
        // gone
      }
    }
    const turns = temp.store.turnsOf(job.id);
    expectNoCommittedTurnRepeated(suite, committedAtStop, turns, sim.records);
    expectContractHolds(suite, turns, sim.records, turns.length - committedAtStop.length);
  });

  it('a worker busy for longer than its heartbeats allow (a script check holding its event loop) is not replaced', async () => {
    // Each answer of s1 and s2 is checked by a script that keeps the worker's event loop for
    // 1.5 s, using CPU: 2.5 heartbeat windows without an answer to a ping. The worker is working,
    // not hung (the SIGSTOP test above is the hung one): it must be waited for, not killed.
    const dir = await tempDir();
    try {
      await writeFile(
        join(dir.path, 'spin.mjs'),
        'export default () => { const end = Date.now() + 1500; while (Date.now() < end); return true; };\n',
      );
      const sequences = [1, 2, 3, 4].map(
        (s) =>
          `  - { id: s${s}, prompts: ["s${s} prompt"]${s <= 2 ? ', expect: { script: "./spin.mjs" }' : ''} }`,
      );
      const suitePath = join(dir.path, 'busy.yaml');
      await writeFile(
        suitePath,
        `name: busy\nruns: 2\nproviders:\n  sim: { type: openai, baseURL: "${sim.openaiBaseURL}", apiKeyEnv: ${TEST_KEY_ENV} }\nmodels:\n  - { id: m1, provider: sim, model: model-1, maxTokens: 50 }\nsequences:\n${sequences.join('\n')}\n`,
      );
      const source = await openJobSuite(suitePath, { env, dataDir: temp.dataDir });
      const job = await createJob(temp.store, source, suitePath);
      const running = await start(false, { heartbeatIntervalMs: HUNG_WORKER_HEARTBEAT_MS });
      expect((await running.runJob(job)).state).toBe('done');
      expect(running.pool?.restarts).toBe(0);
      const turns = temp.store.turnsOf(job.id);
      expect(turns.filter((turn) => turn.checks?.some((check) => check.passed))).toHaveLength(4);
      expectContractHolds(await loadSuite(suitePath), turns, sim.records, 0);
    } finally {
      await dir.cleanup();
    }
  });

  it('with two workers, a provider limited to N concurrent requests never sees more than N', async () => {
    const limit = 5;
    const suite = await simulatorSuite(sim, {
      models: 2,
      sequences: 6,
      prompts: 2,
      runs: 2,
      providerExtra: `    limits: { maxConcurrency: ${limit} }`,
    });
    const job = await createJob(temp.store, suite, 'generated.yaml');
    const running = await start();
    expect((await running.runJob(job)).state).toBe('done');
    expect(sim.maxInFlight).toBeLessThanOrEqual(limit);
    expect(sim.maxInFlight).toBe(limit);
  });
});
