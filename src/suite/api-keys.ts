/** Reads the API keys a suite needs from the environment, before any request is made. */

import { formatPath } from './schema-check.js';
import { SuiteError } from './suite-error.js';
import type { ProviderConfig, SuiteSettings } from './types.js';

/** The environment variable a provider's key is read from, or `undefined` if it needs none. */
export function apiKeyEnvOf(provider: ProviderConfig): string | undefined {
  switch (provider.type) {
    case 'simulated':
      return undefined;
    case 'openai':
    case 'anthropic':
      return provider.apiKeyEnv;
    default: {
      const _exhaustive: never = provider;
      return _exhaustive;
    }
  }
}

/**
 * The key of every provider that some model uses and whose type needs one, by provider id.
 * Throws a `SuiteError` (exit code 2) naming every provider whose variable is unset or empty;
 * `suitePath` names the file in those messages. A key's value never appears in a message.
 */
export function resolveApiKeys(
  suite: SuiteSettings,
  env: NodeJS.ProcessEnv,
  suitePath: string,
): Map<string, string> {
  const used = new Set(suite.models.map((model) => model.provider));
  const keys = new Map<string, string>();
  const problems: string[] = [];
  for (const [id, provider] of Object.entries(suite.providers)) {
    const variable = apiKeyEnvOf(provider);
    if (variable === undefined || !used.has(id)) continue;
    const key = env[variable];
    if (key === undefined || key.trim() === '') {
      const state = key === undefined ? 'is not set' : 'is empty';
      const field = formatPath(['providers', id, 'apiKeyEnv']);
      problems.push(
        `${suitePath}: ${field}: environment variable ${variable} ${state} (export it, or name another variable in apiKeyEnv)`,
      );
    } else {
      keys.set(id, key);
    }
  }
  if (problems.length > 0) throw new SuiteError(problems);
  return keys;
}
