/** Reads one `providers` entry into a complete `ProviderConfig`, defaults applied. */

import {
  DEFAULT_ANTHROPIC_API_KEY_ENV,
  DEFAULT_BREAKER,
  DEFAULT_OPENAI_API_KEY_ENV,
  DEFAULT_RETRY,
  DEFAULT_SIMULATED_LATENCY_MS,
} from './defaults.js';
import { DIALECT_NAMES } from '../resilience/header-dialects.js';
import { sharedLimitsReader } from './shared-limits-reader.js';
import { envVarNameReader, httpUrlReader, timerMsReader } from './readers.js';
import {
  hasKey,
  nonNegativeNumber,
  numberInRange,
  oneOf,
  optionalField,
  positiveInteger,
  readMapping,
  requiredField,
  type Checker,
  type FieldPath,
  type Reader,
} from './schema-check.js';
import {
  PROVIDER_TYPES,
  type BreakerPolicy,
  type ProviderConfig,
  type ProviderLimits,
  type RetryPolicy,
} from './types.js';

type ProviderType = (typeof PROVIDER_TYPES)[number];

const COMMON_KEYS = ['type', 'limits', 'retry', 'breaker', 'sharedLimits'] as const;
const KEYS_BY_TYPE: Readonly<Record<ProviderType, readonly string[]>> = {
  simulated: [...COMMON_KEYS, 'latencyMs'],
  openai: [...COMMON_KEYS, 'baseURL', 'apiKeyEnv', 'headers'],
  anthropic: [...COMMON_KEYS, 'baseURL', 'apiKeyEnv', 'headers'],
};
const ALL_KEYS = [...new Set(Object.values(KEYS_BY_TYPE).flat())];

const DEFAULT_API_KEY_ENV: Readonly<Record<'openai' | 'anthropic', string>> = {
  openai: DEFAULT_OPENAI_API_KEY_ENV,
  anthropic: DEFAULT_ANTHROPIC_API_KEY_ENV,
};

const providerType = oneOf(PROVIDER_TYPES);
const dialectName = oneOf(DIALECT_NAMES);

/** Reads `providers.<id>`; reports every problem and returns `undefined` if there was one. */
export function readProvider(check: Checker, value: unknown, path: FieldPath): ProviderConfig | undefined {
  const before = check.problems.length;
  // The known keys depend on the type, so the type is read before the keys are checked.
  const rawType =
    typeof value === 'object' && value !== null ? (value as { type?: unknown }).type : undefined;
  const knownType = PROVIDER_TYPES.find((t) => t === rawType);
  const known = knownType === undefined ? ALL_KEYS : KEYS_BY_TYPE[knownType];
  const what = knownType === undefined ? undefined : `a provider of type ${knownType}`;
  const entry = readMapping(check, value, path, known, what);
  if (entry === undefined) return undefined;

  const type = requiredField(check, entry, 'type', path, providerType);
  const limits = optionalField(check, entry, 'limits', path, limitsReader);
  const retry = readRetry(check, entry.retry, [...path, 'retry']);
  const breaker = readBreaker(check, entry.breaker, [...path, 'breaker']);
  const sharedLimits = optionalField(check, entry, 'sharedLimits', path, sharedLimitsReader);
  if (type === 'simulated') {
    const latencyMs = optionalField(check, entry, 'latencyMs', path, nonNegativeNumber);
    if (check.problems.length > before || retry === undefined || breaker === undefined) return undefined;
    return withLimits(
      {
        type,
        latencyMs: latencyMs ?? DEFAULT_SIMULATED_LATENCY_MS,
        retry,
        breaker,
        ...(sharedLimits && { sharedLimits }),
      },
      limits,
    );
  }
  if (type === 'openai' || type === 'anthropic') {
    const baseURL = optionalField(check, entry, 'baseURL', path, httpUrlReader);
    const apiKeyEnv = optionalField(check, entry, 'apiKeyEnv', path, envVarNameReader);
    const headers = optionalField(check, entry, 'headers', path, dialectName);
    if (check.problems.length > before || retry === undefined || breaker === undefined) return undefined;
    const config = {
      type,
      apiKeyEnv: apiKeyEnv ?? DEFAULT_API_KEY_ENV[type],
      retry,
      breaker,
      ...(headers !== undefined && { headers }),
      ...(sharedLimits && { sharedLimits }),
    };
    return withLimits(baseURL === undefined ? config : { ...config, baseURL }, limits);
  }
  return undefined;
}

