import { describe, expect, it } from 'vitest';
import { meanWithInterval, summarizeScores, tCritical95 } from '../../src/scoring/statistics.js';
import type { CheckResult, JudgeResult } from '../../src/scoring/types.js';
import type { TurnRecord } from '../../src/store/records.js';
import type { Suite } from '../../src/suite/types.js';

const suite = {
  name: 'stats',
  runs: 2,
  providers: {},
  models: [{ id: 'm', provider: 'p', model: 'x', maxTokens: 10 }],
  sequences: [
    { id: 's1', prompts: ['a'], checks: [[{ kind: 'contains', value: 'a', ignoreCase: false }]] },
    { id: 's2', prompts: ['b'], checks: [[{ kind: 'contains', value: 'b', ignoreCase: false }]] },
  ],
  judge: { model: 'm', maxUnparsableRetries: 3 },
} as unknown as Suite;

const check = (passed: boolean | null): CheckResult => ({
  kind: 'contains',
  passed,
  score: passed ? 1 : 0,
  reason: '',
});
const judge = (score: number | null): JudgeResult => ({
  score,
  status: score === null ? 'unparsable' : 'ok',
  explanation: '',
  attempts: 1,
});

function turn(
  sequence: string,
  run: number,
  checks: CheckResult[],
  grade: JudgeResult,
  turnNumber = 1,
): TurnRecord {
  return {
    job: 'j',
    model: 'm',
    sequence,
    run,
    turn: turnNumber,
    prompt: 'p',
    response: 'r',
    status: 'ok',
    error: null,
    usage: { inputTokens: 1, outputTokens: 1 },
    latencyMs: 1,
    attempts: 1,
    startedAt: '',
    finishedAt: '',
    requestHash: null,
    checks,
    judge: grade,
  };
}

