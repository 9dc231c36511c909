/** The `anthropic` provider: Anthropic's Messages API, through the official SDK. */
import type { Message, MessageParam } from '@anthropic-ai/sdk/resources/messages';
import type { AnthropicProviderConfig } from '../suite/types.js';
import { malformedAnswer, sdkErrorClasses } from './classify.js';
import { lazyModule } from './lazy-module.js';
import { sdkProvider } from './sdk-call.js';
import { estimateInputTokens } from '../resilience/token-estimate.js';
import { estimateOutputTokens } from './token-estimate.js';
import type { ChatMessage, CompletionRequest, CompletionResult, Provider } from './types.js';

const PROVIDER = 'anthropic';
/** Loads the SDK (once per process); `createProvider` starts it, `loadSdksFor` can start it earlier. */
export const loadAnthropicSdk = lazyModule(() => import('@anthropic-ai/sdk'));

/** Separates several system messages once joined into the one `system` parameter. */
const SYSTEM_SEPARATOR = '\n\n';

/** Splits troupe's messages into Anthropic's top-level `system` and its user/assistant `messages`. */
function toAnthropicRequest(messages: readonly ChatMessage[]): { system?: string; messages: MessageParam[] } {
  const system = messages.filter((message) => message.role === 'system').map((message) => message.content);
  const turns: MessageParam[] = [];
  for (const message of messages) {
    if (message.role === 'user' || message.role === 'assistant') {
      turns.push({ role: message.role, content: message.content });
    }
  }
  return system.length > 0 ? { system: system.join(SYSTEM_SEPARATOR), messages: turns } : { messages: turns };
}

function readAnswer(
  data: unknown,
  request: CompletionRequest,
  status: number,
  headers: Record<string, string>,
): CompletionResult {
  if (typeof data !== 'object' || data === null) {
    throw malformedAnswer(PROVIDER, 'the body is not a JSON object', status, headers);
  }
  const message = data as Partial<Message>;
  if (!Array.isArray(message.content)) {
    throw malformedAnswer(PROVIDER, 'no content', status, headers);
  }
  // Text blocks are consecutive pieces of one answer (split around citations), so they join without a separator.
  const text = message.content
    .filter((block): block is Extract<Message['content'][number], { type: 'text' }> => block.type === 'text')
    .map((block) => block.text)
    .join('');
  if (text === '') throw malformedAnswer(PROVIDER, 'no text content', status, headers);
  const usage = message.usage;
  return {
    text,
    usage: {
      inputTokens: usage?.input_tokens ?? estimateInputTokens(request.messages),
      outputTokens: usage?.output_tokens ?? estimateOutputTokens(text),
    },
    headers,
  };
}

/**
 * A provider for Anthropic's Messages API; the SDK's own retries are off. `temperature` is
 * not sent: the API version this SDK pins (2026-10-21) no longer has the parameter.
 */
export function createAnthropicProvider(config: AnthropicProviderConfig, apiKey: string): Provider {
  return sdkProvider({
    provider: PROVIDER,
    apiKey,
    ready: loadAnthropicSdk().then((sdk) => ({
      // authToken: null keeps an ANTHROPIC_AUTH_TOKEN in the environment from joining the key.
      client: new sdk.default({ apiKey, authToken: null, baseURL: config.baseURL, maxRetries: 0 }),
      errors: sdkErrorClasses(sdk, sdk.AnthropicError),
    })),
    send: (client, request, options) =>
      client.messages
        .create(
          { model: request.model, max_tokens: request.maxTokens, ...toAnthropicRequest(request.messages) },
          options,
        )
        .withResponse(),
    read: readAnswer,
  });
}
