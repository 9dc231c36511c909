import { describe, expect, it } from 'vitest';
import { AdaptiveConcurrency } from '../../src/resilience/adaptive-concurrency.js';
import { INITIAL_ADAPTIVE_CONCURRENCY } from '../../src/resilience/defaults.js';

describe('AdaptiveConcurrency', () => {
  it('starts at the initial window', () => {
    expect(new AdaptiveConcurrency().limit).toBe(INITIAL_ADAPTIVE_CONCURRENCY);
  });

  it('adds one per window of successes from a full window', () => {
    const window = new AdaptiveConcurrency({ initial: 3, max: 5 });
    let seq = 0;
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