describe('score statistics', () => {
  it('t critical values: the table, then 1.96', () => {
    expect(tCritical95(1)).toBe(12.706);
    expect(tCritical95(30)).toBe(2.042);
    expect(tCritical95(31)).toBe(1.96);
  });

  it('mean ± 95 % interval, computed by hand', () => {
    // Values 7 and 4: mean 5.5, sd = √((1.5² + 1.5²) / 1) = 2.1213, half-width = 12.706 × 2.1213 / √2 = 19.059.
    const result = meanWithInterval([7, 4]);
    expect(result?.mean).toBe(5.5);
    expect(result?.halfWidth).toBeCloseTo(19.059, 3);
    expect(meanWithInterval([3])).toEqual({ mean: 3, halfWidth: undefined, n: 1 });
    expect(meanWithInterval([])).toBeUndefined();
  });

  it('per model: pass rate without errors, judge mean over sequence means, consistency across runs', () => {
    const turns = [
      // s1: the check passes in run 1, fails in run 2; grades 6 and 8 (sequence mean 7).
      turn('s1', 1, [check(true)], judge(6)),
      turn('s1', 2, [check(false), check(null)], judge(8)),
      // s2: the check passes in both runs; grades 4 and 4 (mean 4); one unparsable grade not counted.
      turn('s2', 1, [check(true)], judge(4)),
      turn('s2', 2, [check(true)], judge(4)),
      { ...turn('s2', 2, [], judge(null)), turn: 2 },
    ];
    const [scores] = summarizeScores(turns, suite).models;
    // 3 of the 4 checks that ran passed; the one that errored is counted apart.
    expect(scores?.passRate).toBe(0.75);
    expect(scores?.checksRun).toBe(4);
    expect(scores?.checkErrors).toBe(1);
    expect(scores?.ungraded).toBe(1);
    // Sequence means 7 and 4 → 5.5 ± 19.059 (two sequences: t with 1 degree of freedom).
    expect(scores?.judge?.mean).toBe(5.5);
    expect(scores?.judge?.halfWidth).toBeCloseTo(19.059, 3);
    const [s1, s2] = scores?.consistency ?? [];
    // s1: its one (turn, check) pair disagrees across runs; run means 6 and 8: range 2, sd √2.
    expect(s1).toMatchObject({ sequence: 's1', checkAgreement: 0, judgeRange: 2 });
    expect(s1?.judgeStdDev).toBeCloseTo(Math.SQRT2, 6);
    // s2: agrees; run means 4 and 4: no spread.
    expect(s2).toMatchObject({ sequence: 's2', checkAgreement: 1, judgeRange: 0, judgeStdDev: 0 });
  });

  it('three sequences over three runs, and a model without turns, computed by hand', () => {
    const three = {
      ...suite,
      runs: 3,
      models: [...suite.models, { id: 'n', provider: 'p', model: 'y', maxTokens: 10 }],
      sequences: [
        { id: 'a', prompts: ['1', '2'] },
        { id: 'b', prompts: ['1'] },
        { id: 'c', prompts: ['1'] },
      ],
    } as unknown as Suite;
    const T = check(true);
    const F = check(false);
    const E = check(null);
    const turns = [
      // a, turn 1 checks [contains, regex], turn 2 [maxLength]; grades per run (8, 6), (7, 7), (9, 5).
      turn('a', 1, [T, T], judge(8), 1),
      turn('a', 1, [T], judge(6), 2),
      turn('a', 2, [T, F], judge(7), 1),
      turn('a', 2, [T], judge(7), 2),
      turn('a', 3, [T, E], judge(9), 1),
      turn('a', 3, [F], judge(5), 2),
      // b: no checks; grades 4, 6, 5.
      turn('b', 1, [], judge(4)),
      turn('b', 2, [], judge(6)),
      turn('b', 3, [], judge(5)),
      // c: grades 9, 9, and one the judge could not give.
      turn('c', 1, [], judge(9)),
      turn('c', 2, [], judge(9)),
      turn('c', 3, [], judge(null)),
    ];
    const summary = summarizeScores(turns, three);
    expect(summary.hasChecks).toBe(false); // the suite declares none (these results are made up)
    expect(summary.hasJudge).toBe(true);
    const [m, n] = summary.models;
    // Checks that ran: 3 + 3 + 2 = 8, of which 3 + 2 + 1 = 6 passed → 0.75; one error apart.
    expect(m).toMatchObject({ passRate: 0.75, checksPassed: 6, checksRun: 8, checkErrors: 1, ungraded: 1 });
    // Sequence means: a = (8+6+7+7+9+5)/6 = 7, b = (4+6+5)/3 = 5, c = (9+9)/2 = 9.
    // Their mean is 7; s = √((0² + 2² + 2²)/2) = 2; with t(2) = 4.303: 4.303 × 2 / √3 = 4.96868.
    expect(m?.judge?.mean).toBe(7);
    expect(m?.judge?.n).toBe(3);
    expect(m?.judge?.halfWidth).toBeCloseTo(4.96868, 4);
    const [a, b, c] = m?.consistency ?? [];
    // a: (turn 1, check 0) T T T agrees; (1, 1) T F (the error left out) disagrees; (2, 0) T T F
    // disagrees → 1/3. Run means (8+6)/2 = 7, (7+7)/2 = 7, (9+5)/2 = 7: no spread.
    expect(a?.checkAgreement).toBeCloseTo(1 / 3, 10);
    expect(a).toMatchObject({ judgeRange: 0, judgeStdDev: 0 });
    // b: no checks; run means 4, 6, 5 → range 2, s = √((1 + 1 + 0)/2) = 1.
    expect(b).toMatchObject({ sequence: 'b', checkAgreement: undefined, judgeRange: 2, judgeStdDev: 1 });
    // c: the ungraded run is left out; 9 and 9 → no spread.
    expect(c).toMatchObject({ sequence: 'c', judgeRange: 0, judgeStdDev: 0 });
    // n has no turns: nothing to report, but a row all the same.
    expect(n).toMatchObject({
      model: 'n',
      passRate: undefined,
      checksRun: 0,
      checkErrors: 0,
      judge: undefined,
      ungraded: 0,
    });
    expect(n?.consistency.map((entry) => entry.sequence)).toEqual(['a', 'b', 'c']);
  });

  it('a single run says nothing about consistency', () => {
    const turns = [turn('s1', 1, [check(true)], judge(7)), turn('s2', 1, [check(false)], judge(3))];
    const [scores] = summarizeScores(turns, { ...suite, runs: 1 }).models;
    expect(scores?.consistency).toEqual([
      { sequence: 's1', checkAgreement: undefined, judgeRange: undefined, judgeStdDev: undefined },
      { sequence: 's2', checkAgreement: undefined, judgeRange: undefined, judgeStdDev: undefined },
    ]);
    // The mean over the two sequences still has its interval: (7 + 3)/2 = 5, s = √8 = 2.8284,
    // 12.706 × 2.8284 / √2 = 25.412.
    expect(scores?.judge?.mean).toBe(5);
    expect(scores?.judge?.halfWidth).toBeCloseTo(25.412, 3);
  });

  it('beyond 30 degrees of freedom, the normal 1.96', () => {
    // 40 sequence means alternating 4 and 6: mean 5, s = √(40 × 1² / 39) = 1.0127394,
    // half-width = 1.96 × 1.0127394 / √40 = 0.3138512.
    const values = Array.from({ length: 40 }, (_, i) => (i % 2 === 0 ? 4 : 6));
    const result = meanWithInterval(values);
    expect(result?.mean).toBe(5);
    expect(result?.halfWidth).toBeCloseTo(0.3138512, 6);
    expect(tCritical95(2)).toBe(4.303);
    expect(tCritical95(10)).toBe(2.228);
  });
});
