import { describe, expect, it } from 'vitest';
import { backoffCeilingMs, backoffDelayMs } from '../../src/resilience/backoff.js';
import { DEFAULT_RETRY_POLICY } from '../../src/resilience/defaults.js';
import { seededRandom } from '../../src/simulator/random.js';

const policy = { baseDelayMs: 500, maxDelayMs: 30_000 };

describe('backoff', () => {
  it('doubles the ceiling per attempt up to the cap', () => {
    expect([1, 2, 3, 4, 5, 6, 7, 8].map((attempt) => backoffCeilingMs(attempt, policy))).toEqual([
      500, 1_000, 2_000, 4_000, 8_000, 16_000, 30_000, 30_000,
    ]);
    expect(backoffCeilingMs(10_000, policy)).toBe(30_000);
    expect(backoffCeilingMs(0, policy)).toBe(500);
  });

  it('jitters fully between 0 and the ceiling', () => {
    expect(backoffDelayMs(3, policy, () => 0)).toBe(0);
    expect(backoffDelayMs(3, policy, () => 0.5)).toBe(1_000);
    expect(backoffDelayMs(3, policy, () => 0.999_999)).toBe(1_999);
  });

  it('stays within bounds and spreads out over many draws', () => {
    const random = seededRandom(7);
    for (let attempt = 1; attempt <= 10; attempt++) {
      const ceiling = backoffCeilingMs(attempt, DEFAULT_RETRY_POLICY);
      const delays = Array.from({ length: 2_000 }, () =>
        backoffDelayMs(attempt, DEFAULT_RETRY_POLICY, random),
      );
      expect(Math.min(...delays)).toBeGreaterThanOrEqual(0);
      expect(Math.max(...delays)).toBeLessThan(ceiling);
      const mean = delays.reduce((a, b) => a + b, 0) / delays.length;
      expect(mean / ceiling).toBeGreaterThan(0.45);
      expect(mean / ceiling).toBeLessThan(0.55);
      expect(new Set(delays).size).toBeGreaterThan(ceiling < 2_000 ? ceiling / 4 : 1_000);
    }
  });
});
