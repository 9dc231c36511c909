/**
 * Several processes, one quota: `troupe run` processes (and daemons) on one `sharedLimits` key
 * against the simulator's limit, with a real redis-server that the tests start, stop and
 * restart. The simulator here is the one `troupe simulate --requests-per-minute 600` serves,
 * started in this process so that its record of every request can be read.
 */
import type { ChildProcess } from 'node:child_process';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { BudgetStore } from '../src/coordination/budget-store.js';
import { PARTICIPANT_TTL_MS } from '../src/coordination/defaults.js';
import { StoreClient } from '../src/coordination/store-client.js';
import { startSimulator } from '../src/simulator/server.js';
import type { RecordedRequest, Simulator } from '../src/simulator/types.js';
import type { SharedKeyView } from '../src/coordination/shared-view.js';
import type { JobStatus } from '../src/actors/supervisor.js';
import { runCli } from './helpers/cli.js';
import { DaemonProcess } from './helpers/daemon.js';
import { skipWithoutRedis, startRedisServer } from './helpers/redis-server.js';
import type { RedisServer } from './helpers/redis-server.js';
import { tempDir } from './helpers/temp.js';
import {
  RUN_TIMEOUT_MS,
  rawRedis,
  sharedSuiteText,
  startRun,
  type Running,
  type SharedSuiteOptions,
} from './helpers/shared-runs.js';
import { maxConcurrentInRecord, maxInWindow } from './resilience/engine-harness.js';

const RPM = 600;
/** The provider's own limit in the two-daemon test, a minute's bucket (see there). */
const LEARNED_LIMIT = 200;
const SHARED_KEY = 'org-sim';

/** What `troupe status --json` prints. */
interface StatusJson {
  readonly jobs: readonly JobStatus[];
  readonly sharedLimits: readonly SharedKeyView[];
}

const refused = (records: readonly RecordedRequest[]) => records.filter((r) => r.status === 429).length;

/**
 * From the first request's arrival to the last one's, in ms, as the simulator stamped them: what
 * the shared budget paces. The processes' start-up (slow on a busy machine) comes before the
 * first arrival, and the last answer's latency after the last one, so neither counts.
 */
function arrivalSpanMs(records: readonly RecordedRequest[]): number {
  const times = records.map((r) => r.receivedAt);
  return Math.max(...times) - Math.min(...times);
}

/**
 * How far past the shared bound the arrivals may spread. How close troupe comes to the bound is a
 * speed, measured by the bench's `shared` workload (target 1.1 ×); a test that held it to 1.1 ×
 * failed at 1.11 × when a loaded machine delayed one daemon's sends. This bound still catches a
 * budget that is not shared out: two participants each held to half the rate while the other has
 * nothing left to send, or a share kept by one that has left, spread the arrivals towards 2 ×.
 */
const SPAN_OVER_BOUND_MAX = 1.5;

/** Tests that run several `troupe run` processes: bounded, and generous for a loaded machine. */
const MULTI_PROCESS_TEST_TIMEOUT_MS = 240_000;

