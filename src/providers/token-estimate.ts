/**
 * Output token counts estimated from characters, shared by the simulator and the simulated
 * provider so that both report the same usage for the same conversation. Input tokens have one
 * rule, `estimateInputTokens` in resilience/token-estimate.ts, which the limiter reserves with,
 * the simulators charge with and `troupe plan` forecasts with.
 */

/** Characters counted as one token (the usual rule of thumb for English text). */
export const CHARS_PER_TOKEN = 4;

/** Estimated tokens of an answer's text: ceil(characters / 4). */
export function estimateOutputTokens(text: string): number {
  return Math.ceil(text.length / CHARS_PER_TOKEN);
}

/** An answer cut to fit a token budget. */
export interface LimitedReply {
  readonly text: string;
  readonly outputTokens: number;
  /** True when the text was cut because it exceeded `maxTokens`. */
  readonly truncated: boolean;
}

/**
 * Cuts `text` to at most `maxTokens` tokens (`maxTokens * 4` characters), the way a model
 * stops when it reaches `max_tokens`. Without `maxTokens` the text is kept whole.
 */
export function limitReply(text: string, maxTokens: number | undefined): LimitedReply {
  const outputTokens = estimateOutputTokens(text);
  if (maxTokens === undefined || outputTokens <= maxTokens) {
    return { text, outputTokens, truncated: false };
  }
  const cut = text.slice(0, maxTokens * CHARS_PER_TOKEN);
  return { text: cut, outputTokens: estimateOutputTokens(cut), truncated: true };
}
