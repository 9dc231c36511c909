/**
 * What two `troupe run` processes on one `sharedLimits` key share beyond the budget, end to end on
 * a real redis-server: a circuit breaker opened by one holds the other, and what one provider's
 * headers said (nothing left until a reset) holds the other back. Each process talks to a
 * simulator of its own (the server `troupe simulate` serves, started here so that its record of
 * every request can be read): what arrives at the healthy one shows what the sharing did.
 */
import type { ChildProcess } from 'node:child_process';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { Redis } from 'ioredis';
import { BudgetStore } from '../src/coordination/budget-store.js';
import { RATE_WINDOW_MS } from '../src/resilience/defaults.js';
import { StoreClient } from '../src/coordination/store-client.js';
import { startSimulator } from '../src/simulator/server.js';
import type { RecordedRequest, Simulator, SimulatorOptions } from '../src/simulator/types.js';
import { skipWithoutRedis, startRedisServer } from './helpers/redis-server.js';
import type { RedisServer } from './helpers/redis-server.js';
import {
  logLines,
  rawRedis,
  sharedSuiteText,
  startRun,
  stateOf,
  type Running,
  type SharedSuiteOptions,
} from './helpers/shared-runs.js';
import { tempDir } from './helpers/temp.js';

const RPM = 600;
const KEY = 'org-breaker';
/** Tests that run several `troupe run` processes: bounded, and generous for a loaded machine. */
const TEST_TIMEOUT_MS = 240_000;
const POLL = { timeout: 90_000, interval: 20 };

