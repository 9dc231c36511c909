/**
 * A finished job of any size written straight into a store — no provider, no actors — to measure
 * what reads it (`troupe results`, `report`, `compare`) at scale: the `results-scale` benchmark
 * and the output tests. Its answers are deterministic: conversation (model, sequence, run) gets
 * the same turns every time, and chosen sequences fail a turn or disagree across runs.
 */
import type { CheckpointStore, JobRecord, SequenceRecord, TurnRecord } from './records.js';

/** The shape of a synthetic job. */
export interface SyntheticJobShape {
  readonly id: string;
  readonly models: number;
  readonly sequences: number;
  readonly runs: number;
  readonly turnsPerSequence: number;
  /** Characters of each answer. */
  readonly responseChars: number;
  /** Every `failEvery`-th sequence has a failed turn (in its first model's first run); 0: none. */
  readonly failEvery: number;
  /** Every `disagreeEvery`-th sequence has a check whose outcome differs between runs; 0: none. */
  readonly disagreeEvery: number;
}

/** Turns written per transaction. */
const WRITE_BATCH = 2000;

/** The id of sequence `index` of a synthetic job (zero-padded, so key order is index order). */
export function syntheticSequenceId(index: number): string {
  return `s${String(index).padStart(7, '0')}`;
}

/** Writes the job's sequences, its turns, then its record (state `done`); returns the record. */
export async function writeSyntheticJob(
  store: CheckpointStore,
  shape: SyntheticJobShape,
): Promise<JobRecord> {
  const models = Array.from({ length: shape.models }, (_, i) => `model-${i + 1}`);
  const prompts = Array.from({ length: shape.turnsPerSequence }, (_, i) => `Question ${i + 1}?`);
  let batch: SequenceRecord[] = [];
  for (let index = 0; index < shape.sequences; index++) {
    const checks = prompts.map(() => [{ kind: 'contains' as const, value: 'x', ignoreCase: false }]);
    batch.push({ id: syntheticSequenceId(index), prompts, checks, index });
    if (batch.length === WRITE_BATCH) {
      await store.putSequences(shape.id, batch);
      batch = [];
    }
  }
  if (batch.length > 0) await store.putSequences(shape.id, batch);

  const filler = 'lorem ipsum '.repeat(Math.ceil(shape.responseChars / 12)).slice(0, shape.responseChars);
  let turns: TurnRecord[] = [];
  for (const model of models) {
    for (let index = 0; index < shape.sequences; index++) {
      const sequence = syntheticSequenceId(index);
      const fails = shape.failEvery > 0 && index % shape.failEvery === 0 && model === models[0];
      const disagrees = shape.disagreeEvery > 0 && index % shape.disagreeEvery === 1;
      for (let run = 1; run <= shape.runs; run++) {
        for (let turn = 1; turn <= shape.turnsPerSequence; turn++) {
          const failed = fails && run === 1 && turn === shape.turnsPerSequence;
          const passed = !(disagrees && run === 1);
          turns.push({
            job: shape.id,
            model,
            sequence,
            run,
            turn,
            prompt: prompts[turn - 1] ?? '',
            response: failed ? null : `${model} ${sequence} ${run}/${turn}: ${filler}`,
            status: failed ? 'failed' : 'ok',
            error: failed ? { code: 'troupe:client-error', message: 'HTTP 400: refused' } : null,
            usage: failed ? null : { inputTokens: 20 * turn, outputTokens: 10 },
            latencyMs: failed ? null : 50 + ((index * 7 + run * 3 + turn) % 200),
            attempts: 1,
            startedAt: '2026-12-01T00:00:00.000Z',
            finishedAt: '2026-12-01T00:00:01.000Z',
            requestHash: null,
            ...(failed
              ? {}
              : {
                  checks: [
                    {
                      kind: 'contains',
                      passed,
                      score: passed ? 1 : 0,
                      reason: passed ? 'contains "x"' : 'missing "x"',
                    },
                  ],
                }),
          });
          if (turns.length === WRITE_BATCH) {
            await store.putTurns(turns);
            turns = [];
          }
        }
      }
    }
  }
  if (turns.length > 0) await store.putTurns(turns);

  const job: JobRecord = {
    id: shape.id,
    suite: {
      name: 'synthetic',
      runs: shape.runs,
      providers: { sim: { type: 'simulated', latencyMs: 1, retry: RETRY, breaker: BREAKER } },
      models: models.map((id) => ({ id, provider: 'sim', model: id, maxTokens: 64 })),
    },
    sequences: {
      count: shape.sequences,
      prompts: shape.sequences * shape.turnsPerSequence,
      longest: shape.turnsPerSequence,
      shortest: shape.turnsPerSequence,
    },
    suitePath: 'synthetic.yaml',
    state: 'done',
    createdAt: '2026-12-01T00:00:00.000Z',
    finishedAt: '2026-12-01T00:10:00.000Z',
  };
  await store.putJob(job);
  return job;
}

const RETRY = { maxAttempts: 1, baseDelayMs: 1, maxDelayMs: 1, timeoutMs: 1000, maxPauseMs: 1000 };
const BREAKER = {
  consecutiveFailures: 5,
  failureRatio: 0.5,
  windowMs: 1000,
  minRequests: 10,
  coolDownMs: 1000,
  maxCoolDownMs: 1000,
  probesToClose: 1,
};
