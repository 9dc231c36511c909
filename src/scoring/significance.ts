/**
 * The paired tests `troupe compare` uses to tell a real difference between two jobs from noise,
 * and the distributions they need. Pure functions of numbers; checked in the tests against SciPy.
 *
 * - Pass rates (and failed turns): McNemar's exact test on the discordant pairs — a check that
 *   passed in one job and failed in the other — which is a two-sided binomial test at p = ½.
 * - Judge scores: the Wilcoxon signed-rank test over the per-sequence differences (exact below
 *   `EXACT_WILCOXON_MAX_PAIRS` pairs without tied magnitudes, else the normal approximation with
 *   the tie and continuity corrections, as R's `wilcox.test` does).
 */

/** A p-value above which nothing is told; 95 % two-sided. */
export const ALPHA = 0.05;

/** Up to this many discordant pairs the binomial terms are computed directly (2⁻ⁿ stays a normal double). */
const EXACT_BINOMIAL_MAX_PAIRS = 1000;

/** Up to this many non-zero differences with no ties, the signed-rank p-value is exact. */
export const EXACT_WILCOXON_MAX_PAIRS = 50;

/** Iterations of the bisection that inverts Student's t distribution (each halves a 0–1000 range). */
const T_QUANTILE_ITERATIONS = 100;
const T_QUANTILE_MAX = 1000;

/** ln Γ(x) for x > 0 (Lanczos, g = 7, 9 terms; relative error below 1e-13). */
export function logGamma(x: number): number {
  const g = 7;
  const c = [
    0.99999999999980993, 676.5203681218851, -1259.1392167224028, 771.32342877765313, -176.61502916214059,
    12.507343278686905, -0.13857109526572012, 9.9843695780195716e-6, 1.5056327351493116e-7,
  ];
  if (x < 0.5) return Math.log(Math.PI / Math.sin(Math.PI * x)) - logGamma(1 - x);
  const y = x - 1;
  let a = c[0] ?? 0;
  const t = y + g + 0.5;
  for (let i = 1; i < g + 2; i += 1) a += (c[i] ?? 0) / (y + i);
  return 0.5 * Math.log(2 * Math.PI) + (y + 0.5) * Math.log(t) - t + Math.log(a);
}

/** Coefficients of Numerical Recipes' Chebyshev fit of erfc, lowest power first. */
const ERFC_FIT = [
  -1.26551223, 1.00002368, 0.37409196, 0.09678418, -0.18628806, 0.27886807, -1.13520398, 1.48851587,
  -0.82215223, 0.17087277,
];

/** The complementary error function, erfc(x) (relative error below 1.2e-7). */
function erfc(x: number): number {
  const z = Math.abs(x);
  const t = 1 / (1 + 0.5 * z);
  const poly = ERFC_FIT.reduceRight((acc, coefficient) => coefficient + t * acc, 0);
  const r = t * Math.exp(-z * z + poly);
  return x >= 0 ? r : 2 - r;
}

/** The standard normal distribution function Φ(z). */
export function normalCdf(z: number): number {
  return 0.5 * erfc(-z / Math.SQRT2);
}

/** The standard normal quantile Φ⁻¹(p), 0 < p < 1 (Acklam's rational approximation, relative error 1.2e-9). */
export function normalQuantile(p: number): number {
  const a = [
    -39.69683028665376, 220.9460984245205, -275.9285104469687, 138.357751867269, -30.66479806614716,
    2.506628277459239,
  ];
  const b = [
    -54.47609879822406, 161.5858368580409, -155.6989798598866, 66.80131188771972, -13.28068155288572,
  ];
  const c = [
    -0.007784894002430293, -0.3223964580411365, -2.400758277161838, -2.549732539343734, 4.374664141464968,
    2.938163982698783,
  ];
  const d = [0.007784695709041462, 0.3224671290700398, 2.445134137142996, 3.754408661907416];
  const low = 0.02425;
  const at = (list: readonly number[], i: number): number => list[i] ?? 0;
  const tail = (q: number): number =>
    (((((at(c, 0) * q + at(c, 1)) * q + at(c, 2)) * q + at(c, 3)) * q + at(c, 4)) * q + at(c, 5)) /
    ((((at(d, 0) * q + at(d, 1)) * q + at(d, 2)) * q + at(d, 3)) * q + 1);
  if (p < low) return tail(Math.sqrt(-2 * Math.log(p)));
  if (p > 1 - low) return -tail(Math.sqrt(-2 * Math.log(1 - p)));
  const q = p - 0.5;
  const r = q * q;
  return (
    ((((((at(a, 0) * r + at(a, 1)) * r + at(a, 2)) * r + at(a, 3)) * r + at(a, 4)) * r + at(a, 5)) * q) /
    (((((at(b, 0) * r + at(b, 1)) * r + at(b, 2)) * r + at(b, 3)) * r + at(b, 4)) * r + 1)
  );
}

