import { describe, expect, it } from 'vitest';
import {
  finishTests,
  addBinaryPair,
  binaryPairCounts,
  type PendingTest,
} from '../../src/scoring/paired-comparison.js';
import {
  logGamma,
  mcnemarExactPValue,
  meanDifference,
  normalCdf,
  normalQuantile,
  pairedProportionDifference,
  studentCritical,
  wilcoxonSignedRank,
} from '../../src/scoring/significance.js';

// Reference values from SciPy 1.17: stats.binomtest, stats.wilcoxon, stats.t.ppf, stats.norm.
describe('the distributions', () => {
  it('matches SciPy for Φ, Φ⁻¹, Student t critical values and ln Γ', () => {
    expect(normalCdf(1.234)).toBeCloseTo(0.8913985478784756, 6);
    expect(normalCdf(-2.5)).toBeCloseTo(0.006209665325776132, 6);
    expect(normalQuantile(0.975)).toBeCloseTo(1.959963984540054, 7);
    expect(normalQuantile(0.01)).toBeCloseTo(-2.3263478740408408, 7);
    expect(normalQuantile(1 - 0.05 / 6 / 2)).toBeCloseTo(2.638257273476751, 7);
    expect(studentCritical(0.95, 4)).toBeCloseTo(2.7764451051977934, 6);
    expect(studentCritical(0.95, 29)).toBeCloseTo(2.045229642132703, 6);
    expect(studentCritical(1 - 0.05 / 3, 7)).toBeCloseTo(3.1275522742463706, 6);
    expect(studentCritical(0.99, 100)).toBeCloseTo(2.6258905214380173, 6);
    expect(logGamma(10.5)).toBeCloseTo(13.940625219403763, 10);
  });
});

describe("McNemar's exact test", () => {
  it('is the two-sided binomial test of the discordant pairs (SciPy binomtest)', () => {
    expect(mcnemarExactPValue(0, 0)).toBe(1);
    expect(mcnemarExactPValue(1, 0)).toBe(1);
    expect(mcnemarExactPValue(3, 3)).toBe(1);
    expect(mcnemarExactPValue(0, 6)).toBeCloseTo(0.03125, 12);
    expect(mcnemarExactPValue(2, 9)).toBeCloseTo(0.0654296875, 10);
    expect(mcnemarExactPValue(10, 25)).toBeCloseTo(0.016673847800120715, 10);
    expect(mcnemarExactPValue(150, 200)).toBeCloseTo(0.008720036530555947, 9);
    expect(mcnemarExactPValue(1000, 1100)).toBeCloseTo(0.03072070786424249, 8);
  });

  it('by hand: 0 against 6 discordant pairs is 2 · ½⁶', () => {
    expect(mcnemarExactPValue(6, 0)).toBe(2 / 64);
  });

  it('gives the change of the paired proportion with its Wald interval', () => {
    // 2 pass→fail, 9 fail→pass of 40: +7/40; se = √(11 − 49/40) / 40.
    const r = pairedProportionDifference(2, 9, 40, 0.95);
    const half = (1.959963984540054 * Math.sqrt(11 - 49 / 40)) / 40;
    expect(r.effect).toBeCloseTo(7 / 40, 12);
    expect(r.low).toBeCloseTo(7 / 40 - half, 7);
    expect(r.high).toBeCloseTo(7 / 40 + half, 7);
  });
});

