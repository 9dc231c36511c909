/**
 * The input tokens of one grading request, estimated without an answer in hand: the judge's
 * prompt (`buildJudgeMessages`) measured on empty texts, plus the bytes the conversation, its
 * answers and the answer to grade add, counted by the one input-token rule.
 */
import { CHARS_PER_TOKEN, MESSAGE_OVERHEAD_TOKENS, REPLY_PRIMING_TOKENS } from '../resilience/defaults.js';
import { buildJudgeMessages } from '../scoring/judge-prompt.js';
import type { ChatMessage } from '../providers/types.js';

const bytes = (text: string): number => Buffer.byteLength(text, 'utf8');

function userBytes(conversation: readonly ChatMessage[], reference?: string, rubric?: string): number {
  const user = buildJudgeMessages({ conversation, answer: '', reference, rubric })[1];
  return bytes(user?.content ?? '');
}

/** What a judge prompt adds around the texts it quotes, measured once per rubric. */
export class JudgePromptSize {
  /** Tokens of the judge's own system message and the priming. */
  private readonly fixedTokens: number;
  /** Bytes the first user message of the transcript adds beyond its text (its heading). */
  private readonly firstStepBytes: number;
  /** Bytes each later (assistant, user) pair adds beyond its texts (headings, separators). */
  private readonly pairStepBytes: number;

  constructor(private readonly rubric: string | undefined) {
    const system = buildJudgeMessages({ conversation: [], answer: '', rubric })[0];
    this.fixedTokens =
      REPLY_PRIMING_TOKENS +
      MESSAGE_OVERHEAD_TOKENS +
      Math.ceil(bytes(system?.content ?? '') / CHARS_PER_TOKEN);
    const empty = userBytes([], undefined, rubric);
    const one = userBytes([{ role: 'user', content: '' }], undefined, rubric);
    const three = userBytes(
      [
        { role: 'user', content: '' },
        { role: 'assistant', content: '' },
        { role: 'user', content: '' },
      ],
      undefined,
      rubric,
    );
    this.firstStepBytes = one - empty;
    this.pairStepBytes = three - one;
  }

  /** Bytes of the judge's user message with no conversation and an empty answer, for a system prompt and reference. */
  baseBytes(system: string | undefined, reference: string | undefined): number {
    return userBytes(
      system === undefined ? [] : [{ role: 'system', content: system }],
      reference,
      this.rubric,
    );
  }

  /**
   * Input tokens of grading turn k: `baseBytes` for its system prompt and reference,
   * `promptBytes` the bytes of prompts 1..k together, and `answerBytes` the bytes of one answer
   * (the k − 1 answers before it and the one graded).
   */
  inputTokens(baseBytes: number, k: number, promptBytes: number, answerBytes: number): number {
    const user =
      baseBytes + this.firstStepBytes + (k - 1) * this.pairStepBytes + promptBytes + k * answerBytes;
    return this.fixedTokens + MESSAGE_OVERHEAD_TOKENS + Math.ceil(user / CHARS_PER_TOKEN);
  }
}
