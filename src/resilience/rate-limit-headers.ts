/**
 * Reads the rate-limit state a provider announces in its response headers, in the provider's
 * dialect (`header-dialects.ts`). Malformed or missing values are left out, never thrown: a header
 * is a hint, and a bad hint must not fail a turn.
 */
import {
  inferPeriodMs,
  LIMIT_KINDS,
  type HeaderDialect,
  type LimitHeaderNames,
  type ResetFormat,
} from './header-dialects.js';
import { parseRetryAfterMs } from './retry-after.js';

export { LIMIT_KINDS, type LimitKind } from './header-dialects.js';

/** One limit as a provider reported it; each field only when its header was present and valid. */
export interface LimitReading {
  /** Units (requests or tokens) the limit allows per period. */
  readonly limit?: number;
  /** Units left before the provider refuses requests. */
  readonly remaining?: number;
  /** When the limit is fully replenished, ms since the epoch. */
  readonly resetAtMs?: number;
  /** The period `limit` counts over, in ms: as the dialect states it, or inferred from the reading. */
  readonly periodMs?: number;
  /** True if `periodMs` was inferred rather than stated. */
  readonly periodInferred?: boolean;
}

/** Everything a response's headers said about rate limits. */
export interface LearnedLimits {
  /** Requests per period. */
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
 * Reads the rate-limit headers of `dialect` and the retry-after hints. Header names are matched
 * case-insensitively; `now` (ms since the epoch) turns relative resets into times.
 */
export function parseRateLimitHeaders(
  headers: Readonly<Record<string, string>>,
  now: number,
  dialect: HeaderDialect,
): LearnedLimits {
  const h = lowerCased(headers);
  const learned: { -readonly [K in keyof LearnedLimits]: LearnedLimits[K] } = dialect.structured
    ? readStructured(h, now)
    : {};
  for (const kind of LIMIT_KINDS) {
    const names = dialect.limits[kind];
    const reading = names && readLimit(h, names, now);
    if (reading) learned[kind] = reading;
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
  names: LimitHeaderNames,
  now: number,
): LimitReading | undefined {
  const limit = names.limit === undefined ? undefined : parseCount(h[names.limit]);
  const remaining = parseCount(h[names.remaining]);
  const resetAtMs =
    names.reset === undefined ? undefined : parseReset(h[names.reset], names.resetFormat, now);
  if (limit === undefined && remaining === undefined && resetAtMs === undefined) return undefined;
  return withPeriod({ limit, remaining, resetAtMs }, names.periodMs, now);
}

/** A reading with its period: the stated one, else the one it implies, else none. */
function withPeriod(
  parts: { limit?: number; remaining?: number; resetAtMs?: number },
  statedPeriodMs: number | undefined,
  now: number,
): LimitReading {
  const inferred = statedPeriodMs === undefined ? inferPeriodMs(parts, now) : undefined;
  return {
    ...(parts.limit !== undefined && { limit: parts.limit }),
    ...(parts.remaining !== undefined && { remaining: parts.remaining }),
    ...(parts.resetAtMs !== undefined && { resetAtMs: parts.resetAtMs }),
    ...(statedPeriodMs !== undefined && { periodMs: statedPeriodMs }),
    ...(inferred !== undefined && { periodMs: inferred, periodInferred: true }),
  };
}

function parseCount(value: string | undefined): number | undefined {
  const s = value?.trim();
  return s !== undefined && DECIMAL.test(s) ? Number(s) : undefined;
}

function parseReset(value: string | undefined, format: ResetFormat, now: number): number | undefined {
  if (value === undefined) return undefined;
  switch (format) {
    // OpenAI sends a duration, Anthropic a timestamp; compatible servers mix them up, so accept either.
    case 'duration':
    case 'rfc3339': {
      const duration = parseDurationMs(value);
      if (duration !== undefined) return now + duration;
      return parseRfc3339Ms(value);
    }
    case 'seconds': {
      const seconds = parseCount(value);
      return seconds === undefined ? undefined : now + seconds * MS_PER_UNIT.s!;
    }
    case 'epoch-ms': {
      const at = parseCount(value);
      return at === undefined ? undefined : at;
    }
    default: {
      const unknown: never = format;
      throw new Error(`unknown reset format ${String(unknown)}`);
    }
  }
}

/** `key=value` parameters of one item of a structured field (`10;w=1`, `"default";q=100;w=10`). */
function parameters(item: string): { head: string; params: Map<string, string> } {
  const [head = '', ...rest] = item.split(';').map((part) => part.trim());
  const params = new Map<string, string>();
  for (const part of rest) {
    const eq = part.indexOf('=');
    if (eq > 0) params.set(part.slice(0, eq).trim().toLowerCase(), part.slice(eq + 1).trim());
  }
  return { head, params };
}

/**
 * The IETF RateLimit draft, both its shapes: the early one (`RateLimit-Limit: 10, 10;w=1`,
 * `RateLimit-Remaining`, `RateLimit-Reset` in seconds, `RateLimit-Policy: 10;w=1`) and the later
 * structured one (`RateLimit-Policy: "default";q=100;w=10`, `RateLimit: "default";r=50;t=30`). Its
 * limits count requests (a quota unit the draft leaves to the server; troupe reads it as requests).
 */
function readStructured(h: Readonly<Record<string, string>>, now: number): { requests?: LimitReading } {
  const policyItem = h['ratelimit-policy']?.split(',')[0];
  const policy = policyItem === undefined ? undefined : parameters(policyItem);
  const windowSeconds = parseCount(policy?.params.get('w'));
  const periodMs = windowSeconds === undefined ? undefined : windowSeconds * MS_PER_UNIT.s!;
  const current = h.ratelimit === undefined ? undefined : parameters(h.ratelimit.split(',')[0] ?? '');
  if (current !== undefined) {
    const remaining = parseCount(current.params.get('r'));
    const resetSeconds = parseCount(current.params.get('t'));
    const limit = parseCount(policy?.params.get('q'));
    const resetAtMs = resetSeconds === undefined ? undefined : now + resetSeconds * MS_PER_UNIT.s!;
    if (remaining === undefined && resetAtMs === undefined) return {};
    return { requests: withPeriod({ limit, remaining, resetAtMs }, periodMs, now) };
  }
  const limitItems = h['ratelimit-limit']?.split(',').map(parameters);
  const limit = parseCount(limitItems?.[0]?.head) ?? parseCount(policy?.head);
  // The early drafts may carry the window on the limit's own list: `10, 10;w=1`.
  const listed = limitItems?.find((item) => item.params.has('w'));
  const listedSeconds = parseCount(listed?.params.get('w'));
  const period = periodMs ?? (listedSeconds === undefined ? undefined : listedSeconds * MS_PER_UNIT.s!);
  const remaining = parseCount(h['ratelimit-remaining']);
  const resetSeconds = parseCount(h['ratelimit-reset']);
  const resetAtMs = resetSeconds === undefined ? undefined : now + resetSeconds * MS_PER_UNIT.s!;
  if (limit === undefined && remaining === undefined && resetAtMs === undefined) return {};
  return { requests: withPeriod({ limit, remaining, resetAtMs }, period, now) };
}

function lowerCased(headers: Readonly<Record<string, string>>): Readonly<Record<string, string>> {
  const names = Object.keys(headers);
  if (names.every((name) => name === name.toLowerCase())) return headers;
  const out: Record<string, string> = {};
  for (const name of names) out[name.toLowerCase()] = headers[name]!;
  return out;
}
