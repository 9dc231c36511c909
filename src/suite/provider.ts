/** The schema of one `providers` entry: a complete `ProviderConfig`, defaults applied. */

import * as v from 'valibot';
import {
  DEFAULT_ANTHROPIC_API_KEY_ENV,
  DEFAULT_BREAKER,
  DEFAULT_OPENAI_API_KEY_ENV,
  DEFAULT_RETRY,
  DEFAULT_SIMULATED_LATENCY_MS,
} from './defaults.js';
import { DIALECT_NAMES } from '../resilience/header-dialects.js';
import { sharedLimitsSchema } from './shared-limits-reader.js';
import { envVarNameSchema, httpUrlSchema, timerMs } from './readers.js';
import { hasKey, isMapping, type Mapping } from './schema-check.js';
import {
  atLeast,
  expectedOf,
  pathTo,
  keyed,
  mapping,
  nonNegativeNumber,
  numberInRange,
  oneOf,
  positiveInteger,
  valueOf,
  type Schema,
} from './schemas.js';
import {
  PROVIDER_TYPES,
  type BreakerPolicy,
  type ProviderConfig,
  type ProviderLimits,
  type RetryPolicy,
} from './types.js';

/** A spend cap: a finite number of US dollars above 0. */
export const costCapSchema = numberInRange(0, Number.MAX_VALUE, true);

const limitsSchema: Schema<ProviderLimits> = mapping({
  requestsPerMinute: v.optional(positiveInteger),
  tokensPerMinute: v.optional(positiveInteger),
  maxConcurrency: v.optional(positiveInteger),
  maxCostUsd: v.optional(costCapSchema),
});

/**
 * A mapping of numeric policy fields, each optional over `defaults` (the whole mapping too), in
 * which `field` must be at least `floor`.
 */
function policy<T extends object>(
  defaults: T,
  schemas: Readonly<Record<keyof T & string, Schema<number>>>,
  [field, floor]: readonly [keyof T & string, keyof T & string],
): Schema<T> {
  const entries = Object.fromEntries(
    Object.entries<Schema<number>>(schemas).map(([key, schema]) => [
      key,
      v.optional(schema, defaults[key as keyof T] as number),
    ]),
  );
  return v.optional(v.pipe(mapping(entries), atLeast(field, floor)), {}) as Schema<T>;
}

const retrySchema = policy<RetryPolicy>(
  DEFAULT_RETRY,
  {
    maxAttempts: positiveInteger,
    baseDelayMs: timerMs(0),
    maxDelayMs: timerMs(1),
    timeoutMs: timerMs(1),
    maxPauseMs: timerMs(1),
  },
  ['maxDelayMs', 'baseDelayMs'],
);

const breakerSchema = policy<BreakerPolicy>(
  DEFAULT_BREAKER,
  {
    consecutiveFailures: positiveInteger,
    failureRatio: numberInRange(0, 1, true),
    windowMs: timerMs(1),
    minRequests: positiveInteger,
    coolDownMs: timerMs(1),
    maxCoolDownMs: timerMs(1),
    probesToClose: positiveInteger,
  },
  ['maxCoolDownMs', 'coolDownMs'],
);

const common = {
  limits: v.optional(limitsSchema),
  retry: retrySchema,
  breaker: breakerSchema,
  sharedLimits: v.optional(sharedLimitsSchema),
};

/** The fields of a provider behind an HTTP API, its key read from `apiKeyEnv` (`defaultKeyEnv` by default). */
function apiProvider<const T extends 'openai' | 'anthropic'>(type: T, defaultKeyEnv: string) {
  return keyed(
    {
      type: v.literal(type),
      ...common,
      baseURL: v.optional(httpUrlSchema),
      apiKeyEnv: v.optional(envVarNameSchema, defaultKeyEnv),
      headers: v.optional(oneOf(DIALECT_NAMES)),
    },
    `a provider of type ${type}`,
  );
}

const providerType = oneOf(PROVIDER_TYPES);
const isProviderType = (value: unknown): boolean => v.is(providerType, value);

/**
 * A provider without a known `type`: its type is the problem, and its other fields are still
 * checked, against the keys of every type.
 */
const untyped = v.pipe(
  keyed({
    type: v.optional(v.custom((value) => !isProviderType(value))),
    ...common,
    latencyMs: v.optional(nonNegativeNumber),
    baseURL: v.optional(httpUrlSchema),
    apiKeyEnv: v.optional(envVarNameSchema),
    headers: v.optional(oneOf(DIALECT_NAMES)),
  }),
  v.rawCheck(({ dataset, addIssue }) => {
    const input = dataset.value as Mapping;
    addIssue({
      message: hasKey(input, 'type')
        ? (v.safeParse(providerType, input.type).issues?.[0].message ?? '')
        : `missing (expected ${expectedOf(providerType)})`,
      path: pathTo(['type']),
    });
  }),
);

/** `providers.<id>`: its known keys depend on its `type`. */
export const providerSchema = v.pipe(
  valueOf('a mapping', isMapping),
  v.variant('type', [
    keyed(
      {
        type: v.literal('simulated'),
        ...common,
        latencyMs: v.optional(nonNegativeNumber, DEFAULT_SIMULATED_LATENCY_MS),
      },
      'a provider of type simulated',
    ),
    apiProvider('openai', DEFAULT_OPENAI_API_KEY_ENV),
    apiProvider('anthropic', DEFAULT_ANTHROPIC_API_KEY_ENV),
    untyped,
  ]),
) as Schema<ProviderConfig>;
