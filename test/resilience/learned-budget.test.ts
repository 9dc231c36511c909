import { describe, expect, it } from 'vitest';
import { LearnedBudget } from '../../src/resilience/learned-budget.js';

/** How long a `remaining` without a reset holds, in ms. */
const HOLDS_MS = 60_000;

describe('LearnedBudget', () => {
  it('refills linearly from remaining to limit by the reset time', () => {
    const budget = LearnedBudget.fromReading(
      { limit: 100, remaining: 0, resetAtMs: 10_000 },
      0,
      0,
      HOLDS_MS,
    )!;
    expect(budget.availableAt(1, 0)).toBe(100);
    expect(budget.availableAt(50, 0)).toBe(5_000);
    budget.take(1, 100);
    expect(budget.availableAt(1, 100)).toBe(200);
  });

  it('discounts what was sent after the request that carried the header', () => {
    const budget = LearnedBudget.fromReading(
      { limit: 100, remaining: 5, resetAtMs: 10_000 },
      3,
      0,
      HOLDS_MS,
    )!;
    expect(budget.availableAt(2, 0)).toBe(0);
    // One unit short, refilling at (100 - 5) per 10 s.
    expect(budget.availableAt(3, 0)).toBe(Math.ceil(1 / (95 / 10_000)));
  });

  it('holds remaining flat until the reset when the limit is unknown', () => {
    const budget = LearnedBudget.fromReading({ remaining: 2, resetAtMs: 5_000 }, 0, 0, HOLDS_MS)!;
    budget.take(2, 0);
    expect(budget.availableAt(1, 10)).toBe(5_000);
    expect(budget.expired(4_999)).toBe(false);
    expect(budget.expired(5_000)).toBe(true);
  });

  it('assumes a minute when there is no reset, and nothing without remaining or after the reset', () => {
    const budget = LearnedBudget.fromReading({ remaining: 0 }, 0, 1_000, HOLDS_MS)!;
    expect(budget.expiresAt).toBe(1_000 + HOLDS_MS);
    expect(LearnedBudget.fromReading({ limit: 5, resetAtMs: 9_000 }, 0, 0, HOLDS_MS)).toBeUndefined();
    expect(LearnedBudget.fromReading({ remaining: 0, resetAtMs: 9_000 }, 0, 9_000, HOLDS_MS)).toBeUndefined();
  });

  it('reconciles', () => {
    const budget = LearnedBudget.fromReading(
      { limit: 1_000, remaining: 100, resetAtMs: 1_000_000 },
      0,
      0,
      HOLDS_MS,
    )!;
    budget.take(100, 0);
    budget.adjust(-60, 0);
    expect(budget.availableAt(60, 0)).toBe(0);
    budget.adjust(+160, 0);
    expect(budget.availableAt(1, 0)).toBeGreaterThan(0);
  });
});
