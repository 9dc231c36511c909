import { describe, expect, it } from 'vitest';
import { AdaptiveConcurrency } from '../../src/resilience/adaptive-concurrency.js';
import { INITIAL_ADAPTIVE_CONCURRENCY } from '../../src/resilience/defaults.js';

describe('AdaptiveConcurrency', () => {
  it('starts at the initial window', () => {
    expect(new AdaptiveConcurrency().limit).toBe(INITIAL_ADAPTIVE_CONCURRENCY);
  });

  it('doubles per window of successes from a full window until the first rate limit', () => {
    const window = new AdaptiveConcurrency({ initial: 4, max: 20 });
    expect(window.inSlowStart).toBe(true);
    const limits: number[] = [];
    for (let seq = 1; seq <= 18; seq++) {
      window.succeeded(seq, true);
      limits.push(window.limit);
    }
    // 4 successes: 8; 8 more: 16; then the cap.
    expect(limits[3]).toBe(8);
    expect(limits[11]).toBe(16);
    expect(limits.at(-1)).toBe(20);
    // Successes from a window that was not full say nothing.
    const idle = new AdaptiveConcurrency({ initial: 4 });
    for (let seq = 1; seq <= 10; seq++) idle.succeeded(seq, false);
    expect(idle.limit).toBe(4);
  });

  it('opens at once to the requests a provider announces, up to the max, while in slow start', () => {
    const window = new AdaptiveConcurrency({ initial: 8, max: 256 });
    window.announced(100);
    expect(window.limit).toBe(100);
    window.announced(5_000);
    expect(window.limit).toBe(256);
    window.announced(3);
    expect(window.limit).toBe(256);
    window.rateLimited(1, 1);
    window.announced(5_000);
    expect(window.limit).toBe(128);
  });

  it('opens to the max while in slow start when the provider publishes no budget; not after a rate limit', () => {
    const window = new AdaptiveConcurrency({ initial: 8, max: 64 });
    window.noBudgetAnnounced();
    expect(window.limit).toBe(64);
    const refused = new AdaptiveConcurrency({ initial: 8, max: 64 });
    refused.rateLimited(1, 1);
    refused.noBudgetAnnounced();
    expect(refused.limit).toBe(4);
  });

  it('leaves slow start at the first rate limit: halves, then adds one per window of successes', () => {
    const window = new AdaptiveConcurrency({ initial: 6, max: 5 });
    expect(window.rateLimited(1, 1)).toBe(true);
    expect(window.inSlowStart).toBe(false);
    let seq = 1;
    const limits: number[] = [];
    for (let i = 0; i < 14; i++) {
      window.succeeded(++seq, true);
      limits.push(window.limit);
    }
    expect(limits).toEqual([3, 3, 4, 4, 4, 4, 5, 5, 5, 5, 5, 5, 5, 5]);
    window.succeeded(++seq, false);
    expect(window.limit).toBe(5);
  });

  it('halves once per overload, down to the floor', () => {
    const window = new AdaptiveConcurrency({ initial: 16, min: 2 });
    // Grants 1..10 are out; all come back 429.
    expect(window.rateLimited(3, 10)).toBe(true);
    for (const seq of [1, 2, 4, 10]) expect(window.rateLimited(seq, 10)).toBe(false);
    expect(window.limit).toBe(8);
    expect(window.rateLimited(11, 12)).toBe(true);
    expect(window.rateLimited(13, 13)).toBe(true);
    expect(window.rateLimited(14, 14)).toBe(true);
    expect(window.limit).toBe(2);
  });

  it('ignores successes of requests sent before the last decrease', () => {
    const window = new AdaptiveConcurrency({ initial: 2 });
    window.rateLimited(5, 10);
    expect(window.limit).toBe(1);
    window.succeeded(9, true);
    expect(window.limit).toBe(1);
    window.succeeded(11, true);
    expect(window.limit).toBe(2);
  });
});
