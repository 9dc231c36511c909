/**
 * The sequence actor's grading of its answers: once an answer is committed, the
 * suite's judge grades it while the conversation goes on, and the grade is
 * written into the same turn record. A grade lost to a crash or a shutdown is
 * redone on restart: `ungradedTurns` finds the answers the store holds without one.
 */
import { ConversationContext, systemPromptOf } from '../conversation/context.js';
import type { ChatMessage } from '../providers/types.js';
import { ERROR_CODES } from '../resilience/errors.js';
import { judgeAnswer } from '../scoring/judge.js';
import type { JudgeDeps } from '../scoring/judge.js';
import type { CheckpointStore, ErrorData, TurnRecord } from '../store/records.js';
import type { ModelConfig, SequenceConfig } from '../suite/types.js';
import { dispatch } from './nact.js';
import type { ActorRef } from './nact.js';

/** An answer waiting for its grade, with the conversation it answered. */
export interface UngradedTurn {
  readonly record: TurnRecord;
  /** The request's messages: the conversation up to the question answered. */
  readonly conversation: readonly ChatMessage[];
}

/** What a grading reports back to its sequence actor. */
export type JudgingMessage =
  | { readonly type: 'judging-ended'; readonly epoch: number }
  | { readonly type: 'judging-failed'; readonly epoch: number; readonly error: ErrorData };

/** The stored answers of a sequence that have no grade yet, with their conversations. */
export function ungradedTurns(
  stored: readonly TurnRecord[],
  model: ModelConfig,
  sequence: SequenceConfig,
): UngradedTurn[] {
  const ungraded: UngradedTurn[] = [];
  const contexts = new Map<number, ConversationContext>();
  for (const record of stored) {
    if (record.status !== 'ok' || record.response === null) continue;
    const context = contexts.get(record.run) ?? ConversationContext.start(systemPromptOf(model, sequence));
    if (record.judge === undefined) {
      ungraded.push({ record, conversation: context.requestFor(record.prompt) });
    }
    contexts.set(record.run, context.withExchange(record.prompt, record.response));
  }
  return ungraded;
}

/**
 * Grades one answer and writes the grade into its turn record; tells `self` when
 * done (`judging-ended`, also when cancelled: the grade is redone after a resume)
 * or when the write failed.
 */
export function startJudging(
  judge: JudgeDeps,
  store: CheckpointStore,
  sequence: SequenceConfig,
  turn: UngradedTurn,
  signal: AbortSignal,
  self: ActorRef<JudgingMessage>,
  epoch: number,
): void {
  const { record } = turn;
  const reference = sequence.reference?.[record.turn - 1];
  judgeAnswer(judge, { conversation: turn.conversation, answer: record.response ?? '', reference }, signal)
    .then(async (result) => {
      if (result !== undefined) await store.putTurns([{ ...record, judge: result }]);
      dispatch(self, { type: 'judging-ended', epoch });
    })
    .catch((error: unknown) =>
      dispatch(self, {
        type: 'judging-failed',
        epoch,
        error: {
          code: ERROR_CODES.storeWrite,
          message: error instanceof Error ? error.message : String(error),
        },
      }),
    );
}
