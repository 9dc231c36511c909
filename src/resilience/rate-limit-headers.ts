/**
 * Reads the rate-limit state a provider announces in its response headers. Malformed or missing
 * values are left out, never thrown: a header is a hint, and a bad hint must not fail a turn.
 */
import { parseRetryAfterMs } from './retry-after.js';

/** One limit as a provider reported it; each field only when its header was present and valid. */
export interface LimitReading {
  /** Units (requests or tokens) the limit allows per period. */
  readonly limit?: number;
  /** Units left before the provider refuses requests. */
  readonly remaining?: number;
  /** When the limit is fully replenished, ms since the epoch. */
  readonly resetAtMs?: number;
}

/** Everything a response's headers said about rate limits. */
export interface LearnedLimits {
  /** Requests per period (OpenAI and Anthropic: per minute). */
  readonly requests?: LimitReading;
  /** Input + output tokens (Anthropic: the most restrictive token limit in effect). */
  readonly tokens?: LimitReading;
  /** Anthropic's input-tokens-per-minute limit. */
  readonly inputTokens?: LimitReading;
  /** Anthropic's output-tokens-per-minute limit. */
  readonly outputTokens?: LimitReading;
  /** How long the provider asks to wait before the next request, in ms (`retry-after-ms`, `retry-after`). */
  readonly retryAfterMs?: number;
}

/** The kinds of limit a provider may announce (the keys of `LearnedLimits` that hold a `LimitReading`). */
export type LimitKind = 'requests' | 'tokens' | 'inputTokens' | 'outputTokens';

/** All limit kinds, in a fixed order. */
export const LIMIT_KINDS: readonly LimitKind[] = ['requests', 'tokens', 'inputTokens', 'outputTokens'];

interface HeaderNames {
  readonly limit: string;
  readonly remaining: string;
  readonly reset: string;
}

const openAI = (suffix: string): HeaderNames => ({
  limit: `x-ratelimit-limit-${suffix}`,
  remaining: `x-ratelimit-remaining-${suffix}`,
  reset: `x-ratelimit-reset-${suffix}`,
});

const anthropic = (prefix: string): HeaderNames => ({
  limit: `anthropic-ratelimit-${prefix}-limit`,
  remaining: `anthropic-ratelimit-${prefix}-remaining`,
  reset: `anthropic-ratelimit-${prefix}-reset`,
});

// Where both families are present (a proxy in front of either), the first one that parses wins.
const HEADER_NAMES: Readonly<Record<LimitKind, readonly HeaderNames[]>> = {
  requests: [openAI('requests'), anthropic('requests')],
  tokens: [openAI('tokens'), anthropic('tokens')],
  inputTokens: [anthropic('input-tokens')],
  outputTokens: [anthropic('output-tokens')],
};

const MS_PER_UNIT: Readonly<Record<string, number>> = {
  h: 3_600_000,
  m: 60_000,
  s: 1_000,
  ms: 1,
  us: 1e-3,
  µs: 1e-3,
  μs: 1e-3,
  ns: 1e-6,
};

// Longer unit names come first so that `ms` is not read as `m` followed by garbage.
const DURATION_PART = /(\d+(?:\.\d*)?|\.\d+)(ns|us|µs|μs|ms|h|m|s)/y;
const DECIMAL = /^\d+(?:\.\d+)?$/;
const RFC3339 = /^\d{4}-\d{2}-\d{2}[Tt ]\d{2}:\d{2}:\d{2}(?:\.\d+)?(?:[Zz]|[+-]\d{2}:\d{2})$/;

/**
 * Parses a Go-style duration as OpenAI sends it (`6m0s`, `20ms`, `1s`, `1m30.5s`, `0s`, `2h3m`)
 * into ms. Units: h, m, s, ms, us/µs, ns; a bare `0` is allowed. Undefined when malformed.
 */
export function parseDurationMs(text: string): number | undefined {
  const s = text.trim();
  if (s === '0') return 0;
  if (s === '') return undefined;
  let total = 0;
  let pos = 0;
  while (pos < s.length) {
    DURATION_PART.lastIndex = pos;
    const match = DURATION_PART.exec(s);
    if (!match) return undefined;
    total += Number(match[1]) * MS_PER_UNIT[match[2]!]!;
    pos = DURATION_PART.lastIndex;
  }
  return Number.isFinite(total) ? total : undefined;
}

/** Parses an RFC 3339 timestamp (Anthropic's resets) into ms since the epoch; undefined when malformed. */
export function parseRfc3339Ms(text: string): number | undefined {
  const s = text.trim();
  if (!RFC3339.test(s)) return undefined;
  const ms = Date.parse(s);
  return Number.isNaN(ms) ? undefined : ms;
}

/**
 * Reads OpenAI (`x-ratelimit-*`) and Anthropic (`anthropic-ratelimit-*`) rate-limit headers and
 * the retry-after hints. `headers` has lower-cased names (others are lower-cased first); `now`
 * (ms since the epoch) turns OpenAI's relative resets into times.
 */
export function parseRateLimitHeaders(headers: Readonly<Record<string, string>>, now: number): LearnedLimits {
  const h = lowerCased(headers);
  const learned: { -readonly [K in keyof LearnedLimits]: LearnedLimits[K] } = {};
  for (const kind of LIMIT_KINDS) {
    for (const names of HEADER_NAMES[kind]) {
      const reading = readLimit(h, names, now);
      if (reading) {
        learned[kind] = reading;
        break;
      }
    }
  }
  const retryAfterMs = parseRetryAfterMs(h, now);
  if (retryAfterMs !== undefined) learned.retryAfterMs = retryAfterMs;
  return learned;
}

/**
 * True if `headers` hold no rate-limit header of any kind, read here or not (`x-ratelimit-*`,
 * `anthropic-ratelimit-*`, the IETF draft's `ratelimit-*`, `retry-after*`): the provider
 * publishes no budget. Judged by name, so that a header this reader cannot parse still counts as
 * a budget the provider has.
 */
export function publishesNoBudget(headers: Readonly<Record<string, string>>): boolean {
  return !Object.keys(headers).some((name) => /ratelimit|rate-limit|retry-after/i.test(name));
}

function readLimit(
  h: Readonly<Record<string, string>>,
  names: HeaderNames,
  now: number,
): LimitReading | undefined {
  const limit = parseCount(h[names.limit]);
  const remaining = parseCount(h[names.remaining]);
  const resetAtMs = parseReset(h[names.reset], now);
  if (limit === undefined && remaining === undefined && resetAtMs === undefined) return undefined;
  return {
    ...(limit !== undefined && { limit }),
    ...(remaining !== undefined && { remaining }),
    ...(resetAtMs !== undefined && { resetAtMs }),
  };
}

function parseCount(value: string | undefined): number | undefined {
  const s = value?.trim();
  return s !== undefined && DECIMAL.test(s) ? Number(s) : undefined;
}

// OpenAI sends a duration, Anthropic a timestamp; compatible servers mix them up, so accept either.
function parseReset(value: string | undefined, now: number): number | undefined {
  if (value === undefined) return undefined;
  const duration = parseDurationMs(value);
  if (duration !== undefined) return now + duration;
  return parseRfc3339Ms(value);
}

function lowerCased(headers: Readonly<Record<string, string>>): Readonly<Record<string, string>> {
  const names = Object.keys(headers);
  if (names.every((name) => name === name.toLowerCase())) return headers;
  const out: Record<string, string> = {};
  for (const name of names) out[name.toLowerCase()] = headers[name]!;
  return out;
}
