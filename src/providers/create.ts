/** Builds the provider client a suite's provider entry asks for. */
import { InputError } from '../errors.js';
import type { ProviderConfig } from '../suite/types.js';
import { createAnthropicProvider, loadAnthropicSdk } from './anthropic.js';
import { createOpenAIProvider, loadOpenAISdk } from './openai.js';
import { createSimulatedProvider } from './simulated.js';
import type { Provider } from './types.js';

function requireKey(apiKey: string | undefined, type: string, apiKeyEnv: string): string {
  if (apiKey === undefined || apiKey.trim() === '') {
    throw new InputError(
      `provider type '${type}' needs an API key: set the environment variable ${apiKeyEnv}`,
    );
  }
  return apiKey;
}

/**
 * A provider client for `config`. The simulated provider needs no key; the others throw an
 * `InputError` naming the environment variable when the key is missing or blank.
 */
export function createProvider(config: ProviderConfig, apiKey: string | undefined): Provider {
  switch (config.type) {
    case 'simulated':
      return createSimulatedProvider(config);
    case 'openai':
      return createOpenAIProvider(config, requireKey(apiKey, config.type, config.apiKeyEnv));
    case 'anthropic':
      return createAnthropicProvider(config, requireKey(apiKey, config.type, config.apiKeyEnv));
    default: {
      const unhandled: never = config;
      throw new InputError(`unknown provider type ${JSON.stringify((unhandled as { type?: unknown }).type)}`);
    }
  }
}

/**
 * Loads the SDKs `providers` use (each once per process). Resolves once they are loaded; never
 * rejects: should loading fail, the first request of such a provider reports it. Loading an SDK
 * takes 100–200 ms, most of it on the event loop: started while thousands of conversations are
 * being set up, it would finish only after them, and so would the first request.
 */
export async function loadSdksFor(providers: Iterable<Pick<ProviderConfig, 'type'>>): Promise<void> {
  const types = new Set(Array.from(providers, (provider) => provider.type));
  const loads: Promise<unknown>[] = [];
  if (types.has('openai')) loads.push(loadOpenAISdk());
  if (types.has('anthropic')) loads.push(loadAnthropicSdk());
  await Promise.allSettled(loads);
  if (loads.length > 0) loadFetch();
}

/**
 * Loads Node's HTTP client, which both SDKs call through the global `fetch`. Node loads it (50 ms
 * and more) on the first use of `fetch` or of one of its classes, which would otherwise be the
 * first request after a start, while every granted request waits behind it.
 */
function loadFetch(): void {
  new Headers();
}
