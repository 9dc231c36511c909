/**
 * The rate-limit header dialects troupe reads, as data: which header says what, in what unit, and
 * over what period — only where the provider's documentation states the period. One table, so
 * that adding a provider is adding a row, and the README's table says the same as the code.
 */

/** The kinds of limit a provider may announce. */
export type LimitKind = 'requests' | 'tokens' | 'inputTokens' | 'outputTokens';

/** All limit kinds, in a fixed order. */
export const LIMIT_KINDS: readonly LimitKind[] = ['requests', 'tokens', 'inputTokens', 'outputTokens'];

/** The dialects a provider's `headers` field may name. */
export const DIALECT_NAMES = [
  'openai',
  'anthropic',
  'groq',
  'together',
  'azure',
  'openrouter',
  'ietf',
  'none',
] as const;

/** One of `DIALECT_NAMES`. */
export type DialectName = (typeof DIALECT_NAMES)[number];

/**
 * How a reset header is written:
 * - `duration`: time until the reset, Go style (`1s`, `6m0s`, `20ms`); a timestamp is accepted too;
 * - `rfc3339`: the time of the reset (`2025-10-25T12:00:17Z`); a duration is accepted too;
 * - `seconds`: time until the reset, in seconds (`7`, `0.5`);
 * - `epoch-ms`: the time of the reset, in ms since the epoch (`1761393600000`).
 */
export type ResetFormat = 'duration' | 'rfc3339' | 'seconds' | 'epoch-ms';

/** The headers of one limit in a dialect. */
export interface LimitHeaderNames {
  /** Units the limit allows per period. */
  readonly limit?: string;
  /** Units left. */
  readonly remaining: string;
  /** When the limit is replenished. */
  readonly reset?: string;
  /** How `reset` is written. */
  readonly resetFormat: ResetFormat;
  /**
   * The period the limit counts over, in ms, where the documentation states it; otherwise troupe
   * infers it from limit, remaining and reset (see `inferPeriodMs`) or leaves it unknown.
   */
  readonly periodMs?: number;
}

/** One dialect: a row of the table. */
export interface HeaderDialect {
  readonly name: DialectName;
  /** The limits it announces, by kind. */
  readonly limits: Readonly<Partial<Record<LimitKind, LimitHeaderNames>>>;
  /**
   * True for the IETF RateLimit draft's structured fields (`RateLimit-Policy: 10;w=1`,
   * `RateLimit: "default";r=5;t=3`), read by their own parser rather than by `limits`.
   */
  readonly structured?: boolean;
  /**
   * How long a `remaining` announced without a reset time holds, in ms: the provider's window
   * where it is documented (Azure: 10 s), else a minute.
   */
  readonly remainingHoldsMs: number;
  /** One line for the README and `--help`: what it reads and assumes. */
  readonly summary: string;
}

const SECOND_MS = 1_000;
const MINUTE_MS = 60_000;
const DAY_MS = 86_400_000;
const AZURE_WINDOW_MS = 10_000;

const xRateLimit = (suffix: string, resetFormat: ResetFormat, periodMs?: number): LimitHeaderNames => ({
  limit: `x-ratelimit-limit-${suffix}`,
  remaining: `x-ratelimit-remaining-${suffix}`,
  reset: `x-ratelimit-reset-${suffix}`,
  resetFormat,
  ...(periodMs !== undefined && { periodMs }),
});

const anthropic = (prefix: string): LimitHeaderNames => ({
  limit: `anthropic-ratelimit-${prefix}-limit`,
  remaining: `anthropic-ratelimit-${prefix}-remaining`,
  reset: `anthropic-ratelimit-${prefix}-reset`,
  resetFormat: 'rfc3339',
  periodMs: MINUTE_MS,
});

