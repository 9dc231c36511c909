import { describe, expect, it } from 'vitest';
import { compareJobs, formatComparison } from '../src/report/compare.js';
import { renderReport } from '../src/report/html-report.js';
import type { Suite } from '../src/suite/types.js';
import { SCORED_SUITE, grade, passedCheck, scoredTurn, storedJobOf } from './helpers/records.js';

describe('troupe compare', () => {
  const before = {
    ...storedJobOf('before'),
    turns: [
      scoredTurn('before', 'alpha', 'greet', 1, 1, { checks: [passedCheck(false)], judge: grade(4) }),
      scoredTurn('before', 'alpha', 'greet', 1, 2, { checks: [passedCheck(true)], judge: grade(6) }),
      scoredTurn('before', 'alpha', 'count', 1, 1, { checks: [passedCheck(true)], judge: grade(6) }),
      scoredTurn('before', 'beta', 'greet', 1, 1, { checks: [passedCheck(true)], judge: grade(8) }),
      scoredTurn('before', 'beta', 'greet', 1, 2, { checks: [passedCheck(true)], judge: grade(8) }),
    ],
  };
  const afterSuite = {
    ...SCORED_SUITE,
    models: [...SCORED_SUITE.models, { id: 'gamma', provider: 'p', model: 'g', maxTokens: 10 }],
    sequences: [SCORED_SUITE.sequences[0], { id: 'new-one', prompts: ['x'] }],
  } as Suite;
  const after = {
    ...storedJobOf('after', afterSuite),
    turns: [
      scoredTurn('after', 'alpha', 'greet', 1, 1, { checks: [passedCheck(true)], judge: grade(8) }),
      scoredTurn('after', 'alpha', 'greet', 1, 2, { checks: [passedCheck(true)], judge: grade(8) }),
      scoredTurn('after', 'beta', 'greet', 1, 1, { checks: [passedCheck(true)], judge: grade(5) }),
      scoredTurn('after', 'beta', 'greet', 1, 2, { status: 'failed' }),
      scoredTurn('after', 'gamma', 'greet', 1, 1, { judge: grade(9) }),
      scoredTurn('after', 'alpha', 'new-one', 1, 1, { judge: grade(1) }),
    ],
  };
  const comparison = compareJobs(before, after);
  const pair = (model: string, sequence: string) =>
    comparison.sequences.find((c) => c.model === model && c.sequence === sequence);

  it('says what got better: pass rate and judge up, failures not up', () => {
    expect(pair('alpha', 'greet')).toEqual({
      model: 'alpha',
      sequence: 'greet',
      passRate: { before: 0.5, after: 1, delta: 0.5, significant: null, test: null },
      judgeMean: { before: 5, after: 8, delta: 3, significant: null, test: null },
      failedTurns: { before: 0, after: 0, delta: 0, significant: null, test: null },
      verdict: 'better',
    });
  });

  it('says what got worse: judge down and a failed turn', () => {
    expect(pair('beta', 'greet')).toMatchObject({
      passRate: { before: 1, after: 1, delta: 0 },
      judgeMean: { before: 8, after: 5, delta: -3 },
      failedTurns: { before: 0, after: 1, delta: 1 },
      verdict: 'worse',
    });
  });

  it('mixed when figures move both ways; unchanged when nothing moved', () => {
    const mixedAfter = {
      ...before,
      ...storedJobOf('mixed'),
      turns: before.turns.map((t) =>
        t.model === 'beta' ? { ...t, checks: [passedCheck(false)], judge: grade(10) } : t,
      ),
    };
    const mixed = compareJobs(before, mixedAfter);
    expect(mixed.sequences.find((c) => c.model === 'beta' && c.sequence === 'greet')?.verdict).toBe('mixed');
    expect(mixed.sequences.find((c) => c.model === 'alpha' && c.sequence === 'greet')?.verdict).toBe(
      'unchanged',
    );

    const same = compareJobs(before, before);
    expect(same.sequences.every((c) => c.verdict === 'unchanged')).toBe(true);
    expect(same.models.every((c) => c.verdict === 'no significant difference')).toBe(true);
    expect(formatComparison(same)).toContain('no sequence changed');
  });

  it('compares models over the sequences both jobs have', () => {
    // alpha's "count" is only in before and "new-one" only in after: only "greet" counts.
    expect(comparison.models.map((c) => c.model)).toEqual(['alpha', 'beta']);
    // One pair of checks moved (fail → pass) and one sequence is graded in both: nothing is told.
    expect(comparison.models.find((c) => c.model === 'alpha')).toMatchObject({
      judgeMean: { before: 5, after: 8, delta: 3, test: null },
      passRate: { test: { method: 'mcnemar-exact', pairs: 2, pValue: 1 } },
      verdict: 'no significant difference',
    });
    expect(comparison.sequences.map((c) => `${c.model}/${c.sequence}`)).toEqual([
      'alpha/greet',
      'beta/greet',
    ]);
  });

  it('lists the models and sequences found in one job only', () => {
    expect(comparison.onlyBefore).toEqual({ models: [], sequences: ['count'], moreSequences: 0 });
    expect(comparison.onlyAfter).toEqual({ models: ['gamma'], sequences: ['new-one'], moreSequences: 0 });
  });

  it('a figure one job does not have is null, and its change too', () => {
    const unscored = {
      ...storedJobOf('unscored'),
      turns: before.turns.map((t) => ({ ...t, checks: undefined, judge: undefined })),
    };
    const c = compareJobs(unscored, before).models.find((m) => m.model === 'alpha');
    // Mean of the sequence means: greet (4, 6 → 5) and count (6).
    expect(c?.judgeMean).toEqual({ before: null, after: 5.5, delta: null, significant: null, test: null });
    expect(c?.passRate).toEqual({ before: null, after: 2 / 3, delta: null, significant: null, test: null });
    // The turns pair up, but none failed in either: nothing to test.
    expect(c?.failedTurns.test).toBeNull();
    expect(c?.verdict).toBe('no significant difference');
  });

  it('prints a table for the terminal', () => {
    const text = formatComparison(comparison);
    const lines = text.split('\n');
    expect(lines[0]).toBe('before → after');
    expect(lines[1]).toMatch(/^MODEL\s+SEQUENCE\s+CHECKS PASSED\s+JUDGE\s+FAILED TURNS\s+VERDICT$/);
    expect(text).toMatch(
      /alpha\s+\(all\)\s+50\.0 % → 100\.0 % \(\+50\.0 pts\)\s+5\.00 → 8\.00 \(\+3\.00\)\s+0 → 0 \(±0\)\s+no significant difference/,
    );
    expect(text).toMatch(/^MODEL\s+FIGURE\s+EFFECT \[INTERVAL\]\s+P \(CORRECTED\)\s+TEST\s+VERDICT$/m);
    expect(text).toMatch(
      /alpha\s+check pass rate\s+\+50\.0 pts \[.*\]\s+1\.00\s+McNemar exact, 2 pairs\s+no significant difference/,
    );
    expect(text).toMatch(
      /beta\s+greet\s+100\.0 % → 100\.0 % \(±0\)\s+8\.00 → 5\.00 \(−3\.00\)\s+0 → 1 \(\+1\)\s+worse/,
    );
    expect(text).toContain('sequences only in before: count');
    expect(text).toContain('models only in after: gamma');
    expect(text).toContain('sequences only in after: new-one');
  });

  it('finds a planted difference, and none where there is none', () => {
    // 12 sequences × 2 runs × 2 turns, one check per turn. alpha is planted better in the after
    // job (checks that failed pass, judge + 2 on every sequence); beta only gets noise that
    // cancels out (pseudo-random, seeded).
    const ids = Array.from({ length: 12 }, (_, i) => `s${i + 1}`);
    const suite = {
      ...SCORED_SUITE,
      runs: 2,
      sequences: ids.map((id) => ({ id, prompts: ['q1', 'q2'] })),
    } as Suite;
    let seed = 7;
    const random = (): number => {
      seed = (seed * 16807) % 2147483647;
      return seed / 2147483647;
    };
    const turns = (
      job: string,
      model: string,
      passes: (i: number) => boolean,
      score: (i: number) => number,
    ) =>
      ids.flatMap((sequence, i) =>
        [1, 2].flatMap((run) =>
          [1, 2].map((turn) =>
            scoredTurn(job, model, sequence, run, turn, {
              checks: [passedCheck(passes(i * 4 + (run - 1) * 2 + turn))],
              judge: grade(score(i)),
            }),
          ),
        ),
      );
    const baseScores = ids.map(() => 3 + Math.floor(random() * 4));
    const noise = ids.map((_, i) => (i % 2 === 0 ? 1 : -1));
    const a = {
      ...storedJobOf('a', suite),
      turns: [
        ...turns(
          'a',
          'alpha',
          (k) => k % 2 === 0,
          (i) => baseScores[i] ?? 0,
        ),
        ...turns(
          'a',
          'beta',
          (k) => k % 3 !== 0,
          (i) => baseScores[i] ?? 0,
        ),
      ],
    };
    const b = {
      ...storedJobOf('b', suite),
      turns: [
        ...turns(
          'b',
          'alpha',
          (k) => k % 8 !== 1,
          (i) => (baseScores[i] ?? 0) + 2,
        ),
        ...turns(
          'b',
          'beta',
          (k) => (k + 1) % 3 !== 0,
          (i) => (baseScores[i] ?? 0) + (noise[i] ?? 0),
        ),
      ],
    };
    const result = compareJobs(a, b);
    const model = (id: string) => result.models.find((c) => c.model === id);
    const alpha = model('alpha');
    // alpha: of 48 checks, 24 failed before; after, 6 fail (k ≡ 1 mod 8), all among those: 18 fail → pass.
    expect(alpha?.passRate.test).toMatchObject({ method: 'mcnemar-exact', pairs: 48, verdict: 'better' });
    expect(alpha?.passRate.test?.effect).toBeCloseTo(18 / 48, 12);
    // p = 2 · ½¹⁸ · 4 tests (pass rate and judge of each model; no turn failed, so failures are not tested).
    expect(alpha?.passRate.test?.comparisons).toBe(4);
    expect(alpha?.passRate.test?.adjustedPValue).toBeCloseTo(4 * 2 * 0.5 ** 18, 12);
    // Judge: + 2 on all 12 sequences, all tied: the normal approximation, by hand: W+ = 78, mean 39,
    // variance 12·13·25/24 − (12³ − 12)/48 = 126.75, z = (39 − ½)/√126.75 = 3.4197, p = 2(1 − Φ(z)).
    // The interval is [2, 2] (no spread).
    expect(alpha?.judgeMean.test).toMatchObject({
      method: 'wilcoxon-signed-rank',
      pairs: 12,
      verdict: 'better',
    });
    expect(alpha?.judgeMean.test?.pValue).toBeCloseTo(0.000627, 6);
    expect(alpha?.judgeMean.test?.low).toBeCloseTo(2, 9);
    expect(alpha?.failedTurns.test).toBeNull();
    expect(alpha?.verdict).toBe('better');
    expect(alpha?.judgeMean.significant).toBe(true);

    const beta = model('beta');
    // Checks: the pattern shifts by one, as many fail → pass as pass → fail; judge ±1 alternating.
    expect(beta?.passRate.test?.verdict).toBe('no significant difference');
    expect(beta?.passRate.test?.effect).toBeCloseTo(0, 12);
    expect(beta?.judgeMean.test?.verdict).toBe('no significant difference');
    expect(beta?.judgeMean.test?.pValue).toBe(1);
    expect(beta?.verdict).toBe('no significant difference');

    const text = formatComparison(result);
    expect(text).toMatch(
      /alpha\s+judge score\s+\+2\.00 \[\+2\.00, \+2\.00\]\s+0\.00251\s+Wilcoxon signed-rank, 12 sequences\s+better/,
    );
    expect(text).toMatch(
      /beta\s+check pass rate\s+±0 \[−\d+\.\d pts, \+\d+\.\d pts\]\s+1\.00\s+McNemar exact, 48 pairs\s+no significant difference/,
    );
    expect(text).toContain(
      '* significant at 95 % after a correction for 4 tests (Bonferroni: p × 4; intervals at 98.8 %)',
    );

    // The HTML report of the after job, compared with the before job, shows the same tests.
    const html = renderReport(b, result);
    expect(html).toContain('<section id="comparison"><h2>Compared with <code>a</code></h2>');
    expect(html).toMatch(
      /<td>alpha<\/td><td>judge score<\/td><td>[\d.]+ → [\d.]+<\/td><td>\+2\.00 \[\+2\.00, \+2\.00\]<\/td><td>0\.00251<\/td><td>Wilcoxon signed-rank, 12 sequences<\/td><td class="verdict-better"><b>better<\/b><\/td>/,
    );
    expect(html).toMatch(/<td>beta<\/td><td>check pass rate<\/td>.*?<b>no significant difference<\/b>/);
    expect(html).toContain('multiplied by the 4 tests made (Bonferroni)');

    // The worse direction: the same jobs the other way round.
    const back = compareJobs(b, a).models.find((c) => c.model === 'alpha');
    expect(back?.passRate.test?.verdict).toBe('worse');
    expect(back?.judgeMean.test?.verdict).toBe('worse');
    expect(back?.verdict).toBe('worse');
  });

  it('gives JSON with every field (null, never missing)', () => {
    const json = JSON.parse(JSON.stringify(comparison)) as typeof comparison;
    expect(json).toEqual(comparison);
  });
});
