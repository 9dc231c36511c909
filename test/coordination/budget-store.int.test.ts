/**
 * The shared budget's scripts on a real redis-server, with the time passed in: every decision is
 * checked against the limit without sleeping.
 */
import { describe, expect, it } from 'vitest';
import type { AcquireRequest } from '../../src/coordination/budget-store.js';
import { acquireRequest, useBudgetStores } from '../helpers/budget-store.js';
import { skipWithoutRedis } from '../helpers/redis-server.js';

const T0 = 1_700_000_000_000;
function ask(participant: string, n: number, over: Partial<AcquireRequest> = {}): AcquireRequest {
  return acquireRequest(participant, n, 600, 4, over);
}

describe.skipIf(skipWithoutRedis())('shared budget scripts on redis-server', () => {
  const redis = useBudgetStores('test');

  it('starts a new budget in debt of one burst and one lease use time, then grants at the rate', async () => {
    const first = await redis.store.acquire({ ...ask('a', 1), now: T0 });
    expect(first.fresh).toBe(true);
    expect(first.grantedRequests).toBe(0);
    // 600/min: 0.01 per ms, burst 5, use 500 ms: level -10, one request at +1 100 ms.
    expect(first.retryAt).toBe(T0 + 1_100);
    const second = await redis.store.acquire({ ...ask('a', 2), now: T0 + 1_100 });
    expect(second.fresh).toBe(false);
    expect(second.grantedRequests).toBe(1);
    const later = await redis.store.acquire({ ...ask('a', 3, { wantRequests: 50 }), now: T0 + 10_000 });
    // Never more than a burst at once, however long it was idle.
    expect(later.grantedRequests).toBe(5);
    expect(later.requestsPerMinute).toBe(600);
  });

  it('never lets two participants exceed the limit in any window', async () => {
    const grants: { at: number; n: number }[] = [];
    let now = T0;
    for (let i = 0; i < 2_000; i++) {
      now += (i * 7919) % 67; // uneven gaps, 0-66 ms
      const who = i % 3 === 0 ? 'a' : 'b';
      const reply = await redis.store.acquire({ ...ask(who, i, { wantRequests: 1 + (i % 6) }), now });
      if (reply.grantedRequests > 0) grants.push({ at: now, n: reply.grantedRequests });
    }
    expect(now - T0).toBeGreaterThan(60_000);
    // Every window of a minute plus the use time (when a lease's units may still go) holds ≤ 600.
    for (const start of grants) {
      const sum = grants
        .filter((g) => g.at >= start.at && g.at < start.at + 60_500)
        .reduce((s, g) => s + g.n, 0);
      expect(sum).toBeLessThanOrEqual(600);
    }
    // And every half second at most a burst (5) plus its refill (5).
    for (const start of grants) {
      const sum = grants
        .filter((g) => g.at >= start.at && g.at < start.at + 500)
        .reduce((s, g) => s + g.n, 0);
      expect(sum).toBeLessThanOrEqual(10);
    }
    // It still went at the rate: at least 10 per second after the first debt.
    const total = grants.reduce((s, g) => s + g.n, 0);
    expect(total).toBeGreaterThanOrEqual(Math.floor(((now - T0 - 1_100) / 1000) * 10 * 0.95));
  });

  it('takes back what a lease did not use and charges a token debt', async () => {
    const tokens = { limits: { tokensPerMinute: 6_000 }, minRequests: 0, wantRequests: 0 };
    await redis.store.acquire({ ...ask('a', 1), ...tokens, minTokens: 1, wantTokens: 1, now: T0 });
    const full = await redis.store.acquire({
      ...ask('a', 2),
      ...tokens,
      minTokens: 50,
      wantTokens: 50,
      now: T0 + 60_000,
    });
    expect(full.grantedTokens).toBe(50);
    const empty = await redis.store.acquire({
      ...ask('a', 3),
      ...tokens,
      minTokens: 10,
      wantTokens: 10,
      now: T0 + 60_000,
    });
    expect(empty.grantedTokens).toBe(0);
    // 40 of the 50 were not used: they come back at once.
    const refunded = await redis.store.acquire({
      ...ask('a', 4),
      ...tokens,
      minTokens: 40,
      wantTokens: 40,
      adjustments: [{ lease: 'a#2', requests: 0, tokens: -40 }],
      now: T0 + 60_000,
    });
    expect(refunded.grantedTokens).toBe(40);
    // A refund naming a lease the store does not know (lost with its state) gives nothing back.
    const unknown = await redis.store.acquire({
      ...ask('a', 5),
      ...tokens,
      minTokens: 10,
      wantTokens: 10,
      adjustments: [{ lease: 'a#999', requests: 0, tokens: -1_000 }],
      now: T0 + 60_000,
    });
    expect(unknown.grantedTokens).toBe(0);
  });

  it('shares concurrency slots fairly and takes back those of a participant that stopped calling', async () => {
    const conc = { limits: { maxConcurrency: 4 }, minRequests: 0, wantRequests: 0 };
    // A new state holds slots back for one TTL: live participants may not have said what they hold.
    const early = await redis.store.acquire({ ...ask('a', 1), ...conc, slotsWanted: 4, now: T0 });
    expect(early.slots).toBe(0);
    let now = T0 + 3_000;
    const a = await redis.store.acquire({ ...ask('a', 2), ...conc, slotsWanted: 4, now });
    expect(a.slots).toBe(4);
    const b = await redis.store.acquire({ ...ask('b', 1), ...conc, slotsWanted: 2, now });
    expect(b.slots).toBe(0);
    // b is starving: a shrinks to its fair share, keeping what it has in use.
    const a2 = await redis.store.acquire({ ...ask('a', 3), ...conc, slotsWanted: 4, slotsInUse: 1, now });
    expect(a2.slots).toBe(2);
    const b2 = await redis.store.acquire({ ...ask('b', 2), ...conc, slotsWanted: 2, now });
    expect(b2.slots).toBe(2);
    // a is killed: it never calls again. Within its TTL b gets no more; after it, all four.
    now += 2_999;
    expect(
      (await redis.store.acquire({ ...ask('b', 3), ...conc, slotsWanted: 4, slotsInUse: 2, now })).slots,
    ).toBe(2);
    now += 3_001;
    expect(
      (await redis.store.acquire({ ...ask('b', 4), ...conc, slotsWanted: 4, slotsInUse: 2, now })).slots,
    ).toBe(4);
  });

  it('shows the participants, the budget in force and each one’s share', async () => {
    const info = (pid: number) => ({ host: 'h1', pid, provider: 'sim', jobs: [`job-${pid}`] });
    await redis.store.acquire({ ...ask('a', 1), info: info(1), limits: { requestsPerMinute: 600 }, now: T0 });
    await redis.store.acquire({ ...ask('b', 1), info: info(2), limits: { requestsPerMinute: 300 }, now: T0 });
    let now = T0 + 10_000;
    // Both were silent longer than their TTL: the store forgot them, and asks for their info again.
    const a = await redis.store.acquire({ ...ask('a', 2, { wantRequests: 3 }), now });
    expect(a.needsInfo).toBe(true);
    await redis.store.acquire({ ...ask('a', 3, { wantRequests: 0, minRequests: 0 }), info: info(1), now });
    now += 1_000;
    await redis.store.acquire({
      ...ask('b', 2, { wantRequests: 1 }),
      info: info(2),
      limits: { requestsPerMinute: 300 },
      now,
    });
    const status = await redis.store.status(now);
    expect(status.requestsPerMinute).toBe(300);
    expect(status.participants.map((p) => [p.id, p.info?.pid, p.requests])).toEqual([
      ['a', 1, 3],
      ['b', 2, 1],
    ]);
    expect(status.requests).toBe(4);
  });

  it('after the store lost its data, starts over in debt, never with a full budget', async () => {
    await redis.store.acquire({ ...ask('a', 1), now: T0 });
    const before = await redis.store.acquire({ ...ask('a', 2), now: T0 + 30_000 });
    expect(before.grantedRequests).toBe(4);
    await redis.server.stop();
    await redis.server.start();
    await expect
      .poll(
        () =>
          redis.client.check().then(
            () => true,
            () => false,
          ),
        { timeout: 10_000 },
      )
      .toBe(true);
    const after = await redis.store.acquire({ ...ask('a', 3), now: T0 + 30_001 });
    expect(after.fresh).toBe(true);
    expect(after.epoch).not.toBe(before.epoch);
    expect(after.grantedRequests).toBe(0);
  });
});
