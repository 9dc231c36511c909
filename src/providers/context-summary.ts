/**
 * What the echo replies of the simulator and the simulated provider say about the
 * context they received, so that tests can read accumulation and isolation off an answer.
 */
import type { ChatMessage } from './types.js';

/** How many messages of each role a request carried. */
export interface RoleCounts {
  readonly system: number;
  readonly user: number;
  readonly assistant: number;
}

/** Longest quote of the last user message, in characters, before it is shortened. */
export const QUOTE_MAX_CHARS = 60;

const ELLIPSIS = '…';

/** Counts the messages of each role. */
export function countRoles(messages: readonly ChatMessage[]): RoleCounts {
  let system = 0;
  let user = 0;
  let assistant = 0;
  for (const message of messages) {
    if (message.role === 'system') system += 1;
    else if (message.role === 'user') user += 1;
    else assistant += 1;
  }
  return { system, user, assistant };
}

/** The content of the last user message, or '' when there is none. */
export function lastUserContent(messages: readonly ChatMessage[]): string {
  for (let index = messages.length - 1; index >= 0; index -= 1) {
    const message = messages[index];
    if (message?.role === 'user') return message.content;
  }
  return '';
}

/** `text` on one line (whitespace runs become one space), cut to `maxChars` with an ellipsis. */
export function shorten(text: string, maxChars: number = QUOTE_MAX_CHARS): string {
  const oneLine = text.replace(/\s+/g, ' ').trim();
  if (oneLine.length <= maxChars) return oneLine;
  return oneLine.slice(0, Math.max(0, maxChars - ELLIPSIS.length)).trimEnd() + ELLIPSIS;
}

/** Simulated models whose name matches this grade like a judge (`Rating: [[N]]`). */
export const JUDGE_MODEL_PATTERN = /judge/i;
const MAX_RATING = 10;

/**
 * A simulated answer, with an MT-Bench rating (1–10, from `seed`) appended when
 * the model is named like a judge, so judged suites can be rehearsed offline.
 */
export function withSimulatedRating(model: string, answer: string, seed: number): string {
  return JUDGE_MODEL_PATTERN.test(model)
    ? `${answer}\nRating: [[${1 + (Math.abs(seed) % MAX_RATING)}]]`
    : answer;
}
