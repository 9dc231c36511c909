/**
 * Checks a suite's `sharedLimits` before a job exists: the password's variable is set, and the
 * store answers with that password. A problem is a `SuiteError` (exit code 2) naming the field;
 * the password never appears in it.
 */
import { formatPath } from '../suite/schema-check.js';
import { SuiteError } from '../suite/suite-error.js';
import type { SuiteSettings } from '../suite/types.js';
import type { SharedLimitsConfig } from './config.js';
import { StoreClient } from './store-client.js';
import { CoordinationFailure } from './store-client.js';

/** A provider's shared limits with the password read from the environment. */
export interface ResolvedSharedLimits {
  readonly config: SharedLimitsConfig;
  readonly password?: string;
}

/** The providers of `suite` that models use and that name `sharedLimits`, by provider id. */
function sharedProviders(suite: SuiteSettings): [string, SharedLimitsConfig][] {
  const used = new Set(suite.models.map((model) => model.provider));
  return Object.entries(suite.providers).flatMap(([id, provider]) =>
    provider.sharedLimits !== undefined && used.has(id)
      ? [[id, provider.sharedLimits] as [string, SharedLimitsConfig]]
      : [],
  );
}

/**
 * Reads the password of every used provider's `sharedLimits` from `env`, by provider id. Throws
 * a `SuiteError` naming each `passwordEnv` whose variable is unset or empty.
 */
export function resolveSharedLimits(
  suite: SuiteSettings,
  env: NodeJS.ProcessEnv,
  suitePath: string,
): Map<string, ResolvedSharedLimits> {
  const resolved = new Map<string, ResolvedSharedLimits>();
  const problems: string[] = [];
  for (const [id, config] of sharedProviders(suite)) {
    if (config.passwordEnv === undefined) {
      resolved.set(id, { config });
      continue;
    }
    const password = env[config.passwordEnv];
    if (password === undefined || password === '') {
      const field = formatPath(['providers', id, 'sharedLimits', 'passwordEnv']);
      const state = password === undefined ? 'is not set' : 'is empty';
      problems.push(`${suitePath}: ${field}: environment variable ${config.passwordEnv} ${state}`);
    } else {
      resolved.set(id, { config, password });
    }
  }
  if (problems.length > 0) throw new SuiteError(problems);
  return resolved;
}

/**
 * Connects to every store the suite names and checks its password: a refused password is a
 * problem at `passwordEnv`, a store that cannot be reached at all a problem at `url` (a wrong
 * host or port, most likely). Throws a `SuiteError` listing them.
 */
export async function checkSharedLimits(
  suite: SuiteSettings,
  env: NodeJS.ProcessEnv,
  suitePath: string,
): Promise<void> {
  const resolved = resolveSharedLimits(suite, env, suitePath);
  const problems = await Promise.all(
    [...resolved].map(async ([id, { config, password }]) => {
      const client = new StoreClient({ url: config.url, ...(password !== undefined && { password }) });
      try {
        await client.check();
        return undefined;
      } catch (error) {
        if (!(error instanceof CoordinationFailure)) throw error;
        const auth = error.error.code === 'troupe:coordination-auth';
        const field = formatPath(['providers', id, 'sharedLimits', auth ? 'passwordEnv' : 'url']);
        return `${suitePath}: ${field}: ${error.error.message}`;
      } finally {
        await client.close();
      }
    }),
  );
  const found = problems.filter((p): p is string => p !== undefined);
  if (found.length > 0) throw new SuiteError(found);
}
