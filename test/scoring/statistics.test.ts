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

function turn(sequence: string, run: number, checks: CheckResult[], grade: JudgeResult): TurnRecord {
  return {
    job: 'j',
    model: 'm',
    sequence,
    run,
    turn: 1,
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
});
