import { describe, expect, it } from 'vitest';
import { LeasePool } from '../../src/coordination/lease-pool.js';

const one = { requests: 1, tokens: 100 };

describe('LeasePool', () => {
  it('lets nothing go without a lease, and asks for at least what the head waiter lacks', () => {
    const pool = new LeasePool({ requests: true, tokens: true });
    expect(pool.canTake(one, 0)).toBe(false);
    expect(pool.wish(0, 1)).toEqual({ wantRequests: 1, minRequests: 1, wantTokens: 100, minTokens: 100 });
    pool.add('l1', 2, 250, 500);
    expect(pool.canTake(one, 10)).toBe(true);
    pool.take('r1', one, 10);
    pool.take('r2', one, 10);
    // The lease is empty of requests: what is left of its tokens goes back.
    expect(pool.canTake(one, 10)).toBe(false);
    expect(pool.drainAdjustments(10)).toEqual([{ lease: 'l1', requests: 0, tokens: -50 }]);
  });

  it('gives back what a lease did not use by its use-by time', () => {
    const pool = new LeasePool({ requests: true, tokens: false });
    pool.add('l1', 5, 0, 500);
    pool.take('r1', one, 100);
    expect(pool.drainAdjustments(499)).toEqual([]);
    expect(pool.canTake(one, 500)).toBe(false);
    expect(pool.drainAdjustments(500)).toEqual([{ lease: 'l1', requests: -4, tokens: 0 }]);
  });

  it('reconciles tokens with usage: a refund below the estimate, a debt above it, none for a failure', () => {
    const pool = new LeasePool({ requests: false, tokens: true });
    pool.add('l1', 0, 1_000, 500);
    pool.take('a', { requests: 1, tokens: 300 }, 0);
    pool.take('b', { requests: 1, tokens: 300 }, 0);
    pool.take('c', { requests: 1, tokens: 300 }, 0);
    pool.settle('a', 100);
    pool.settle('b', 350);
    pool.settle('c', undefined);
    expect(pool.drainAdjustments(1)).toEqual([{ lease: 'l1', requests: 0, tokens: -150 }]);
  });

  it('sizes leases from the recent rate, and asks again before running dry', () => {
    const pool = new LeasePool({ requests: true, tokens: false }, { horizonMs: 250, maxRequests: 16 });
    pool.add('l1', 16, 0, 10_000);
    for (let i = 0; i < 14; i++) pool.take(`r${i}`, one, i * 20);
    // 14 requests in the last second: 3.5 per 250 ms → 4; 2 left, fewer than half of 4? No.
    expect(pool.wish(280, 0)).toBeUndefined();
    pool.take('r14', one, 290);
    expect(pool.wish(300, 0)).toEqual({ wantRequests: 4, minRequests: 1, wantTokens: 0, minTokens: 0 });
  });

  it('needs no lease when nothing is shared', () => {
    const pool = new LeasePool({ requests: false, tokens: false });
    expect(pool.canTake(one, 0)).toBe(true);
    pool.take('r', one, 0);
    expect(pool.wish(0, 5)).toBeUndefined();
  });
});
