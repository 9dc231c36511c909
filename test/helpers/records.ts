import type { CheckResult, JudgeResult } from '../../src/scoring/types.js';
import type { StoredJob } from '../../src/report/job-reader.js';
import type { JobRecord, TurnRecord } from '../../src/store/records.js';
import type { Suite } from '../../src/suite/types.js';

/** An answered first turn of a job, with `overrides`. */
export function turnRecord(overrides: Partial<TurnRecord> = {}): TurnRecord {
  return {
    job: 'job-1',
    model: 'model-a',
    sequence: 'seq-1',
    run: 1,
    turn: 1,
    prompt: 'Hello?',
    response: 'Hi.',
    status: 'ok',
    error: null,
    usage: { inputTokens: 10, outputTokens: 20 },
    latencyMs: 123,
    attempts: 1,
    startedAt: '2026-11-26T23:50:00.000Z',
    finishedAt: '2026-11-26T23:50:01.000Z',
    requestHash: 'ab'.repeat(32),
    ...overrides,
  };
}

/** A small scored suite: two models, two sequences, two runs. */
export const SCORED_SUITE = {
  name: 'scored',
  runs: 2,
  providers: {},
  models: [
    { id: 'alpha', provider: 'p', model: 'a', maxTokens: 10, pricePerMillionTokens: { input: 1, output: 2 } },
    { id: 'beta', provider: 'p', model: 'b', maxTokens: 10 },
  ],
  sequences: [
    { id: 'greet', prompts: ['Hello?', 'And again?'] },
    { id: 'count', prompts: ['Count to three.'] },
  ],
  judge: { model: 'alpha', maxUnparsableRetries: 3 },
} as unknown as Suite;

/** A job record for `suite` (its sequences are stored apart: see `storedJobOf`). */
export function jobOf(id: string, suite: Suite = SCORED_SUITE): JobRecord {
  const { sequences, ...settings } = suite;
  return {
    id,
    suite: settings,
    sequences: {
      count: sequences.length,
      prompts: sequences.reduce((sum, s) => sum + s.prompts.length, 0),
      longest: Math.max(0, ...sequences.map((s) => s.prompts.length)),
      shortest: sequences.length === 0 ? 0 : Math.min(...sequences.map((s) => s.prompts.length)),
    },
    suitePath: 'scored.yaml',
    state: 'done',
    createdAt: '2026-11-27T00:00:00.000Z',
    finishedAt: null,
  };
}

/** A turn of `job` with an answer, checks and a grade. */
export function scoredTurn(
  job: string,
  model: string,
  sequence: string,
  run: number,
  turn: number,
  options: {
    response?: string;
    checks?: CheckResult[];
    judge?: JudgeResult;
    status?: TurnRecord['status'];
  } = {},
): TurnRecord {
  const status = options.status ?? 'ok';
  return {
    job,
    model,
    sequence,
    run,
    turn,
    prompt: `prompt ${turn}`,
    response: status === 'ok' ? (options.response ?? `answer of ${model}/${sequence}/${run}/${turn}`) : null,
    status,
    error: status === 'ok' ? null : { code: 'troupe:client-error', message: 'HTTP 401: bad key' },
    usage: status === 'ok' ? { inputTokens: 10, outputTokens: 5 } : null,
    latencyMs: status === 'ok' ? 100 : null,
    attempts: 1,
    startedAt: '2026-11-27T00:00:00.000Z',
    finishedAt: '2026-11-27T00:00:01.000Z',
    requestHash: null,
    ...(options.checks && { checks: options.checks }),
    ...(options.judge && { judge: options.judge }),
  };
}

/** A check result. */
export const passedCheck = (passed: boolean | null, reason = 'a reason'): CheckResult => ({
  kind: 'contains',
  passed,
  score: passed ? 1 : 0,
  reason,
});

/** A grade. */
export const grade = (score: number | null): JudgeResult => ({
  score,
  status: score === null ? 'unparsable' : 'ok',
  explanation: `graded ${String(score)}`,
  attempts: 1,
});

/** A job of `suite` in memory, with its sequences and `turns`, as report and compare read it. */
export function storedJobOf(
  id: string,
  suite: Suite = SCORED_SUITE,
  turns: readonly TurnRecord[] = [],
  job: JobRecord = jobOf(id, suite),
): StoredJob {
  return { job, sequences: suite.sequences, turns };
}
