/**
 * Namespaced error codes: how a failure travels between processes and into turn records as data
 * (`{ code, message }`), matched by code rather than by `instanceof`.
 */
import type { FailureKind } from '../providers/types.js';

/** Every error code troupe puts on a failed or skipped turn. */
export const ERROR_CODES = {
  /** The provider refused with a per-minute rate limit (429) and the retries ran out. */
  rateLimited: 'troupe:rate-limited',
  /** The account is out of credit or its quota resets in hours. */
  quotaExhausted: 'troupe:quota-exhausted',
  /** The provider answered 5xx, 408 or 409. */
  serverError: 'troupe:server-error',
  /** No answer within the request timeout. */
  timeout: 'troupe:timeout',
  /** The connection failed or was reset. */
  connection: 'troupe:connection',
  /** A 2xx whose body could not be read as an answer. */
  malformedReply: 'troupe:malformed-reply',
  /** The provider refused the request itself (400, 404, 422, other 4xx); never retried. */
  clientError: 'troupe:client-error',
  /** The provider refused the credentials (401, 403); the account's other turns are not sent. */
  unauthorized: 'troupe:unauthorized',
  /** troupe aborted the request (job cancelled, shutdown). */
  cancelled: 'troupe:cancelled',
  /** Every attempt the retry policy allows failed; the message names the last failure. */
  retriesExhausted: 'troupe:retries-exhausted',
  /**
   * The turn's deadline passed (its attempts' timeouts and the waits between them, plus one
   * longest pause: `turnDeadlineMs`) while it waited on a failing provider; the message names the last failure.
   */
  deadlineExceeded: 'troupe:deadline-exceeded',
  /** Not attempted because an earlier turn of the same run failed. */
  skipped: 'troupe:skipped',
  /**
   * The provider's circuit breaker has been open longer than `retry.maxPauseMs`: a foreground run
   * gives up on it, its turns are left unanswered (resumable) and the job ends paused.
   */
  providerUnavailable: 'troupe:provider-unavailable',
  /** A finished turn could not be committed to the store; work stops rather than lose it. */
  storeWrite: 'troupe:store-write',
  /** A job could not be started (its suite or provider could not be set up). */
  cannotStart: 'troupe:cannot-start',
  /** The job's or the provider's spend cap would be exceeded: nothing more is sent; the job is resumable with a higher cap. */
  budgetExhausted: 'troupe:budget-exhausted',
  /** A bug in troupe itself (an actor crashed too often, an unexpected exception). */
  internal: 'troupe:internal',
} as const;

/** One of the `ERROR_CODES` values. */
export type ErrorCode = (typeof ERROR_CODES)[keyof typeof ERROR_CODES];

const CODE_OF_KIND: Readonly<Record<FailureKind, ErrorCode>> = {
  rate_limited: ERROR_CODES.rateLimited,
  quota_exhausted: ERROR_CODES.quotaExhausted,
  server_error: ERROR_CODES.serverError,
  timeout: ERROR_CODES.timeout,
  connection: ERROR_CODES.connection,
  malformed: ERROR_CODES.malformedReply,
  client_error: ERROR_CODES.clientError,
  unauthorized: ERROR_CODES.unauthorized,
  cancelled: ERROR_CODES.cancelled,
};

const ALL_CODES: ReadonlySet<string> = new Set(Object.values(ERROR_CODES));

/** The error code of a classified provider failure. */
export function errorCodeOf(kind: FailureKind): ErrorCode {
  return CODE_OF_KIND[kind];
}

/** True if `code` is one of troupe's error codes (for data that crossed a process boundary). */
export function isErrorCode(code: unknown): code is ErrorCode {
  return typeof code === 'string' && ALL_CODES.has(code);
}
