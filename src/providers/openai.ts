/** The `openai` provider: any OpenAI-compatible chat completions API, through the official SDK. */
import type { ChatCompletion, ChatCompletionMessageParam } from 'openai/resources/chat/completions';
import type { OpenAIProviderConfig } from '../suite/types.js';
import { malformedAnswer, sdkErrorClasses } from './classify.js';
import { lazyModule } from './lazy-module.js';
import { sdkProvider } from './sdk-call.js';
import { estimateInputTokens } from '../resilience/token-estimate.js';
import { estimateOutputTokens } from './token-estimate.js';
import type { ChatMessage, CompletionRequest, CompletionResult, Provider } from './types.js';

const PROVIDER = 'openai';
/** Loads the SDK (once per process); `createProvider` starts it, `loadSdksFor` can start it earlier. */
export const loadOpenAISdk = lazyModule(() => import('openai'));

function toOpenAIMessage(message: ChatMessage): ChatCompletionMessageParam {
  switch (message.role) {
    case 'system':
      return { role: 'system', content: message.content };
    case 'user':
      return { role: 'user', content: message.content };
    case 'assistant':
      return { role: 'assistant', content: message.content };
    default: {
      const unhandled: never = message.role;
      throw new Error(`unhandled role ${String(unhandled)}`);
    }
  }
}

/** The answer's text and usage, or a `malformed` error naming what is missing. */
function readAnswer(
  data: unknown,
  request: CompletionRequest,
  status: number,
  headers: Record<string, string>,
): CompletionResult {
  if (typeof data !== 'object' || data === null) {
    throw malformedAnswer(PROVIDER, 'the body is not a JSON object', status, headers);
  }
  const completion = data as Partial<ChatCompletion>;
  if (!Array.isArray(completion.choices) || completion.choices.length === 0) {
    throw malformedAnswer(PROVIDER, 'no choices', status, headers);
  }
  const message = completion.choices[0]?.message;
  // A refusal is the model's answer too; an evaluation wants to see it.
  const text = message?.content ?? message?.refusal;
  if (typeof text !== 'string' || text === '') {
    throw malformedAnswer(PROVIDER, 'the first choice has no text', status, headers);
  }
  // Some compatible servers omit usage; an estimate keeps token accounting going.
  const usage = completion.usage;
  return {
    text,
    usage: {
      inputTokens: usage?.prompt_tokens ?? estimateInputTokens(request.messages),
      outputTokens: usage?.completion_tokens ?? estimateOutputTokens(text),
    },
    headers,
  };
}

/**
 * A provider for an OpenAI-compatible API. The SDK's own retries are off (every attempt
 * must pass troupe's limiter and breaker); `max_tokens` is sent because vLLM, Ollama and
 * llama.cpp accept it.
 */
export function createOpenAIProvider(config: OpenAIProviderConfig, apiKey: string): Provider {
  return sdkProvider({
    provider: PROVIDER,
    apiKey,
    ready: loadOpenAISdk().then((sdk) => ({
      client: new sdk.default({ apiKey, baseURL: config.baseURL, maxRetries: 0 }),
      errors: sdkErrorClasses(sdk, sdk.OpenAIError),
    })),
    send: (client, request, options) =>
      client.chat.completions
        .create(
          {
            model: request.model,
            messages: request.messages.map(toOpenAIMessage),
            max_tokens: request.maxTokens,
            temperature: request.temperature,
          },
          options,
        )
        .withResponse(),
    read: readAnswer,
  });
}
