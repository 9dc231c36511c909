/**
 * The rate-limit headers the simulator sends, written in any dialect of troupe's table
 * (`resilience/header-dialects.ts`), so that each provider's way of announcing its limits can be
 * rehearsed: the same table names the headers troupe reads and the ones the simulator writes.
 */
import {
  HEADER_DIALECTS,
  LIMIT_KINDS,
  type DialectName,
  type LimitHeaderNames,
  type LimitKind,
  type ResetFormat,
} from '../resilience/header-dialects.js';
import { formatResetDuration } from './openai-wire.js';
import type { BucketState, RateLimitState } from './rate-limit.js';

const MS_PER_SECOND = 1_000;
const MS_PER_MINUTE = 60_000;

/** The simulator has one token bucket: every token limit of a dialect reports it. */
function bucketOf(kind: LimitKind, state: RateLimitState): BucketState | undefined {
  return kind === 'requests' ? state.requests : state.tokens;
}

function formatReset(format: ResetFormat, resetMs: number, nowMs: number): string {
  switch (format) {
    case 'duration':
      return formatResetDuration(resetMs);
    case 'rfc3339':
      return new Date(Math.ceil(nowMs + resetMs)).toISOString();
    case 'seconds':
      return String(Math.ceil(resetMs) / MS_PER_SECOND);
    case 'epoch-ms':
      return String(Math.ceil(nowMs + resetMs));
    default: {
      const unknown: never = format;
      throw new Error(`unknown reset format ${String(unknown)}`);
    }
  }
}

/**
 * The limit as the dialect announces it: over the period it states (the bucket's rate times that
 * period), or else the bucket itself — its capacity, refilled by the reset, from which a client
 * can tell the period.
 */
function announcedLimit(names: LimitHeaderNames, bucket: BucketState): number {
  if (names.periodMs === undefined) return Math.floor(bucket.capacity);
  return Math.floor((bucket.limit * names.periodMs) / MS_PER_MINUTE);
}

function limitHeaders(names: LimitHeaderNames, bucket: BucketState, nowMs: number): Record<string, string> {
  return {
    ...(names.limit !== undefined && { [names.limit]: String(announcedLimit(names, bucket)) }),
    [names.remaining]: String(bucket.remaining),
    ...(names.reset !== undefined && {
      [names.reset]: formatReset(names.resetFormat, bucket.resetMs, nowMs),
    }),
  };
}

/** The IETF draft's early fields for the request bucket: limit, remaining, reset and the policy's window. */
function ietfHeaders(bucket: BucketState | undefined): Record<string, string> {
  if (bucket === undefined) return {};
  const windowSeconds = (bucket.capacity * MS_PER_MINUTE) / bucket.limit / MS_PER_SECOND;
  const capacity = Math.floor(bucket.capacity);
  return {
    'ratelimit-limit': String(capacity),
    'ratelimit-remaining': String(bucket.remaining),
    'ratelimit-reset': String(Math.ceil(bucket.resetMs / MS_PER_SECOND)),
    'ratelimit-policy': `${capacity};w=${Number(windowSeconds.toFixed(3))}`,
  };
}

/** The rate-limit headers of `dialect` for the simulator's buckets now. */
export function dialectHeaders(
  dialect: DialectName,
  state: RateLimitState,
  nowMs: number,
): Record<string, string> {
  const table = HEADER_DIALECTS[dialect];
  if (table.structured) return ietfHeaders(state.requests);
  const headers: Record<string, string> = {};
  for (const kind of LIMIT_KINDS) {
    const names = table.limits[kind];
    const bucket = bucketOf(kind, state);
    if (names !== undefined && bucket !== undefined)
      Object.assign(headers, limitHeaders(names, bucket, nowMs));
  }
  return headers;
}