describe('the Wilcoxon signed-rank test', () => {
  it('is exact without ties (SciPy method="exact")', () => {
    const d = [1.5, -0.25, 2.0, 3.25, 0.75, 4.5, -1.0, 2.75];
    const r = wilcoxonSignedRank(d);
    expect(r.method).toBe('exact');
    // Ranks of |d|: 0.25→1, 0.75→2, 1→3, 1.5→4, 2→5, 2.75→6, 3.25→7, 4.5→8; negatives 1 and 3.
    expect(r.wPlus).toBe(36 - 4);
    expect(r.pValue).toBeCloseTo(0.0546875, 12);
  });

  it('by hand: five positive differences give 2 / 2⁵', () => {
    expect(wilcoxonSignedRank([1, 2, 3, 4, 5]).pValue).toBe(2 / 32);
    // Zeros are dropped: the same five and three zeros.
    expect(wilcoxonSignedRank([0, 1, 2, 0, 3, 4, 5, 0]).pValue).toBe(2 / 32);
    expect(wilcoxonSignedRank([0, 0]).pValue).toBe(1);
  });

  it('uses the normal approximation with tie and continuity corrections (SciPy correction=True)', () => {
    const ties = [2.0, 2.0, 2.0, -1.0, 3.0, 1.0, 2.0, 4.0, -1.0, 2.5, 0.5, 1.5];
    const r = wilcoxonSignedRank(ties);
    expect(r.method).toBe('normal');
    expect(r.pValue).toBeCloseTo(0.010366755320601776, 6);
    // 60 pairs (seeded normal draws rounded to 0.01, with ties).
    const many = [
      0.3, 0.6, 0.03, -0.59, -0.15, -0.69, 0.36, 1.64, -0.19, -0.32, 0.79, 0.66, 0.41, -0.63, 0.27, 1.0,
      -1.04, -0.16, -1.6, -0.99, -1.54, 0.06, -0.97, 0.57, 0.46, 0.11, -2.22, -0.24, 0.25, 0.41, -1.23, -0.18,
      -0.68, -0.51, 1.36, -0.51, 0.27, 1.18, -0.28, 0.19, 0.41, 0.36, -0.93, 0.38, 1.66, -1.25, 1.16, 0.42,
      -0.34, 2.3, 1.06, -0.9, 0.37, 0.88, 0.11, 0.98, 0.23, 0.97, 1.74, -0.38,
    ];
    expect(wilcoxonSignedRank(many).pValue).toBeCloseTo(0.37700653957970987, 6);
  });

  it('gives the mean difference with its t interval', () => {
    const r = meanDifference([1.5, -0.25, 2.0, 3.25, 0.75, 4.5, -1.0, 2.75], 0.95);
    expect(r.effect).toBeCloseTo(1.6875, 12);
    expect(r.low).toBeCloseTo(0.15671885161333066, 6);
    expect(r.high).toBeCloseTo(3.2182811483866693, 6);
  });
});

describe('the corrected comparison', () => {
  const counts = (trueToFalse: number, falseToTrue: number, same: number) => {
    const c = binaryPairCounts();
    for (let i = 0; i < trueToFalse; i += 1) addBinaryPair(c, true, false);
    for (let i = 0; i < falseToTrue; i += 1) addBinaryPair(c, false, true);
    for (let i = 0; i < same; i += 1) addBinaryPair(c, i % 2 === 0, i % 2 === 0);
    return c;
  };

  it('multiplies each p-value by the number of tests and widens the intervals to match', () => {
    const pending: PendingTest[] = [
      { kind: 'mcnemar', counts: counts(0, 6, 10), higherIsBetter: true },
      { kind: 'mcnemar', counts: counts(0, 8, 10), higherIsBetter: true },
      { kind: 'wilcoxon', differences: [1] }, // one sequence: not testable
      { kind: 'mcnemar', counts: counts(0, 0, 10), higherIsBetter: true }, // no discordant pair: not testable
    ];
    const [six, eight, one, none] = finishTests(pending);
    expect(one).toBeNull();
    expect(none).toBeNull();
    // 2 tests: 0.03125 · 2 = 0.0625 is not significant; 2 / 2⁸ · 2 = 0.015625 is.
    expect(six).toMatchObject({ comparisons: 2, level: 0.975 });
    expect(six?.pValue).toBeCloseTo(0.03125, 12);
    expect(six?.adjustedPValue).toBeCloseTo(0.0625, 12);
    expect(six?.verdict).toBe('no significant difference');
    expect(eight).toMatchObject({ verdict: 'better', pairs: 18 });
    expect(eight?.adjustedPValue).toBeCloseTo(2 / 128, 12);
    expect(eight?.effect).toBeCloseTo(8 / 18, 12);
    const half = (normalQuantile(1 - 0.025 / 2) * Math.sqrt(8 - 64 / 18)) / 18;
    expect(eight?.low).toBeCloseTo(8 / 18 - half, 7);
  });

  it('says worse for more failed turns, and for lower scores', () => {
    const [failures, scores] = finishTests([
      { kind: 'mcnemar', counts: counts(0, 9, 0), higherIsBetter: false },
      { kind: 'wilcoxon', differences: [-1, -2, -3, -4, -5, -6, -7] },
    ]);
    expect(failures?.verdict).toBe('worse');
    expect(failures?.effect).toBe(1);
    expect(scores?.verdict).toBe('worse');
    expect(scores?.method).toBe('wilcoxon-signed-rank');
    expect(scores?.pValue).toBe(2 / 128);
  });
});
