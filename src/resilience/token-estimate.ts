/**
 * A provider-independent estimate of a request's tokens, reserved against tokens-per-minute before
 * the request leaves and reconciled with the reported usage after.
 */
import type { ChatMessage, Usage } from '../providers/types.js';
import { CHARS_PER_TOKEN, MESSAGE_OVERHEAD_TOKENS, REPLY_PRIMING_TOKENS } from './defaults.js';

/**
 * Estimated tokens one message adds to a request: its UTF-8 bytes ÷ `CHARS_PER_TOKEN` rounded up
 * plus `MESSAGE_OVERHEAD_TOKENS`. Bytes rather than UTF-16 units: equal for ASCII, and less of an
 * under-estimate for scripts that spend a token per character.
 */
export function estimateMessageTokens(content: string): number {
  return Math.ceil(Buffer.byteLength(content, 'utf8') / CHARS_PER_TOKEN) + MESSAGE_OVERHEAD_TOKENS;
}

/**
 * Estimated input tokens of `messages`: `REPLY_PRIMING_TOKENS` once, plus each message's
 * `estimateMessageTokens`. The one rule: the limiter reserves with it, the simulators charge
 * with it, `troupe plan` forecasts with it.
 */
export function estimateInputTokens(messages: readonly ChatMessage[]): number {
  let tokens = REPLY_PRIMING_TOKENS;
  for (const message of messages) tokens += estimateMessageTokens(message.content);
  return tokens;
}

/**
 * Tokens to reserve for a request: its estimated input plus `maxTokens`, since the reservation must
 * cover the longest answer the request allows (providers count it the same way).
 */
export function estimateRequestTokens(messages: readonly ChatMessage[], maxTokens: number): number {
  return estimateInputTokens(messages) + maxTokens;
}

/** Tokens the provider actually counted for a request: input + output. */
export function actualTokens(usage: Usage): number {
  return usage.inputTokens + usage.outputTokens;
}

/**
 * How far the reservation was off: actual − reserved tokens. Negative is a refund (the usual case:
 * the answer was shorter than `maxTokens`), positive a debt to take from the budget.
 */
export function reconciliationTokens(reservedTokens: number, usage: Usage): number {
  return actualTokens(usage) - reservedTokens;
}
