import { executeTurn } from '../conversation/turn-executor.js';
import type { TurnExecutorDeps } from '../conversation/turn-executor.js';
import type { ChatMessage } from '../providers/types.js';
import type { ModelConfig } from '../suite/types.js';
import { buildJudgeMessages, parseRating } from './judge-prompt.js';
import type { JudgeConfig, JudgeResult } from './types.js';

/** The judge of a job: its model, and how to reach that model's provider. */
export interface JudgeDeps {
  readonly config: JudgeConfig;
  readonly model: ModelConfig;
  readonly executor: TurnExecutorDeps;
  /** Fairness group of the judge's calls at the limiter. */
  readonly group: string;
}

/** One answer to grade. */
export interface JudgeInput {
  /** The conversation up to and including the question answered (system first, if any). */
  readonly conversation: readonly ChatMessage[];
  readonly answer: string;
  readonly reference?: string;
}

/**
 * Grades one answer the MT-Bench single-answer way. Every call goes through the
 * judge model's gate, breaker and retries like any turn. A reply without a
 * well-formed `Rating: [[N]]` is asked again, up to `maxUnparsableRetries` more
 * times, then recorded as unparsable — never guessed. Resolves with `undefined`
 * when `signal` aborted (nothing to record; it is graded again after a resume).
 */
export async function judgeAnswer(
  deps: JudgeDeps,
  input: JudgeInput,
  signal: AbortSignal,
): Promise<JudgeResult | undefined> {
  const messages = buildJudgeMessages({
    conversation: input.conversation,
    answer: input.answer,
    reference: input.reference,
    rubric: deps.config.rubric,
  });
  let attempts = 0;
  let explanation = '';
  // What the answered calls cost, so that a job's spend beside its forecast counts its grading.
  const usage = { inputTokens: 0, outputTokens: 0 };
  // Bounded: one call per pass, at most 1 + maxUnparsableRetries passes.
  for (let pass = 0; pass <= deps.config.maxUnparsableRetries; pass += 1) {
    const outcome = await executeTurn(
      deps.executor,
      {
        modelId: deps.model.id,
        model: deps.model.model,
        messages,
        temperature: deps.model.temperature,
        maxTokens: deps.model.maxTokens,
        group: deps.group,
        remainingTurns: 1,
      },
      signal,
    );
    if (outcome.status === 'cancelled') return undefined;
    attempts += outcome.attempts;
    if (outcome.status === 'failed') {
      return { score: null, status: 'failed', explanation: outcome.error.message, attempts, usage };
    }
    usage.inputTokens += outcome.usage.inputTokens;
    usage.outputTokens += outcome.usage.outputTokens;
    explanation = outcome.text;
    const score = parseRating(outcome.text);
    if (score !== undefined) return { score, status: 'ok', explanation, attempts, usage };
  }
  return { score: null, status: 'unparsable', explanation, attempts, usage };
}
