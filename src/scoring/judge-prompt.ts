/**
 * The MT-Bench single-answer grading: an impartial judge reads the conversation
 * and the assistant's answer to its last question (with a reference answer when
 * the question has one), explains its view briefly, and ends with
 * `Rating: [[N]]`, N an integer from 1 to 10.
 */
import type { ChatMessage } from '../providers/types.js';

/** Lowest rating a judge may give. */
export const MIN_RATING = 1;
/** Highest rating a judge may give. */
export const MAX_RATING = 10;

const SYSTEM = 'You are a fair and impartial judge of answers written by AI assistants.';

const INSTRUCTIONS = [
  'Your task is to grade one answer written by an AI assistant.',
  'Judge it on its helpfulness, relevance, accuracy, depth, creativity and level of detail.',
  'Stay impartial: the length of the answer, its style or the name of the assistant must not sway you, only how well it serves the user.',
  'The conversation may have several turns. Grade only the assistant’s answer to the last user question, but read it in the light of the whole conversation before it: an answer that ignores or contradicts what was said earlier is worse for it.',
].join(' ');

const WITH_REFERENCE =
  'A reference answer to the last question follows the conversation. Use it as the standard of correctness: compare the assistant’s answer with it, and point out any mistake the assistant made.';

const FORMAT = `First write a short explanation of your judgement. Then give your rating on a scale of ${MIN_RATING} to ${MAX_RATING} (${MAX_RATING} is best), on its own line and exactly in this form: "Rating: [[N]]" with N a whole number — for example "Rating: [[6]]".`;

/** What the judge is shown. */
export interface JudgeMessagesInput {
  /** The conversation up to and including the last question (a system prompt first, if any). */
  readonly conversation: readonly ChatMessage[];
  /** The assistant's answer to the last question. */
  readonly answer: string;
  /** A reference answer to the last question (MT-Bench's `reference`). */
  readonly reference?: string | undefined;
  /** Extra grading instructions from the suite (`judge.rubric`). */
  readonly rubric?: string | undefined;
}

/** The messages of one grading request: a system message, then one user message holding the case. */
export function buildJudgeMessages(input: JudgeMessagesInput): ChatMessage[] {
  const system = input.conversation.filter((m) => m.role === 'system').map((m) => m.content);
  const transcript = input.conversation
    .filter((message) => message.role !== 'system')
    .map((message) => `### ${message.role === 'user' ? 'User' : 'Assistant'}:\n${message.content}`)
    .join('\n\n');
  const parts = [
    INSTRUCTIONS,
    input.reference === undefined ? undefined : WITH_REFERENCE,
    input.rubric === undefined ? undefined : `Additional grading instructions: ${input.rubric}`,
    FORMAT,
    system.length === 0
      ? undefined
      : `[The Start of the Assistant's System Prompt]\n${system.join('\n\n')}\n[The End of the Assistant's System Prompt]`,
    `[The Start of the Conversation]\n${transcript}\n\n### Assistant (the answer to grade):\n${input.answer}\n[The End of the Conversation]`,
    input.reference === undefined
      ? undefined
      : `[The Start of Reference Answer]\n${input.reference}\n[The End of Reference Answer]`,
  ];
  return [
    { role: 'system', content: SYSTEM },
    { role: 'user', content: parts.filter((part): part is string => part !== undefined).join('\n\n') },
  ];
}

/** Anything in double brackets: the last one is the rating, if it is a well-formed one. */
const BRACKETED = /\[\[([^[\]]*)\]\]/g;
/** A whole number, optionally written with a zero fraction (`8.0`). */
const WHOLE_NUMBER = /^\s*(\d{1,2})(?:\.0+)?\s*$/;

/**
 * The rating in a judge's reply: the last `[[…]]` of the text, when it holds an integer
 * from 1 to 10 (`[[7]]`, `[[7.0]]`). Anything else — no brackets, `[[7.5]]`, `[[11]]`,
 * `[[seven]]`, a last bracket that is not a rating — is unparsable (undefined): a rating is
 * never guessed from other numbers in the text.
 */
export function parseRating(text: string): number | undefined {
  const last = [...text.matchAll(BRACKETED)].at(-1)?.[1];
  if (last === undefined) return undefined;
  const digits = WHOLE_NUMBER.exec(last)?.[1];
  if (digits === undefined) return undefined;
  const rating = Number(digits);
  return rating >= MIN_RATING && rating <= MAX_RATING ? rating : undefined;
}