/** The continued fraction of the incomplete beta function (modified Lentz). */
function betaContinuedFraction(a: number, b: number, x: number): number {
  const tiny = 1e-300;
  const maxIterations = 300;
  let c = 1;
  let d = 1 - ((a + b) * x) / (a + 1);
  if (Math.abs(d) < tiny) d = tiny;
  d = 1 / d;
  let h = d;
  for (let m = 1; m <= maxIterations; m += 1) {
    const m2 = 2 * m;
    let aa = (m * (b - m) * x) / ((a + m2 - 1) * (a + m2));
    d = 1 + aa * d;
    if (Math.abs(d) < tiny) d = tiny;
    c = 1 + aa / c;
    if (Math.abs(c) < tiny) c = tiny;
    d = 1 / d;
    h *= d * c;
    aa = (-(a + m) * (a + b + m) * x) / ((a + m2) * (a + m2 + 1));
    d = 1 + aa * d;
    if (Math.abs(d) < tiny) d = tiny;
    c = 1 + aa / c;
    if (Math.abs(c) < tiny) c = tiny;
    d = 1 / d;
    const delta = d * c;
    h *= delta;
    if (Math.abs(delta - 1) < 1e-15) break;
  }
  return h;
}

/** The regularized incomplete beta function I_x(a, b). */
function incompleteBeta(x: number, a: number, b: number): number {
  if (x <= 0) return 0;
  if (x >= 1) return 1;
  const front = Math.exp(logGamma(a + b) - logGamma(a) - logGamma(b) + a * Math.log(x) + b * Math.log(1 - x));
  return x < (a + 1) / (a + b + 2)
    ? (front * betaContinuedFraction(a, b, x)) / a
    : 1 - (front * betaContinuedFraction(b, a, 1 - x)) / b;
}

/** P(|T| > t) for Student's t with `df` degrees of freedom, t ≥ 0. */
function studentTwoSidedTail(t: number, df: number): number {
  return incompleteBeta(df / (df + t * t), df / 2, 0.5);
}

/** The two-sided critical value of Student's t: the t with P(|T| > t) = 1 − level. */
export function studentCritical(level: number, df: number): number {
  const tail = 1 - level;
  let low = 0;
  let high = T_QUANTILE_MAX;
  for (let i = 0; i < T_QUANTILE_ITERATIONS; i += 1) {
    const mid = (low + high) / 2;
    if (studentTwoSidedTail(mid, df) > tail) low = mid;
    else high = mid;
  }
  return (low + high) / 2;
}

/**
 * McNemar's exact test: with `b` pairs that went from pass to fail and `c` from fail to pass,
 * the two-sided p-value of the binomial test of min(b, c) out of b + c at p = ½. 1 when no pair
 * is discordant.
 */
export function mcnemarExactPValue(b: number, c: number): number {
  const n = b + c;
  if (n === 0) return 1;
  const k = Math.min(b, c);
  let sum = 0;
  if (n <= EXACT_BINOMIAL_MAX_PAIRS) {
    // C(n, i) / 2ⁿ by recurrence: exact for small n, where p-values are read to the last digit.
    let term = 2 ** -n;
    for (let i = 0; i <= k; i += 1) {
      sum += term;
      term = (term * (n - i)) / (i + 1);
    }
  } else {
    // 2⁻ⁿ underflows beyond 1 074 pairs: each term in logarithms instead.
    const logChooseN = logGamma(n + 1) - n * Math.LN2;
    for (let i = 0; i <= k; i += 1) sum += Math.exp(logChooseN - logGamma(i + 1) - logGamma(n - i + 1));
  }
  return Math.min(1, 2 * sum);
}

/** The outcome of a signed-rank test. */
export interface SignedRankResult {
  /** Non-zero differences ranked (zeros are dropped, Wilcoxon's way). */
  readonly n: number;
  /** Sum of the ranks of the positive differences. */
  readonly wPlus: number;
  readonly pValue: number;
  /** `exact` from the null distribution, or `normal` approximation (ties, or many pairs). */
  readonly method: 'exact' | 'normal';
}

