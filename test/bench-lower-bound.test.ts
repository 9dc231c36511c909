/**
 * The benches' lower bound (bench/lib/lower-bound.ts): the figure every wall ÷ bound target is
 * read against, so each term is checked on the dialects bench's own shapes.
 */
import { describe, expect, it } from 'vitest';
import { lowerBound } from '../bench/lib/lower-bound.js';

const SEED = { turns: 405, maxTurns: 3, latencyMs: 200 };

describe('lowerBound', () => {
  it('is the longest conversation when the provider bucket holds the whole job', () => {
    expect(lowerBound({ ...SEED, requestsPerMinute: 1_200, burst: 1_200 })).toMatchObject({
      ms: 600,
      term: 'T·L',
    });
  });

  it('spends the bucket at once and the rest at the rate: (N − B) / R', () => {
    // Anthropic's minute at 300 a minute: 105 turns at 5 a second.
    expect(lowerBound({ ...SEED, requestsPerMinute: 300, burst: 300 })).toMatchObject({
      ms: 21_000,
      term: '(N−B)/R',
    });
  });

  it('binds on tokens when they bind: (K − Bₖ) / TPM', () => {
    const bound = lowerBound({
      ...SEED,
      requestsPerMinute: 1_200,
      burst: 1_728_000,
      tokens: { total: 60_000, perMinute: 30_000, burst: 30_000 },
    });
    expect(bound).toMatchObject({ ms: 60_000, term: '(K−Bₖ)/TPM' });
  });

  it('holds a configured cap in every 60 s window, whatever the bucket lets through', () => {
    // 405 requests under 300 a minute: the 301st a minute after the first.
    expect(
      lowerBound({ ...SEED, requestsPerMinute: 300, burst: 300, caps: [{ units: 405, perMinute: 300 }] }),
    ).toMatchObject({ ms: 60_000, term: '(⌈U/C⌉−1) min' });
    // Within one minute's cap the cap costs nothing.
    expect(lowerBound({ ...SEED, caps: [{ units: 405, perMinute: 1_200 }] }).terms.cap).toBe(0);
    expect(lowerBound({ ...SEED, caps: [{ units: 600, perMinute: 300 }] }).terms.cap).toBe(60_000);
    expect(lowerBound({ ...SEED, caps: [{ units: 601, perMinute: 300 }] }).terms.cap).toBe(120_000);
  });

  it('takes N / R when no burst is known (a provider that announces nothing)', () => {
    expect(lowerBound({ ...SEED, requestsPerMinute: 1_200 }).ms).toBe(20_250);
  });
});
