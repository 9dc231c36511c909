/** The simulator's answers: unique per request and describing the context received. */
import { countRoles, lastUserContent, shorten, withSimulatedRating } from '../providers/context-summary.js';
import { limitReply } from '../providers/token-estimate.js';
import { estimateInputTokens } from '../resilience/token-estimate.js';
import type { ChatMessage } from '../providers/types.js';

/** An answer with its usage. */
export interface SimulatedReply {
  readonly text: string;
  readonly inputTokens: number;
  readonly outputTokens: number;
  /** True when the text was cut at `max_tokens` (finish_reason `length` / stop_reason `max_tokens`). */
  readonly truncated: boolean;
}

/** Characters a streamed text delta aims at; whole words are never split. */
export const STREAM_CHUNK_CHARS = 16;

/**
 * The answer to request number `id`, e.g.
 * `[gpt-4o-mini #17] turn 3: I saw 1 system, 3 user and 2 assistant messages; you said "Still nothing."`,
 * cut to `maxTokens` when given. A judge model's answer ends with `Rating: [[N]]`.
 */
export function composeReply(
  id: number,
  model: string,
  messages: readonly ChatMessage[],
  maxTokens: number | undefined,
): SimulatedReply {
  const counts = countRoles(messages);
  const said =
    `[${model} #${id}] turn ${counts.user}: I saw ${counts.system} system, ${counts.user} user ` +
    `and ${counts.assistant} assistant messages; you said "${shorten(lastUserContent(messages))}"`;
  const full = withSimulatedRating(model, said, id);
  const limited = limitReply(full, maxTokens);
  return {
    text: limited.text,
    inputTokens: estimateInputTokens(messages),
    outputTokens: limited.outputTokens,
    truncated: limited.truncated,
  };
}

/** Splits `text` into deltas of about `STREAM_CHUNK_CHARS`, at word boundaries; joined they give `text`. */
export function splitForStream(text: string): string[] {
  const words = text.match(/\S*\s*/g)?.filter((word) => word.length > 0) ?? [];
  const chunks: string[] = [];
  let current = '';
  for (const word of words) {
    if (current.length > 0 && current.length + word.length > STREAM_CHUNK_CHARS) {
      chunks.push(current);
      current = '';
    }
    current += word;
  }
  if (current.length > 0) chunks.push(current);
  return chunks;
}