describe.skipIf(skipWithoutRedis())('several processes, one quota', () => {
  let redis: RedisServer;
  let sim: Simulator;
  let dir: Awaited<ReturnType<typeof tempDir>>;
  const children: ChildProcess[] = [];

  beforeEach(async () => {
    redis = await startRedisServer();
    sim = await startSimulator({
      port: 0,
      host: '127.0.0.1',
      latencyMs: 50,
      rateLimit: { requestsPerMinute: RPM },
    });
    dir = await tempDir();
  });
  afterEach(async () => {
    for (const child of children.splice(0)) if (child.exitCode === null) child.kill('SIGKILL');
    await sim.close();
    await redis.close();
    await dir.cleanup();
  });

  async function writeSuite(name: string, o: Omit<SharedSuiteOptions, 'baseURL' | 'key'>): Promise<string> {
    const path = join(dir.path, name);
    await writeFile(path, sharedSuiteText({ baseURL: sim.openaiBaseURL, key: SHARED_KEY, ...o }));
    return path;
  }

  /** Two runs on the key, each with 60 requests at the provider's rate, once `arrived` reached it. */
  async function twoRunsUnderWay(name: string, arrived: number): Promise<Running[]> {
    const suite = await writeSuite(name, {
      url: redis.url,
      sequences: 30,
      limits: `{ requestsPerMinute: ${RPM} }`,
    });
    const running = runs(2, suite);
    await expect.poll(() => sim.records.length, { timeout: 60_000, interval: 50 }).toBeGreaterThan(arrived);
    return running;
  }

  /** The 429s three runs without `sharedLimits` meet, on a fresh simulator record. */
  async function refusedWithoutKey(name: string, sequences: number, limits: string): Promise<number> {
    sim.reset();
    const alone = await writeSuite(name, { sequences, limits });
    await Promise.all(runs(3, alone).map((r) => r.done));
    return refused(sim.records);
  }

  function runs(count: number, suite: string, env: Record<string, string> = {}): Running[] {
    return Array.from({ length: count }, (_, i) => {
      const running = startRun(join(dir.path, `data-${i}`), suite, env);
      children.push(running.child);
      return running;
    });
  }

  it(
    'three runs on one key send no request the provider refuses, within the shared bound; without the key they meet 429s',
    async () => {
      // Three processes paced together at exactly the provider's rate leave its bucket as the only
      // room for arrival jitter. A process of the three (or this one, which stamps the arrivals)
      // that stalls for a while on a loaded machine lets the requests it should have sent meanwhile
      // arrive together. With a bucket of 1 s (10 requests) this test met 6 × 429 once under a load
      // of 20; at a load of 15, 14 arrived within one second of a passing run. A bucket of 3 s (30)
      // takes such stalls; three runs sent 15 % above the rate would still empty it (240 requests
      // in 21 s), and the span below bounds the other side.
      sim.configure({ rateLimit: { requestsPerMinute: RPM, burstSeconds: 3 } });
      const perProcess = 80;
      const shared = await writeSuite('shared.yaml', {
        url: redis.url,
        sequences: perProcess / 2,
        limits: `{ requestsPerMinute: ${RPM} }`,
      });
      const results = await Promise.all(runs(3, shared).map((r) => r.done));
      for (const result of results) expect(result.code, result.stderr).toBe(0);
      const records = sim.records;
      expect(records.filter((r) => r.status === 200)).toHaveLength(3 * perProcess);
      expect(refused(records)).toBe(0);
      // N requests at R per minute: N − 1 intervals of 60 s / R between the first and last arrival.
      const boundMs = ((3 * perProcess - 1) / RPM) * 60_000;
      expect(arrivalSpanMs(records)).toBeLessThanOrEqual(SPAN_OVER_BOUND_MAX * boundMs);

      // The same three without sharedLimits, against the usual bucket of 1 s: each believes it
      // owns the whole limit.
      sim.configure({ rateLimit: { requestsPerMinute: RPM } });
      expect(await refusedWithoutKey('alone.yaml', 10, `{ requestsPerMinute: ${RPM} }`)).toBeGreaterThan(0);
    },
    MULTI_PROCESS_TEST_TIMEOUT_MS,
  );

  it(
    'shares tokens per minute the same way: none refused, where three runs without the key meet 429s',
    async () => {
      const tpm = 12_000;
      sim.configure({ rateLimit: { tokensPerMinute: tpm } });
      const suite = await writeSuite('tokens.yaml', {
        url: redis.url,
        sequences: 8,
        limits: `{ tokensPerMinute: ${tpm} }`,
      });
      const results = await Promise.all(runs(3, suite).map((r) => r.done));
      for (const result of results) expect(result.code, result.stderr).toBe(0);
      expect(sim.records.filter((r) => r.status === 200)).toHaveLength(3 * 16);
      expect(refused(sim.records)).toBe(0);

      // The same three without sharedLimits: each believes it owns the whole token budget.
      expect(await refusedWithoutKey('tokens-alone.yaml', 8, `{ tokensPerMinute: ${tpm} }`)).toBeGreaterThan(
        0,
      );
    },
    MULTI_PROCESS_TEST_TIMEOUT_MS,
  );

  it(
    'a run killed with -9 gives its concurrency slots back within their TTL, and the others finish',
    async () => {
      const suite = await writeSuite('kill.yaml', {
        url: redis.url,
        sequences: 30,
        limits: `{ requestsPerMinute: ${RPM}, maxConcurrency: 3 }`,
      });
      sim.configure({ latencyMs: 400 });
      const [victim, ...others] = runs(3, suite);
      const client = new StoreClient({ url: redis.url });
      const budget = new BudgetStore(client, SHARED_KEY);
      const redisClient = rawRedis(redis.port);
      try {
        const pidOf = (id: string) => Number(id.split(':')[1]);
        await expect
          .poll(async () => (await budget.status()).participants.length, { timeout: 30_000, interval: 100 })
          .toBe(3);
        // Killed while it holds slots (it has requests in flight).
        await expect
          .poll(
            async () =>
              (await budget.status()).participants.find((p) => pidOf(p.id) === victim!.child.pid)?.slots ?? 0,
            { timeout: 30_000, interval: 50 },
          )
          .toBeGreaterThan(0);
        const victimId = (await budget.status()).participants.find(
          (p) => pidOf(p.id) === victim!.child.pid,
        )!.id;
        const exited = new Promise((resolve) => victim!.child.once('exit', resolve));
        victim!.child.kill('SIGKILL');
        await exited;
        // Read on the store's own clock, so that a busy machine's scheduling cannot blur it: the dead
        // process's last renewal keeps it alive until `expiry`, at most one TTL after its death.
        const [seconds, micros] = await redisClient.time();
        const deadAt = Number(seconds) * 1000 + Math.floor(Number(micros) / 1000);
        const expiry = Number(await redisClient.zscore(`troupe:{${SHARED_KEY}}:alive`, victimId));
        expect(expiry).toBeGreaterThan(0);
        expect(expiry).toBeLessThanOrEqual(deadAt + PARTICIPANT_TTL_MS);
        // …and once the store's clock passes it, it is gone, its slots with it.
        await expect
          .poll(
            async () => (await budget.status()).participants.some((p) => pidOf(p.id) === victim!.child.pid),
            { timeout: 30_000, interval: 50 },
          )
          .toBe(false);
        const results = await Promise.all(others.map((r) => r.done));
        for (const result of results) expect(result.code, result.stderr).toBe(0);
        expect(maxConcurrentInRecord(sim.records)).toBeLessThanOrEqual(3);
        expect(refused(sim.records)).toBe(0);
      } finally {
        await client.close();
        redisClient.disconnect();
      }
    },
    MULTI_PROCESS_TEST_TIMEOUT_MS,
  );

  it(
    'when Redis stops mid-job the runs wait ("coordination store unreachable"), and finish once it is back, never exceeding',
    async () => {
      const running = await twoRunsUnderWay('restart.yaml', 20);
      // What the store granted so far, by its own count, just before it goes. The time is taken
      // before the count is asked for, so that the moments the asking and the closing take are
      // inside the allowance below.
      const client = new StoreClient({ url: redis.url });
      const countedAt = Date.now();
      const granted = (await new BudgetStore(client, SHARED_KEY).status()).requests;
      await client.close();
      await redis.stop();
      const stoppedAt = Date.now();
      await expect
        .poll(() => running.every((r) => r.stderr().includes('coordination store unreachable')), {
          timeout: 60_000,
        })
        .toBe(true);
      // Given a participant's TTL to misbehave in: more than the leases' use time.
      const awayUntil = Date.now() + PARTICIPANT_TTL_MS;
      await expect.poll(() => Date.now(), { timeout: 2 * PARTICIPANT_TTL_MS }).toBeGreaterThan(awayUntil);
      // Nothing beyond the leases held leaves while it is away: every request that reached the
      // provider needs a unit the store granted, those it counted and at most a burst and the
      // rate's worth of the moments between its count and its stop. A count, not a time, so that
      // a busy machine that sends a granted request late cannot blur it.
      const grantedAfterCount = 1 + Math.ceil((RPM * (stoppedAt - countedAt)) / 60_000);
      expect(sim.records.length).toBeLessThanOrEqual(granted + grantedAfterCount);
      expect(sim.records.length).toBeLessThan(2 * 60);
      expect(running.every((r) => r.child.exitCode === null)).toBe(true);
      await redis.start();
      const results = await Promise.all(running.map((r) => r.done));
      for (const result of results) {
        expect(result.code, result.stderr).toBe(0);
        expect(result.stderr).toContain('coordination store unreachable');
        expect(result.stderr).toContain('coordination store reachable again');
      }
      expect(sim.records.filter((r) => r.status === 200)).toHaveLength(2 * 60);
      expect(refused(sim.records)).toBe(0);
      const times = sim.records.map((r) => r.receivedAt);
      // No window of a minute ever held more than the limit.
      expect(maxInWindow(times, 60_000)).toBeLessThanOrEqual(RPM);
    },
    MULTI_PROCESS_TEST_TIMEOUT_MS,
  );

  it(
    "a 429's retry-after met by one run pauses the others: while it holds, nothing leaves beyond what the store had granted",
    async () => {
      const retryAfterSeconds = 20;
      const running = await twoRunsUnderWay('pause.yaml', 10);
      sim.configure({ faults: [{ fault: { kind: 'status', status: 429, retryAfterSeconds }, times: 1 }] });
      const client = new StoreClient({ url: redis.url });
      const budget = new BudgetStore(client, SHARED_KEY);
      let granted: number;
      let pauseUntil: number;
      try {
        // Once the store holds the pause it grants nothing until its end: what it granted by then
        // is all that may reach the provider before the pause ends, whichever run sent it.
        await expect
          .poll(async () => (await budget.status()).pauseUntil, { timeout: 60_000, interval: 20 })
          .toBeGreaterThan(0);
        const status = await budget.status();
        granted = status.requests;
        pauseUntil = status.pauseUntil;
        expect(status.pauseReason).toBe('rate-limit');
      } finally {
        await client.close();
      }
      const results = await Promise.all(running.map((r) => r.done));
      for (const result of results) expect(result.code, result.stderr).toBe(0);
      const records = sim.records;
      const the429 = records.find((r) => r.status === 429)!;
      expect(refused(records)).toBe(1);
      // The pause lasts the retry-after from when its run read the answer (the store's clock is this host's).
      expect(pauseUntil).toBeGreaterThanOrEqual(the429.finishedAt + retryAfterSeconds * 1000 - 1_000);
      // Without sharing, the other run would have gone on at the whole rate for those 20 s.
      expect(records.filter((r) => r.receivedAt < pauseUntil).length).toBeLessThanOrEqual(granted);
      expect(records.filter((r) => r.status === 200)).toHaveLength(2 * 60);
    },
    MULTI_PROCESS_TEST_TIMEOUT_MS,
  );

  it(
    'two daemons on two data directories share a key like the runs do, and status shows both participants with their shares',
    async () => {
      const perDaemon = 80;
      // The provider's bucket: 200 requests refilling over a minute, which the jobs' 160 never
      // empty but draw down far enough that its headers' reset lies seconds ahead. A learned
      // bucket expires at its reset, and readings reach the store with a participant's next call:
      // a bucket of 10, full again within a second, was often over before status could show it.
      sim.configure({ rateLimit: { requestsPerMinute: LEARNED_LIMIT, windowMs: 60_000 } });
      const suite = await writeSuite('daemons.yaml', {
        url: redis.url,
        sequences: perDaemon / 2,
        limits: `{ requestsPerMinute: ${RPM}, maxConcurrency: 4 }`,
      });
      const env = { SIM_KEY: 'x' };
      const dataDirs = [join(dir.path, 'daemon-a'), join(dir.path, 'daemon-b')];
      // One with a worker process, one running its conversations in its own process.
      const daemons = await Promise.all([
        DaemonProcess.start(dataDirs[0]!, env, ['--workers', '1']),
        DaemonProcess.start(dataDirs[1]!, env, ['--workers', '0']),
      ]);
      try {
        const jobs: string[] = [];
        for (const dataDir of dataDirs) {
          const submitted = await runCli(['submit', suite, '--data-dir', dataDir], env);
          expect(submitted.code, submitted.stderr).toBe(0);
          jobs.push(submitted.stdout.trim());
        }
        const status = async (dataDir: string): Promise<StatusJson> => {
          const answer = await runCli(['status', '--json', '--data-dir', dataDir], env);
          expect(answer.code, answer.stderr).toBe(0);
          return JSON.parse(answer.stdout) as StatusJson;
        };
        // While both run, each daemon's status lists both participants, itself first-hand.
        const [pidA, pidB] = daemons.map((d) => d.pid);
        let seen: StatusJson | undefined;
        await expect
          .poll(
            async () => {
              seen = await status(dataDirs[0]!);
              return (seen.sharedLimits[0]?.participants ?? []).map((p) => p.pid).sort();
            },
            { timeout: 60_000, interval: 200 },
          )
          .toEqual([pidA, pidB].sort());
        const key = seen!.sharedLimits[0]!;
        expect(key).toMatchObject({ key: SHARED_KEY, provider: 'sim', reachable: true });
        expect(key.budget).toEqual({ requestsPerMinute: RPM, maxConcurrency: 4 });
        expect(key.store).toBe(redis.url);
        const a = key.participants.find((p) => p.pid === pidA)!;
        const b = key.participants.find((p) => p.pid === pidB)!;
        expect(a).toMatchObject({ self: true, jobs: [jobs[0]], provider: 'sim' });
        expect(b).toMatchObject({ self: false, jobs: [jobs[1]], provider: 'sim' });
        for (const p of [a, b]) {
          expect(p.process).toBe(`${p.host}:${p.pid}`);
          expect(p.share.requests).toBeCloseTo(p.requests / RPM, 6);
          expect(p.share.slots).toBeCloseTo(p.slots / 4, 6);
        }
        expect(a.requests + b.requests).toBeLessThanOrEqual(key.requests + 1e-6);
        expect(a.slots + b.slots).toBeLessThanOrEqual(4);
        const text = await runCli(['status', '--data-dir', dataDirs[1]!], env);
        expect(text.code, text.stderr).toBe(0);
        expect(text.stdout).toContain(
          `shared limits ${SHARED_KEY} (provider sim, store ${redis.url}): ${RPM} requests/min, 4 at once`,
        );
        expect(text.stdout).toMatch(new RegExp(`:${pidB} \\(this daemon\\)\\s+${jobs[1]}`));
        expect(text.stdout).toMatch(new RegExp(`:${pidA}\\s+${jobs[0]}`));
        // What the simulator's headers said (OpenAI's dialect) is a learned bucket every participant
        // sees, while the jobs run.
        expect(key.learned.dialect).toBe('openai');
        await expect
          .poll(async () => (await status(dataDirs[1]!)).sharedLimits[0]?.learned.requests, {
            timeout: 60_000,
            interval: 100,
          })
          .toMatchObject({
            limit: LEARNED_LIMIT,
            remaining: expect.any(Number),
            resetInMs: expect.any(Number),
          });
        await expect
          .poll(async () => (await runCli(['status', '--data-dir', dataDirs[0]!], env)).stdout, {
            timeout: 60_000,
            interval: 100,
          })
          .toMatch(
            new RegExp(
              `learned from headers \\(openai dialect\\): requests -?\\d+ of ${LEARNED_LIMIT} left, full again at`,
            ),
          );

        // Both jobs end, together within the shared bound, and the provider refused nothing.
        for (const [index, dataDir] of dataDirs.entries()) {
          await expect
            .poll(async () => (await status(dataDir)).jobs.find((j) => j.job === jobs[index])?.state, {
              timeout: RUN_TIMEOUT_MS,
              interval: 250,
            })
            .toBe('done');
        }
        const records = sim.records;
        expect(records.filter((r) => r.status === 200)).toHaveLength(2 * perDaemon);
        expect(refused(records)).toBe(0);
        expect(maxConcurrentInRecord(records)).toBeLessThanOrEqual(4);
        const boundMs = ((2 * perDaemon - 1) / RPM) * 60_000;
        expect(arrivalSpanMs(records)).toBeLessThanOrEqual(SPAN_OVER_BOUND_MAX * boundMs);
      } finally {
        await Promise.all(daemons.map((d) => d.terminate()));
      }
    },
    MULTI_PROCESS_TEST_TIMEOUT_MS,
  );

  it('a wrong password is exit 2 naming passwordEnv, and the password is never shown', async () => {
    await redis.close();
    redis = await startRedisServer({ password: 'right-password' });
    const suite = await writeSuite('auth.yaml', {
      url: redis.url,
      sequences: 1,
      limits: `{ requestsPerMinute: ${RPM} }`,
      passwordEnv: 'REDIS_PASSWORD',
    });
    const wrong = await runCli(['run', suite, '--data-dir', join(dir.path, 'auth')], {
      SIM_KEY: 'x',
      REDIS_PASSWORD: 'wrong-password-1234',
    });
    expect(wrong.code).toBe(2);
    expect(wrong.stderr).toContain('providers.sim.sharedLimits.passwordEnv');
    expect(wrong.stderr).toContain('refused the password');
    expect(wrong.stdout + wrong.stderr).not.toContain('wrong-password-1234');
    const unreachable = await writeSuite('url.yaml', {
      url: 'redis://127.0.0.1:1/0',
      sequences: 1,
      limits: `{ requestsPerMinute: ${RPM} }`,
    });
    const refusedUrl = await runCli(['run', unreachable, '--data-dir', join(dir.path, 'url')], {
      SIM_KEY: 'x',
    });
    expect(refusedUrl.code).toBe(2);
    expect(refusedUrl.stderr).toContain('providers.sim.sharedLimits.url');
    const right = await runCli(['run', suite, '--data-dir', join(dir.path, 'right')], {
      SIM_KEY: 'x',
      REDIS_PASSWORD: 'right-password',
    });
    expect(right.code, right.stderr).toBe(0);
    expect(right.stdout + right.stderr).not.toContain('right-password');
  });
});
