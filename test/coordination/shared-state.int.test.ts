/**
 * What processes on one shared key share beyond the budget, on a real redis-server: pauses (a 429's
 * retry-after), the circuit breaker's opening, what the provider's headers said (remaining, reset)
 * and the rates they announce. The scripts are driven with the time passed in; the last tests wire
 * real rate limiters and breakers to two participants, as two processes have them.
 */
import { afterAll, describe, expect, it } from 'vitest';
import { BudgetStore } from '../../src/coordination/budget-store.js';
import type { AcquireRequest } from '../../src/coordination/budget-store.js';
import { SharedBudget, type SharedBreakerListener } from '../../src/coordination/shared-budget.js';
import { CircuitBreakerCore } from '../../src/resilience/circuit-breaker-core.js';
import { systemClock } from '../../src/resilience/clock.js';
import { DEFAULT_BREAKER_POLICY } from '../../src/resilience/defaults.js';
import { RateLimiterCore } from '../../src/resilience/rate-limiter-core.js';
import { TEST_TIMINGS, acquireRequest, useBudgetStores } from '../helpers/budget-store.js';
import { skipWithoutRedis } from '../helpers/redis-server.js';

const T0 = 1_700_000_000_000;
/** A participant's TTL in these tests. */
const TTL_MS = TEST_TIMINGS.participantTtlMs;
/** A pause or an opening long enough that no busy machine gets past it during a check. */
const LONG_MS = 60_000;

function ask(participant: string, n: number, over: Partial<AcquireRequest> = {}): AcquireRequest {
  return acquireRequest(participant, n, 6_000, 1, over);
}