function withLimits<T extends ProviderConfig>(config: T, limits: ProviderLimits | undefined): T {
  return limits === undefined ? config : { ...config, limits };
}

const LIMIT_KEYS = ['requestsPerMinute', 'tokensPerMinute', 'maxConcurrency'] as const;

/** A spend cap: a finite number of US dollars above 0. */
export const costCapReader: Reader<number> = numberInRange(0, Number.MAX_VALUE, true);

const limitsReader: Reader<ProviderLimits> = {
  expected: `a mapping of ${LIMIT_KEYS.join(', ')}, maxCostUsd`,
  read(check, value, path) {
    const before = check.problems.length;
    const entry = readMapping(check, value, path, [...LIMIT_KEYS, 'maxCostUsd']);
    if (entry === undefined) return undefined;
    const limits: Record<string, number> = {};
    for (const key of LIMIT_KEYS) {
      const limit = optionalField(check, entry, key, path, positiveInteger);
      if (limit !== undefined) limits[key] = limit;
    }
    const cap = optionalField(check, entry, 'maxCostUsd', path, costCapReader);
    if (cap !== undefined) limits.maxCostUsd = cap;
    return check.problems.length > before ? undefined : limits;
  },
};

/**
 * Reads a mapping of numeric policy fields, each optional, over `defaults`, then checks that
 * `field` is at least `floorField`. Every bad field is reported; any problem gives `undefined`.
 */
function readPolicy<T extends object>(
  check: Checker,
  value: unknown,
  path: FieldPath,
  defaults: T,
  readers: Readonly<Record<keyof T & string, Reader<number>>>,
  [field, floorField]: readonly [keyof T & string, keyof T & string],
): T | undefined {
  if (value === undefined) return { ...defaults };
  const before = check.problems.length;
  const keys = Object.keys(readers) as (keyof T & string)[];
  const entry = readMapping(check, value, path, keys);
  if (entry === undefined) return undefined;
  const policy: Record<string, number> = { ...(defaults as object) };
  const bad = new Set<string>();
  for (const key of keys) {
    const read = optionalField(check, entry, key, path, readers[key]);
    if (read !== undefined) policy[key] = read;
    else if (hasKey(entry, key)) bad.add(key);
  }
  const least = policy[floorField] ?? 0;
  const actual = policy[field] ?? 0;
  // A bad field still holds its default here; comparing that would report a second, false problem.
  if (!bad.has(field) && !bad.has(floorField) && actual < least) {
    check.report([...path, field], `expected at least ${floorField} (${least}), found ${actual}`);
  }
  return check.problems.length > before ? undefined : (policy as T);
}

function readRetry(check: Checker, value: unknown, path: FieldPath): RetryPolicy | undefined {
  return readPolicy<RetryPolicy>(
    check,
    value,
    path,
    DEFAULT_RETRY,
    {
      maxAttempts: positiveInteger,
      baseDelayMs: timerMsReader(0),
      maxDelayMs: timerMsReader(1),
      timeoutMs: timerMsReader(1),
      maxPauseMs: timerMsReader(1),
    },
    ['maxDelayMs', 'baseDelayMs'],
  );
}

function readBreaker(check: Checker, value: unknown, path: FieldPath): BreakerPolicy | undefined {
  return readPolicy<BreakerPolicy>(
    check,
    value,
    path,
    DEFAULT_BREAKER,
    {
      consecutiveFailures: positiveInteger,
      failureRatio: numberInRange(0, 1, true),
      windowMs: timerMsReader(1),
      minRequests: positiveInteger,
      coolDownMs: timerMsReader(1),
      maxCoolDownMs: timerMsReader(1),
      probesToClose: positiveInteger,
    },
    ['maxCoolDownMs', 'coolDownMs'],
  );
}
