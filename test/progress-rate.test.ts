import { describe, expect, it } from 'vitest';
import { RateEstimator } from '../src/progress/rate.js';

describe('throughput estimate', () => {
  it('gives the rate and ETA of a steady count', () => {
    const rate = new RateEstimator(30_000);
    for (let ms = 0; ms <= 10_000; ms += 10) rate.record(ms, ms / 10);
    expect(rate.perSecond(10_000)).toBeCloseTo(100, 5);
    expect(rate.etaSeconds(10_000, 2_000)).toBeCloseTo(10, 5);
  });

  it('follows the last window only', () => {
    const rate = new RateEstimator(1_000);
    let done = 0;
    for (let ms = 0; ms <= 5_000; ms += 1) {
      done += ms < 3_000 ? 10 : 1;
      rate.record(ms, done);
    }
    // 1 a ms over the last second, not the 10 a ms before it.
    expect(rate.perSecond(5_000)).toBeGreaterThan(900);
    expect(rate.perSecond(5_000)).toBeLessThan(1_100);
  });

  it('keeps a bounded number of samples however many reports it gets', () => {
    const rate = new RateEstimator(30_000);
    for (let i = 0; i < 200_000; i += 1) rate.record(i / 10, i);
    expect((rate as unknown as { samples: unknown[] }).samples.length).toBeLessThanOrEqual(102);
  });
});
