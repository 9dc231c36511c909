/**
 * The MT-Bench single-answer grading: the judge reads the conversation, the
 * answer to its last question (and a reference answer when there is one), and
 * ends with `Rating: [[N]]`, N from 1 to 10.
 */
import type { ChatMessage } from '../providers/types.js';

/** Lowest and highest rating a judge may give. */
export const MIN_RATING = 1;
export const MAX_RATING = 10;

const SYSTEM = `You are a helpful assistant acting as an impartial judge.`;

const INSTRUCTIONS = `Please act as an impartial judge and evaluate the quality of the response provided by an AI assistant to the user question displayed below. Your evaluation should consider factors such as the helpfulness, relevance, accuracy, depth, creativity, and level of detail of the response. If the conversation has several turns, grade only the assistant's answer to the last user question, taking the whole conversation into account. Begin your evaluation by providing a short explanation. Be as objective as possible. After providing your explanation, you must rate the response on a scale of 1 to 10 by strictly following this format: "Rating: [[N]]", for example: "Rating: [[5]]".`;

const WITH_REFERENCE = `A reference answer to the last question is given below; compare the assistant's answer with it, and identify and correct any mistakes.`;

/** What the judge is shown. */
export interface JudgeMessagesInput {
  /** The conversation up to the last question (system first, if any). */
  readonly conversation: readonly ChatMessage[];
  /** The assistant's answer to the last question. */
  readonly answer: string;
  readonly reference?: string;
  /** Extra grading instructions from the suite. */
  readonly rubric?: string;
}

/** The messages of one grading request. */
export function buildJudgeMessages(input: JudgeMessagesInput): ChatMessage[] {
  const transcript = input.conversation
    .filter((message) => message.role !== 'system')
    .map((message) => `### ${message.role === 'user' ? 'User' : 'Assistant'}:\n${message.content}`)
    .join('\n\n');
  const parts = [
    INSTRUCTIONS,
    input.reference === undefined ? undefined : WITH_REFERENCE,
    input.rubric === undefined ? undefined : `Additional grading instructions: ${input.rubric}`,
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

/**
 * The rating in a judge's reply: the last `[[N]]` (or `[[N.0]]`) with N an integer
 * from 1 to 10. Anything else is unparsable (undefined): a rating is never guessed
 * from other numbers in the text.
 */
export function parseRating(text: string): number | undefined {
  const matches = [...text.matchAll(/\[\[\s*(\d{1,2})(?:\.0+)?\s*\]\]/g)];
  const last = matches[matches.length - 1]?.[1];
  if (last === undefined) return undefined;
  const rating = Number(last);
  return Number.isInteger(rating) && rating >= MIN_RATING && rating <= MAX_RATING ? rating : undefined;
}