describe.skipIf(skipWithoutRedis())('state shared beyond the budget, on redis-server', () => {
  const redis = useBudgetStores('state');

  /** Past the fresh budget's debt: from then on a request is granted when asked. */
  async function warm(now: number): Promise<void> {
    await redis.store.acquire({ ...ask('a', 0, { minRequests: 0, wantRequests: 0 }), now });
    await redis.store.acquire({ ...ask('b', 0, { minRequests: 0, wantRequests: 0 }), now });
  }

  it('a pause one participant met holds for the others until its end, and refuses their leases', async () => {
    await warm(T0);
    const now = T0 + 2_000;
    expect((await redis.store.acquire({ ...ask('b', 1), now })).grantedRequests).toBe(1);
    await redis.store.acquire({
      ...ask('a', 1, { minRequests: 0, wantRequests: 0 }),
      now,
      pause: { until: now + 5_000, reason: 'rate-limit' },
    });
    const refused = await redis.store.acquire({ ...ask('b', 2), now: now + 10 });
    expect(refused.grantedRequests).toBe(0);
    expect(refused.pauseUntil).toBe(now + 5_000);
    expect(refused.pauseReason).toBe('rate-limit');
    expect(refused.retryAt).toBe(now + 5_000);
    expect((await redis.store.acquire({ ...ask('b', 3), now: now + 5_000 })).grantedRequests).toBe(1);
  });

  it('a breaker opened by one participant is reported open to the others until the time it said', async () => {
    await warm(T0);
    const quiet = await redis.store.acquire({ ...ask('b', 1), now: T0 + 2_000 });
    expect(quiet.breakerOpenUntil).toBe(0);
    await redis.store.acquire({
      ...ask('a', 1, { minRequests: 0, wantRequests: 0 }),
      now: T0 + 2_000,
      breakerOpenUntil: T0 + 7_000,
    });
    // An earlier end said later does not shorten it.
    await redis.store.acquire({
      ...ask('a', 2, { minRequests: 0, wantRequests: 0 }),
      now: T0 + 2_100,
      breakerOpenUntil: T0 + 3_000,
    });
    const told = await redis.store.acquire({ ...ask('b', 2), now: T0 + 2_200 });
    expect(told.breakerOpenUntil).toBe(T0 + 7_000);
  });

  /** A call of `who` that asks for no lease: only its news (an opening, a probe wanted, a close). */
  const open = (who: string, n: number, now: number, over: Partial<AcquireRequest> = {}) =>
    redis.store.acquire({ ...ask(who, n, { minRequests: 0, wantRequests: 0 }), now, ...over });

  it('once an opening ends, one participant holds the half-open probe; the others wait for its outcome', async () => {
    await warm(T0);
    const until = T0 + 7_000;
    await open('a', 1, T0 + 2_000, { breakerOpenUntil: until });
    // Before the opening's end no one may probe.
    const early = await open('b', 1, until - 1, { wantsProbe: true });
    expect(early).toMatchObject({ breakerState: 'open', probe: false, breakerOpenUntil: until });
    // From its end, the first to ask holds the probe; the second waits, however often it asks.
    expect(await open('b', 2, until, { wantsProbe: true })).toMatchObject({
      breakerState: 'half-open',
      probe: true,
    });
    expect(await open('a', 2, until + 10, { wantsProbe: true })).toMatchObject({
      breakerState: 'half-open',
      probe: false,
    });
    expect(await open('b', 3, until + 20, { wantsProbe: true })).toMatchObject({ probe: true });
    expect(await open('a', 3, until + 30, { wantsProbe: true })).toMatchObject({ probe: false });
    // b's probe failed: its breaker opens again, until later; the probe is no one's.
    const again = until + 12_000;
    await open('b', 4, until + 40, { breakerOpenUntil: again });
    expect(await open('a', 4, until + 50, { wantsProbe: true })).toMatchObject({
      breakerState: 'open',
      probe: false,
      breakerOpenUntil: again,
    });
    // This time a asks first; its probes succeed and it closes: the outage is over for everyone.
    expect(await open('a', 5, again, { wantsProbe: true })).toMatchObject({ probe: true });
    expect(await open('b', 5, again + 10, { wantsProbe: true })).toMatchObject({ probe: false });
    expect(await open('a', 6, again + 20, { breakerClosed: true })).toMatchObject({ breakerState: 'closed' });
    expect(await open('b', 6, again + 30, { wantsProbe: true })).toMatchObject({
      breakerState: 'closed',
      probe: false,
    });
  });

  it("a probe's holder that stops renewing (killed) loses it after a participant's TTL", async () => {
    await warm(T0);
    const until = T0 + 3_000;
    await open('a', 1, T0 + 2_000, { breakerOpenUntil: until });
    expect(await open('a', 2, until, { wantsProbe: true })).toMatchObject({ probe: true });
    expect(await open('b', 1, until + TTL_MS - 1, { wantsProbe: true })).toMatchObject({ probe: false });
    expect(await open('b', 2, until + TTL_MS + 1, { wantsProbe: true })).toMatchObject({
      breakerState: 'half-open',
      probe: true,
    });
  });

  it("the headers' remaining is shared: every participant together takes at most what is left, less what was granted since, until the reset", async () => {
    await warm(T0);
    let now = T0 + 2_000;
    // b takes 2 requests, then a's request (sent before b's grants) comes back: 5 left, reset in 20 s.
    const sentAt = now - 100;
    expect((await redis.store.acquire({ ...ask('b', 1, { wantRequests: 2 }), now })).grantedRequests).toBe(2);
    now += 50;
    const reading = { kind: 'requests' as const, remaining: 5, resetAt: now + 20_000, sentAt };
    const first = await redis.store.acquire({
      ...ask('a', 1, { minRequests: 0, wantRequests: 0 }),
      now,
      readings: [reading],
    });
    expect(first.learnedRequests).toBe(3);
    // However they ask, a and b together get 3 before the reset.
    let granted = 0;
    let retryAt = 0;
    for (let i = 0; i < 20; i++) {
      now += 100;
      const who = i % 2 === 0 ? 'a' : 'b';
      const reply = await redis.store.acquire({ ...ask(who, 10 + i, { wantRequests: 4 }), now });
      granted += reply.grantedRequests;
      if (reply.grantedRequests === 0) retryAt = reply.retryAt;
    }
    expect(granted).toBe(3);
    expect(retryAt).toBe(reading.resetAt);
    // An older reading (its request left before the one in force) changes nothing.
    const stale = await redis.store.acquire({
      ...ask('b', 40, { minRequests: 0, wantRequests: 0 }),
      now,
      readings: [{ ...reading, remaining: 100, sentAt: sentAt - 1 }],
    });
    expect(stale.learnedRequests).toBe(0);
    // After the reset the configured budget alone decides again.
    const after = await redis.store.acquire({ ...ask('a', 50, { wantRequests: 4 }), now: reading.resetAt });
    expect(after.grantedRequests).toBe(4);
    expect(after.learnedRequests).toBeUndefined();
  });

  it('a reading with the limit refills toward it by the reset', async () => {
    await warm(T0);
    const now = T0 + 2_000;
    // 0 left of 100, full again in 10 s: 10 per second.
    const reading = {
      kind: 'requests' as const,
      remaining: 0,
      limit: 100,
      resetAt: now + 10_000,
      sentAt: now,
    };
    const first = await redis.store.acquire({ ...ask('a', 1), now, readings: [reading] });
    expect(first.grantedRequests).toBe(0);
    expect(first.retryAt).toBe(now + 100);
    const later = await redis.store.acquire({ ...ask('b', 1, { wantRequests: 50 }), now: now + 1_000 });
    expect(later.grantedRequests).toBe(10);
    // The status script reads the learned bucket as the acquire script keeps it: 10 granted of the
    // 10 refilled by 1 s, 10 more by 2 s; the limit stated; the reset. Tokens: nothing learned.
    expect((await redis.store.status(now + 1_000)).learned).toEqual({
      requests: { remaining: 0, limit: 100, resetAt: now + 10_000 },
    });
    expect((await redis.store.status(now + 2_000)).learned.requests?.remaining).toBeCloseTo(10, 6);
    // After the reset nothing learned is in force.
    expect((await redis.store.status(now + 10_000)).learned).toEqual({});
  });

  it('a reading without a limit holds its remaining flat, and status says no limit was stated', async () => {
    await warm(T0);
    const now = T0 + 2_000;
    const reading = { kind: 'tokens' as const, remaining: 5_000, resetAt: now + 30_000, sentAt: now };
    await redis.store.acquire({
      ...ask('a', 1, { minRequests: 0, wantRequests: 0 }),
      now,
      readings: [reading],
    });
    expect((await redis.store.status(now + 10_000)).learned).toEqual({
      tokens: { remaining: 5_000, resetAt: now + 30_000 },
    });
  });

  it('a participant with no limit configured offers the rate the headers announce: the budget in force', async () => {
    const reply = await redis.store.acquire({
      ...ask('a', 1, { limits: { requestsPerMinute: 1_200 } }),
      now: T0,
    });
    expect(reply.requestsPerMinute).toBe(1_200);
    const other = await redis.store.acquire({ ...ask('b', 1, { limits: {} }), now: T0 });
    expect(other.requestsPerMinute).toBe(1_200);
  });

  describe('wired to rate limiters and breakers, as two processes have them', () => {
    const budgets: SharedBudget[] = [];
    afterAll(async () => {
      await Promise.all(budgets.map((b) => b.close()));
    });

    function participant(breaker?: SharedBreakerListener): SharedBudget {
      const budget = new SharedBudget({
        store: new BudgetStore(redis.client, redis.key),
        url: redis.server.url,
        limits: { requestsPerMinute: 6_000 },
        provider: 'sim',
        clock: systemClock,
        onChange: () => undefined,
        ...(breaker && { breaker }),
      });
      budgets.push(budget);
      return budget;
    }

    /** Grants one request of `limiter` once a lease is there (the budget starts in debt). */
    async function grantOne(limiter: RateLimiterCore, id: string): Promise<void> {
      limiter.enqueue({ id, group: 'g', priority: 0, tokens: 10 });
      await expect.poll(() => limiter.grant().map((g) => g.id), { timeout: 20_000 }).toEqual([id]);
    }

    it("a 429's retry-after met by one process pauses the other's limiter", async () => {
      const a = participant();
      const b = participant();
      const limA = new RateLimiterCore({
        limits: { requestsPerMinute: 6_000 },
        clock: systemClock,
        shared: a,
      });
      const limB = new RateLimiterCore({
        limits: { requestsPerMinute: 6_000 },
        clock: systemClock,
        shared: b,
      });
      await grantOne(limA, 'a1');
      await grantOne(limB, 'b1');
      limB.release('b1', { kind: 'ok', usage: { inputTokens: 5, outputTokens: 5 } });
      const before = Date.now();
      limA.release('a1', { kind: 'rate_limited', retryAfterMs: LONG_MS });
      await expect.poll(() => b.pause(Date.now())?.reason, { timeout: 20_000 }).toBe('rate-limit');
      const pause = b.pause(Date.now())!;
      expect(pause.until).toBeGreaterThanOrEqual(before + LONG_MS - 1_000);
      // b's limiter lets nothing through while it holds, though its own requests never met a 429.
      limB.enqueue({ id: 'b2', group: 'g', priority: 0, tokens: 10 });
      expect(limB.grant()).toEqual([]);
      expect(limB.nextWakeAt()).toBeUndefined();
    });

    it("a breaker opened in one process opens the other's until the same time", async () => {
      const openedElsewhere: number[] = [];
      const a = participant();
      participant({
        opened: (until) => openedElsewhere.push(until),
        closed: () => undefined,
        probeGranted: () => undefined,
      });
      const breakerA = new CircuitBreakerCore(
        { ...DEFAULT_BREAKER_POLICY, coolDownMs: LONG_MS },
        systemClock,
        { onTransition: (t) => (t.to === 'open' ? a.opened(t.at + (t.coolDownMs ?? 0)) : undefined) },
      );
      for (let i = 0; i < DEFAULT_BREAKER_POLICY.consecutiveFailures; i++) breakerA.record('server_error');
      expect(breakerA.state().state).toBe('open');
      const until = breakerA.state().nextProbeAt!;
      await expect.poll(() => openedElsewhere.length, { timeout: 20_000 }).toBe(1);
      expect(Math.abs(openedElsewhere[0]! - until)).toBeLessThan(1_000);
      const breakerB = new CircuitBreakerCore(DEFAULT_BREAKER_POLICY, systemClock);
      breakerB.openElsewhere(openedElsewhere[0]!);
      expect(breakerB.state()).toMatchObject({ state: 'open', reason: 'opened-elsewhere' });
      expect(breakerB.admit()).toBe('wait');
      expect(breakerB.nextProbeAt()).toBe(openedElsewhere[0]);
    });

    it('a process that joins while an outage waits for its probe waits for the outcome too, half-open, then closes with the others', async () => {
      // a's breaker opens for a moment and, half-open, holds the one probe.
      const a = participant();
      const breakerA = new CircuitBreakerCore({ ...DEFAULT_BREAKER_POLICY, coolDownMs: 200 }, systemClock, {
        sharedProbe: a,
        onTransition: (t) => (t.to === 'open' ? a.opened(t.at + (t.coolDownMs ?? 0)) : undefined),
      });
      for (let i = 0; i < DEFAULT_BREAKER_POLICY.consecutiveFailures; i++) breakerA.record('server_error');
      await expect.poll(() => breakerA.admit(), { timeout: 20_000 }).toBe('probe');

      // c starts afterwards, with work to do: its first call finds the outage half-open.
      // c's breaker asks c's budget for the probe; c's budget tells c's breaker the others' news.
      const breakerC = new CircuitBreakerCore(DEFAULT_BREAKER_POLICY, systemClock, {
        sharedProbe: { claimProbe: () => c.claimProbe() },
      });
      const c = participant({
        opened: (until) => breakerC.openElsewhere(until),
        closed: () => breakerC.closeElsewhere(),
        probeGranted: () => undefined,
      });
      const limC = new RateLimiterCore({
        limits: { requestsPerMinute: 6_000 },
        clock: systemClock,
        shared: c,
      });
      limC.enqueue({ id: 'c1', group: 'g', priority: 0, tokens: 10 });
      limC.grant();
      await expect.poll(() => breakerC.state().state, { timeout: 20_000 }).toBe('half-open');
      // The probe is a's: c's breaker, asking the store for it, is told to wait.
      expect(breakerC.admit()).toBe('wait');
      await expect.poll(() => redis.store.status().then((st) => st.participants.length)).toBe(2);
      expect(breakerC.admit()).toBe('wait');

      // a's probes succeed: the outage ends for c too.
      for (let i = 0; i < DEFAULT_BREAKER_POLICY.probesToClose; i++) {
        if (i > 0) await expect.poll(() => breakerA.admit(), { timeout: 20_000 }).toBe('probe');
        breakerA.record('ok', { admission: 'probe' });
      }
      expect(breakerA.state().state).toBe('closed');
      a.closedAfterProbes();
      await expect.poll(() => breakerC.state().state, { timeout: 20_000 }).toBe('closed');
      expect(breakerC.state().reason).toBe('closed-elsewhere');
    });
  });
});