/** The table. */
export const HEADER_DIALECTS: Readonly<Record<DialectName, HeaderDialect>> = {
  openai: {
    name: 'openai',
    limits: { requests: xRateLimit('requests', 'duration'), tokens: xRateLimit('tokens', 'duration') },
    remainingHoldsMs: MINUTE_MS,
    summary:
      'x-ratelimit-{limit,remaining,reset}-{requests,tokens}, resets as durations (6m0s); period not stated: inferred',
  },
  anthropic: {
    name: 'anthropic',
    limits: {
      requests: anthropic('requests'),
      tokens: anthropic('tokens'),
      inputTokens: anthropic('input-tokens'),
      outputTokens: anthropic('output-tokens'),
    },
    remainingHoldsMs: MINUTE_MS,
    summary:
      'anthropic-ratelimit-{requests,tokens,input-tokens,output-tokens}-{limit,remaining,reset}, resets as RFC 3339 times; per minute',
  },
  groq: {
    name: 'groq',
    limits: {
      requests: xRateLimit('requests', 'duration', DAY_MS),
      tokens: xRateLimit('tokens', 'duration', MINUTE_MS),
    },
    remainingHoldsMs: MINUTE_MS,
    summary:
      'x-ratelimit-*-requests per day, x-ratelimit-*-tokens per minute, resets as durations (2m59.56s)',
  },
  together: {
    name: 'together',
    limits: {
      requests: {
        limit: 'x-ratelimit-limit',
        remaining: 'x-ratelimit-remaining',
        reset: 'x-ratelimit-reset',
        resetFormat: 'seconds',
        periodMs: SECOND_MS,
      },
      tokens: {
        limit: 'x-ratelimit-limit-tokens',
        remaining: 'x-ratelimit-remaining-tokens',
        resetFormat: 'seconds',
        periodMs: SECOND_MS,
      },
    },
    remainingHoldsMs: SECOND_MS,
    summary:
      'x-ratelimit-{limit,remaining,reset} (requests) and x-ratelimit-*-tokens, per second; reset in seconds',
  },
  azure: {
    name: 'azure',
    limits: {
      requests: { remaining: 'x-ratelimit-remaining-requests', resetFormat: 'seconds' },
      tokens: { remaining: 'x-ratelimit-remaining-tokens', resetFormat: 'seconds' },
    },
    remainingHoldsMs: AZURE_WINDOW_MS,
    summary: 'x-ratelimit-remaining-{requests,tokens} only (no limit, no reset): held for its 10 s window',
  },
  openrouter: {
    name: 'openrouter',
    limits: {
      requests: {
        limit: 'x-ratelimit-limit',
        remaining: 'x-ratelimit-remaining',
        reset: 'x-ratelimit-reset',
        resetFormat: 'epoch-ms',
      },
    },
    remainingHoldsMs: MINUTE_MS,
    summary: 'X-RateLimit-{Limit,Remaining,Reset} (requests), reset in ms since the epoch; period inferred',
  },
  ietf: {
    name: 'ietf',
    limits: {},
    structured: true,
    remainingHoldsMs: MINUTE_MS,
    summary:
      'RateLimit-Limit/-Remaining/-Reset (seconds) with RateLimit-Policy: limit;w=seconds, or RateLimit: "p";r=;t= with RateLimit-Policy: "p";q=;w=',
  },
  none: {
    name: 'none',
    limits: {},
    remainingHoldsMs: MINUTE_MS,
    summary: 'reads nothing but retry-after (vLLM, Ollama, llama.cpp servers): adaptive concurrency explores',
  },
};

/** What `dialectFor` needs of a provider's configuration. */
export interface DialectSource {
  readonly type: 'simulated' | 'openai' | 'anthropic';
  readonly baseURL?: string;
  /** The suite's `headers`, if it names one. */
  readonly headers?: DialectName;
}

// Hosts whose dialect is known; any other OpenAI-compatible server is read as OpenAI's (a server
// that sends nothing is then explored by adaptive concurrency, as with `none`).
const DIALECT_OF_HOST: readonly (readonly [RegExp, DialectName])[] = [
  [/(^|\.)groq\.com$/, 'groq'],
  [/(^|\.)together\.(xyz|ai)$/, 'together'],
  [/(^|\.)openai\.azure\.com$|(^|\.)azure-api\.net$/, 'azure'],
  [/(^|\.)openrouter\.ai$/, 'openrouter'],
  [/(^|\.)anthropic\.com$/, 'anthropic'],
];

/** The dialect of a provider: its `headers` field, else one chosen from its type and base URL. */
export function dialectFor(source: DialectSource): HeaderDialect {
  if (source.headers !== undefined) return HEADER_DIALECTS[source.headers];
  if (source.type === 'simulated') return HEADER_DIALECTS.none;
  const host =
    source.baseURL !== undefined && URL.canParse(source.baseURL) ? new URL(source.baseURL).hostname : '';
  const known = DIALECT_OF_HOST.find(([pattern]) => pattern.test(host));
  if (known) return HEADER_DIALECTS[known[1]];
  return HEADER_DIALECTS[source.type === 'anthropic' ? 'anthropic' : 'openai'];
}

/**
 * The period of a limit whose documentation does not state it, in ms, read from one reading as
 * the provider's own bucket describes itself: `limit − remaining` units come back by the reset, so
 * the whole `limit` comes back in `(reset − now) × limit / (limit − remaining)`. Undefined when
 * nothing is used (`remaining = limit`) or the reading lacks a part.
 */
export function inferPeriodMs(
  reading: { readonly limit?: number; readonly remaining?: number; readonly resetAtMs?: number },
  now: number,
): number | undefined {
  const { limit, remaining, resetAtMs } = reading;
  if (limit === undefined || remaining === undefined || resetAtMs === undefined) return undefined;
  const used = limit - remaining;
  if (!(used > 0) || !(resetAtMs > now)) return undefined;
  return ((resetAtMs - now) * limit) / used;
}