/** Average ranks (1-based) of `values`, ties sharing the mean of their positions; and the tie groups' sizes. */
function averageRanks(values: readonly number[]): { ranks: number[]; tieSizes: number[] } {
  const order = values.map((v, i) => ({ v, i })).sort((x, y) => x.v - y.v);
  const ranks = new Array<number>(values.length).fill(0);
  const tieSizes: number[] = [];
  let start = 0;
  while (start < order.length) {
    let end = start;
    while (end + 1 < order.length && order[end + 1]?.v === order[start]?.v) end += 1;
    const rank = (start + end) / 2 + 1;
    for (let j = start; j <= end; j += 1) ranks[order[j]?.i ?? 0] = rank;
    if (end > start) tieSizes.push(end - start + 1);
    start = end + 1;
  }
  return { ranks, tieSizes };
}

/** Differences whose magnitude is below this are zero (rounding of means). */
const ZERO_DIFFERENCE = 1e-9;

/**
 * The Wilcoxon signed-rank test of paired `differences` (after − before), two-sided. Zeros are
 * dropped; exact when at most `EXACT_WILCOXON_MAX_PAIRS` remain and no magnitudes tie, otherwise
 * the normal approximation with the tie correction of the variance and a continuity correction.
 */
export function wilcoxonSignedRank(differences: readonly number[]): SignedRankResult {
  const nonZero = differences.filter((d) => Math.abs(d) > ZERO_DIFFERENCE);
  const n = nonZero.length;
  if (n === 0) return { n, wPlus: 0, pValue: 1, method: 'exact' };
  const { ranks, tieSizes } = averageRanks(nonZero.map(Math.abs));
  const wPlus = nonZero.reduce((sum, d, i) => sum + (d > 0 ? (ranks[i] ?? 0) : 0), 0);
  const total = (n * (n + 1)) / 2;
  if (n <= EXACT_WILCOXON_MAX_PAIRS && tieSizes.length === 0) {
    // Number of subsets of {1..n} with each rank sum: the null distribution of W+ (counts / 2ⁿ).
    const counts = new Array<number>(total + 1).fill(0);
    counts[0] = 1;
    for (let rank = 1; rank <= n; rank += 1) {
      for (let sum = total; sum >= rank; sum -= 1)
        counts[sum] = (counts[sum] ?? 0) + (counts[sum - rank] ?? 0);
    }
    const lower = Math.min(wPlus, total - wPlus);
    let below = 0;
    for (let sum = 0; sum <= lower; sum += 1) below += counts[sum] ?? 0;
    return { n, wPlus, pValue: Math.min(1, (2 * below) / 2 ** n), method: 'exact' };
  }
  const mean = total / 2;
  const variance = (n * (n + 1) * (2 * n + 1)) / 24 - tieSizes.reduce((sum, t) => sum + (t ** 3 - t), 0) / 48;
  if (variance <= 0) return { n, wPlus, pValue: 1, method: 'normal' };
  const deviation = wPlus - mean;
  const corrected = Math.max(0, Math.abs(deviation) - 0.5);
  // W+ at the centre of the distribution: no evidence at all (Φ's approximation would give 1 − 3e-8).
  if (corrected === 0) return { n, wPlus, pValue: 1, method: 'normal' };
  const z = corrected / Math.sqrt(variance);
  return { n, wPlus, pValue: Math.min(1, 2 * (1 - normalCdf(z))), method: 'normal' };
}

/** An effect with its confidence interval. */
export interface EffectInterval {
  readonly effect: number;
  readonly low: number;
  readonly high: number;
}

/**
 * The difference of two paired proportions, (c − b) / n, with its Wald interval at `level`:
 * ± z · √(b + c − (c − b)²/n) / n. `b` pairs went from success to failure, `c` the other way, of
 * `n` pairs in all (n ≥ 1).
 */
export function pairedProportionDifference(b: number, c: number, n: number, level: number): EffectInterval {
  const effect = (c - b) / n;
  const z = normalQuantile(1 - (1 - level) / 2);
  const half = (z * Math.sqrt(Math.max(0, b + c - (c - b) ** 2 / n))) / n;
  return { effect, low: effect - half, high: effect + half };
}

/**
 * The mean of paired `differences` with its Student-t interval at `level` (n ≥ 1; one difference
 * has no spread, so its interval is the point itself, and says nothing).
 */
export function meanDifference(differences: readonly number[], level: number): EffectInterval {
  const n = differences.length;
  const effect = differences.reduce((sum, d) => sum + d, 0) / n;
  if (n < 2) return { effect, low: effect, high: effect };
  const variance = differences.reduce((sum, d) => sum + (d - effect) ** 2, 0) / (n - 1);
  const half = (studentCritical(level, n - 1) * Math.sqrt(variance)) / Math.sqrt(n);
  return { effect, low: effect - half, high: effect + half };
}
