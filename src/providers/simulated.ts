/**
 * The built-in `simulated` provider: in process, no network, no key. It answers
 * deterministically from the model and the messages, and the answer shows the context it
 * received, so the quickstart runs anywhere and accumulation is visible in the results.
 */
import { createHash } from 'node:crypto';
import type { SimulatedProviderConfig } from '../suite/types.js';
import { countRoles, lastUserContent, shorten, withSimulatedRating } from './context-summary.js';
import { estimateInputTokens } from '../resilience/token-estimate.js';
import { limitReply } from './token-estimate.js';
import { abortableSleep } from '../resilience/sleep.js';
import type { ChatMessage, CompletionRequest, CompletionResult, Provider } from './types.js';
import { ProviderError } from './types.js';

/** Waits `ms`; rejects as soon as `signal` aborts. */
export type Sleep = (ms: number, signal: AbortSignal) => Promise<void>;

/** Test seams of the simulated provider. */
export interface SimulatedProviderOptions {
  /** How latency is waited out. Default: a timer. */
  readonly sleep?: Sleep;
}

const PROVIDER = 'simulated';
/** Hex digits of the context hash shown in answers. */
const CONTEXT_HASH_HEX_CHARS = 4;

/** A short hash of the whole message list: equal lists, equal hashes. */
export function contextHash(messages: readonly ChatMessage[]): string {
  const canonical = JSON.stringify(messages.map((message) => [message.role, message.content]));
  return createHash('sha256').update(canonical).digest('hex').slice(0, CONTEXT_HASH_HEX_CHARS);
}

/**
 * The simulated answer to `messages`, e.g.
 * `[small] turn 2 · context: 1 system, 2 user, 1 assistant · ctx#3fa9 · re: "I tried resetting it."`.
 */
export function simulatedAnswer(model: string, messages: readonly ChatMessage[]): string {
  const counts = countRoles(messages);
  const hash = contextHash(messages);
  const answer =
    `[${model}] turn ${counts.user} · context: ${counts.system} system, ${counts.user} user, ` +
    `${counts.assistant} assistant · ctx#${hash} · re: "${shorten(lastUserContent(messages))}"`;
  return withSimulatedRating(model, answer, Number.parseInt(hash, 16));
}

/** A provider that answers after `config.latencyMs`, deterministically, without any network. */
export function createSimulatedProvider(
  config: SimulatedProviderConfig,
  options: SimulatedProviderOptions = {},
): Provider {
  const sleep = options.sleep ?? abortableSleep;
  return {
    async complete(request: CompletionRequest): Promise<CompletionResult> {
      const cancelled = (): ProviderError => new ProviderError('cancelled', `${PROVIDER}: request cancelled`);
      if (request.signal?.aborted) throw cancelled();
      if (request.messages.at(-1)?.role !== 'user') {
        throw new ProviderError('client_error', `${PROVIDER}: the conversation must end with a user message`);
      }
      const willTimeOut = config.latencyMs > request.timeoutMs;
      try {
        await sleep(
          willTimeOut ? request.timeoutMs : config.latencyMs,
          request.signal ?? new AbortController().signal,
        );
      } catch (error) {
        if (request.signal?.aborted) throw cancelled();
        throw error;
      }
      if (willTimeOut) {
        throw new ProviderError('timeout', `${PROVIDER}: no answer within ${request.timeoutMs} ms`);
      }
      const reply = limitReply(simulatedAnswer(request.model, request.messages), request.maxTokens);
      return {
        text: reply.text,
        usage: { inputTokens: estimateInputTokens(request.messages), outputTokens: reply.outputTokens },
        headers: {},
      };
    },
  };
}
