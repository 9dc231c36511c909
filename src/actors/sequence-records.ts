/**
 * The turn records a sequence actor writes: an answer, a failure followed by the
 * skipped rest of its run, and what its reports say about them.
 */
import type { TurnOutcome } from '../conversation/turn-executor.js';
import { ERROR_CODES } from '../resilience/errors.js';
import type { CheckResult } from '../scoring/types.js';
import type { TurnRecord } from '../store/records.js';
import type { TurnSummary } from '../transport/protocol.js';
import type { ModelConfig, SequenceConfig } from '../suite/types.js';

/** Where records are written for: the actor's job, model and sequence. */
export interface RecordContext {
  readonly job: string;
  readonly model: ModelConfig;
  readonly sequence: SequenceConfig;
}

/** The records of a finished turn: its answer, or its failure and the skipped rest of its run. */
export function turnRecords(
  deps: RecordContext,
  run: number,
  turn: number,
  requestHash: string,
  outcome: Exclude<TurnOutcome, { status: 'cancelled' }>,
  checks: readonly CheckResult[] | undefined,
): TurnRecord[] {
  const prompt = promptAt(deps, turn);
  const base = {
    job: deps.job,
    model: deps.model.id,
    sequence: deps.sequence.id,
    run,
    turn,
    prompt,
    attempts: outcome.attempts,
    startedAt: new Date(outcome.startedAt).toISOString(),
    finishedAt: new Date(outcome.finishedAt).toISOString(),
    requestHash,
  };
  return outcome.status === 'ok'
    ? [
        {
          ...base,
          response: outcome.text,
          status: 'ok',
          error: null,
          usage: outcome.usage,
          latencyMs: outcome.latencyMs,
          ...(checks && { checks }),
        },
      ]
    : [
        { ...base, response: null, status: 'failed', error: outcome.error, usage: null, latencyMs: null },
        // Later turns of this run depend on the failed answer: they are skipped, in the same transaction.
        ...skippedRecords(deps, run, turn + 1, outcome.finishedAt),
      ];
}

/** The records of the turns of a run after a failed one. */
export function skippedRecords(
  deps: RecordContext,
  run: number,
  fromTurn: number,
  now: number,
): TurnRecord[] {
  const at = new Date(now).toISOString();
  const records: TurnRecord[] = [];
  for (let turn = fromTurn; turn <= deps.sequence.prompts.length; turn += 1) {
    records.push({
      job: deps.job,
      model: deps.model.id,
      sequence: deps.sequence.id,
      run,
      turn,
      prompt: promptAt(deps, turn),
      response: null,
      status: 'skipped',
      error: { code: ERROR_CODES.skipped, message: `turn ${fromTurn - 1} of this run failed` },
      usage: null,
      latencyMs: null,
      attempts: 0,
      startedAt: at,
      finishedAt: at,
      requestHash: null,
    });
  }
  return records;
}

/** A record as its report summarizes it. */
export function summarize(record: TurnRecord): TurnSummary {
  return {
    run: record.run,
    turn: record.turn,
    status: record.status,
    latencyMs: record.latencyMs,
    inputTokens: record.usage?.inputTokens ?? 0,
    outputTokens: record.usage?.outputTokens ?? 0,
  };
}

/** The prompt of a turn (from 1). */
export function promptAt(deps: RecordContext, turn: number): string {
  const prompt = deps.sequence.prompts[turn - 1];
  if (prompt === undefined) throw new Error(`sequence ${deps.sequence.id} has no turn ${turn}`);
  return prompt;
}

/** A turn whose promise threw: recorded as failed, with troupe's own code. */
export function internalFailure(error: unknown, now: number): TurnOutcome {
  return {
    status: 'failed',
    error: { code: ERROR_CODES.internal, message: error instanceof Error ? error.message : String(error) },
    attempts: 0,
    startedAt: now,
    finishedAt: now,
  };
}