describe.skipIf(skipWithoutRedis())('two processes on one key share breaker and headers', () => {
  let redis: RedisServer;
  let raw: Redis;
  let client: StoreClient;
  let budget: BudgetStore;
  let dir: Awaited<ReturnType<typeof tempDir>>;
  const sims: Simulator[] = [];
  const children: ChildProcess[] = [];

  beforeEach(async () => {
    redis = await startRedisServer();
    raw = rawRedis(redis.port);
    client = new StoreClient({ url: redis.url });
    budget = new BudgetStore(client, KEY);
    dir = await tempDir();
  });
  afterEach(async () => {
    for (const child of children.splice(0)) if (child.exitCode === null) child.kill('SIGKILL');
    for (const sim of sims.splice(0)) await sim.close();
    raw.disconnect();
    await client.close();
    await redis.close();
    await dir.cleanup();
  });

  async function simulator(options: SimulatorOptions): Promise<Simulator> {
    const sim = await startSimulator({ port: 0, host: '127.0.0.1', latencyMs: 50, ...options });
    sims.push(sim);
    return sim;
  }

  async function run(
    name: string,
    sim: Simulator,
    o: Omit<SharedSuiteOptions, 'baseURL' | 'key' | 'url'>,
  ): Promise<Running> {
    const path = join(dir.path, `${name}.yaml`);
    await writeFile(path, sharedSuiteText({ baseURL: sim.openaiBaseURL, key: KEY, url: redis.url, ...o }));
    const running = startRun(join(dir.path, `data-${name}`), path);
    children.push(running.child);
    return running;
  }

  /** Requests received in [from, to) (the simulator's clock is this host's, as the store's is). */
  const between = (records: readonly RecordedRequest[], from: number, to: number) =>
    records.filter((r) => r.receivedAt >= from && r.receivedAt < to).length;
  /**
   * Requests both simulators received in [from, to), counted from their records' times once the
   * runs are over, to set against what the store says it granted in its window up to `from`.
   * Why not `records.length` when `from` was taken: a request arriving between taking `from` and
   * reading the lengths (an await apart) would count both as sent before and as received after,
   * and fail a run by one. Every request was granted by the store and sent within a lease's use
   * time of its grant, and the store's count covers its window and that use time, so what arrives
   * from `from` on is at most its count less what arrived in the window before.
   */
  const receivedIn = (from: number, to: number, ...servers: Simulator[]) =>
    servers.reduce((sum, sim) => sum + between(sim.records, from, to), 0);

  it(
    "one run's breaker opening on its provider's outage stops the other run's requests until the cool-down ends",
    async () => {
      const coolDownMs = 8_000;
      const down = await simulator({ faults: [{ fault: { kind: 'status', status: 500 } }] });
      const healthy = await simulator({});
      // b has minutes of work at the shared rate, so that it is still sending when a's breaker
      // opens however long a takes to start on a busy machine; it is interrupted once it has gone
      // on after the cool-down.
      const b = await run('b', healthy, {
        sequences: 3_000,
        prompts: 1,
        limits: `{ requestsPerMinute: ${RPM} }`,
      });
      await expect.poll(() => healthy.records.length, POLL).toBeGreaterThan(5);
      const a = await run('a', down, {
        sequences: 10,
        limits: `{ requestsPerMinute: ${RPM} }`,
        breaker: `{ consecutiveFailures: 3, coolDownMs: ${coolDownMs}, maxCoolDownMs: ${coolDownMs} }`,
      });
      // The store holds a's opening from its first call after it opened: from then on nothing
      // reaches the healthy provider but what the store had granted before.
      await expect
        .poll(async () => Number((await stateOf(raw, KEY)).breakerUntil ?? 0), POLL)
        .toBeGreaterThan(0);
      const seenAt = Date.now();
      const status = await budget.status();
      const openUntil = Number((await stateOf(raw, KEY)).breakerUntil);
      down.configure({ faults: [] });
      const ra = await a.done;
      expect(ra.code, ra.stderr).toBe(0);
      await expect
        .poll(() => healthy.records.filter((r) => r.receivedAt >= openUntil).length, POLL)
        .toBeGreaterThan(0);
      b.child.kill('SIGINT');
      const rb = await b.done;
      expect(rb.code, rb.stderr).toBe(1);
      expect(rb.stdout).toContain('resume it with: troupe run --resume');

      expect(openUntil).toBeGreaterThan(seenAt);
      // b was sending at the shared rate when a's breaker opened, and went on after the cool-down.
      const duringOpen = between(healthy.records, seenAt, openUntil);
      const arrivedInWindow = receivedIn(status.now - RATE_WINDOW_MS, seenAt, down, healthy);
      expect(duringOpen).toBeLessThanOrEqual(Math.max(0, status.requests - arrivedInWindow));
      expect(healthy.records.every((r) => r.status === 200)).toBe(true);
      // Said in b's log: its breaker opened because a's did.
      expect(
        logLines(rb.stderr).some((l) => l.msg === 'circuit open' && l.reason === 'opened-elsewhere'),
      ).toBe(true);
      expect(
        logLines(ra.stderr).some((l) => l.msg === 'circuit open' && l.reason === 'consecutive-failures'),
      ).toBe(true);
    },
    TEST_TIMEOUT_MS,
  );

  it(
    "what one run's provider headers said (nothing left until a reset) holds the other run back until the reset",
    async () => {
      // 6 requests per minute with a bucket of one: after a's one request, 0 left for 10 s.
      const limited = await simulator({ rateLimit: { requestsPerMinute: 6 } });
      // b's provider says nothing of its limits: b learns them only through the store.
      const silent = await simulator({ dialect: 'none' });
      // Minutes of work for b, as in the test above: it is interrupted once it has gone on after the reset.
      const b = await run('b', silent, {
        sequences: 3_000,
        prompts: 1,
        limits: `{ requestsPerMinute: ${RPM} }`,
      });
      await expect.poll(() => silent.records.length, POLL).toBeGreaterThan(5);
      const a = await run('a', limited, {
        sequences: 1,
        prompts: 1,
        limits: `{ requestsPerMinute: ${RPM} }`,
      });
      await expect.poll(async () => Number((await stateOf(raw, KEY)).rLUntil ?? 0), POLL).toBeGreaterThan(0);
      const seenAt = Date.now();
      const status = await budget.status();
      const state = await stateOf(raw, KEY);
      const resetAt = Number(state.rLUntil);
      const limit = Number(state.rLCap);
      const ra = await a.done;
      expect(ra.code, ra.stderr).toBe(0);
      await expect
        .poll(() => silent.records.filter((r) => r.receivedAt >= resetAt).length, POLL)
        .toBeGreaterThan(0);
      b.child.kill('SIGINT');
      const rb = await b.done;
      expect(rb.code, rb.stderr).toBe(1);

      expect(limited.records).toHaveLength(1);
      expect(limited.records[0]!.status).toBe(200);
      // The reading: OpenAI's headers state the bucket (one request), full again about 10 s on.
      expect(limit).toBe(1);
      expect(resetAt - seenAt).toBeGreaterThan(5_000);
      // Until the reset, b sends what the store had granted before, and at most what the learned
      // bucket refills to by then (the limit): 1, where the shared budget alone would let ~100 go.
      const beforeReset = between(silent.records, seenAt, resetAt);
      expect(beforeReset).toBeLessThanOrEqual(
        Math.max(0, status.requests - receivedIn(status.now - RATE_WINDOW_MS, seenAt, limited, silent)) +
          limit,
      );
      expect(silent.records.every((r) => r.status === 200)).toBe(true);
    },
    TEST_TIMEOUT_MS,
  );

  it(
    'when the cool-down ends, one probe goes for the three runs, not one each; its failure opens them all again, its success closes them',
    async () => {
      const sim = await simulator({ faults: [{ fault: { kind: 'status', status: 500 } }] });
      const runs = await Promise.all(
        ['a', 'b', 'c'].map((name) =>
          run(name, sim, {
            sequences: 10,
            prompts: 1,
            promptPrefix: name,
            limits: `{ requestsPerMinute: ${RPM} }`,
            breaker: '{ consecutiveFailures: 3, coolDownMs: 2000, maxCoolDownMs: 4000, probesToClose: 2 }',
          }),
        ),
      );
      // Every opening the store holds, with when it was first seen: a phase of the outage ends at
      // its opening's end if the next opening came after it (not if a run's later opening
      // replaced it at once). An opening after a failed probe stands for a cool-down (2 s at
      // least), so a watch that looks at least every second misses none; a phase the watch may
      // have been blind in (a busy machine held this process longer) is not judged.
      const openings: { until: number; seenAt: number }[] = [];
      const blind: { from: number; to: number }[] = [];
      let lookedAt = Date.now();
      const watch = setInterval(() => {
        void raw.hget(`troupe:{${KEY}}:state`, 'breakerUntil').then((value) => {
          const now = Date.now();
          if (now - lookedAt > 1_000) blind.push({ from: lookedAt, to: now });
          lookedAt = now;
          const until = Number(value ?? 0);
          if (until > 0 && openings.at(-1)?.until !== until) openings.push({ until, seenAt: now });
        });
      }, 20);
      const phases = () =>
        openings.flatMap((o, i) => {
          const next = openings[i + 1];
          const seen =
            next !== undefined &&
            next.seenAt >= o.until &&
            !blind.some((b) => b.to > o.seenAt && b.from < next.seenAt);
          return seen ? [{ from: o.until, to: next.until }] : [];
        });
      try {
        await expect.poll(() => phases().length, { ...POLL, interval: 100 }).toBeGreaterThanOrEqual(2);
      } finally {
        clearInterval(watch);
      }
      const ended = phases();
      const records = sim.records;
      sim.configure({ faults: [] });
      for (const phase of ended) {
        // From an opening's end to the next opening: the one probe, which failed and opened them all.
        const probes = records.filter((r) => r.receivedAt >= phase.from && r.receivedAt < phase.to);
        expect(probes.map((r) => r.status)).toEqual([500]);
      }
      const results = await Promise.all(runs.map((r) => r.done));
      for (const result of results) expect(result.code, result.stderr).toBe(0);
      expect(sim.records.filter((r) => r.status === 200)).toHaveLength(30);
      // The runs that did not hold the probe when it succeeded closed on the holder's word.
      const closedElsewhere = results.filter((r) =>
        logLines(r.stderr).some((l) => l.msg === 'circuit closed' && l.reason === 'closed-elsewhere'),
      );
      expect(closedElsewhere.length).toBeGreaterThanOrEqual(1);
    },
    TEST_TIMEOUT_MS,
  );
});
