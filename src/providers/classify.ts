/**
 * Turns whatever the SDKs throw into a `ProviderError` whose `kind` decides retry and
 * breaker behaviour. Messages are built here from the status and the provider's own
 * message, never from the SDK's text, which may echo request options.
 */
import { QUOTA_RETRY_AFTER_MS } from '../resilience/defaults.js';
import { shorten } from './context-summary.js';
import { headersToRecord } from './headers.js';
import { parseRetryAfterMs } from '../resilience/retry-after.js';
import type { FailureKind } from './types.js';
import { ProviderError } from './types.js';

/** Longest provider message kept in an error message, in characters. */
const MAX_PROVIDER_MESSAGE_CHARS = 300;
/** Keys shorter than this are not searched for in messages (they would match ordinary text). */
const MIN_REDACTED_KEY_CHARS = 4;
const REDACTED = '[redacted]';
/** Error codes and types both APIs use for an account that cannot pay, whatever the status. */
const QUOTA_CODES = new Set([
  'insufficient_quota',
  'billing_hard_limit_reached',
  'billing_not_active',
  'billing_error',
]);
const STATUS_UNAUTHORIZED = 401;
const STATUS_PAYMENT_REQUIRED = 402;
const STATUS_FORBIDDEN = 403;
const STATUS_REQUEST_TIMEOUT = 408;
const STATUS_CONFLICT = 409;
const STATUS_TOO_MANY_REQUESTS = 429;
const STATUS_NOT_FOUND = 404;
/** OpenAI's code for an unknown model (compatible servers use it too). */
const MODEL_NOT_FOUND_CODE = 'model_not_found';
const MENTIONS_MODEL = /\bmodel\b/i;
const LOWEST_SERVER_ERROR = 500;

/** A class an SDK's errors are instances of (only `instanceof` is used on it). */
export type ErrorClass<E extends Error = Error> = abstract new (...args: never[]) => E;

/** The fields troupe reads of an SDK's HTTP error (`APIError` in both SDKs). */
export interface SdkApiError extends Error {
  readonly status: number | undefined;
  readonly headers: Headers | undefined;
  readonly error: unknown;
}

/**
 * The error classes of one SDK. Each provider module hands its own SDK's classes over, so that
 * classifying needs neither SDK loaded (each costs 100–200 ms to load; a job loads only its own).
 */
export interface SdkErrorClasses {
  /** Every error the SDK throws itself (`OpenAIError`, `AnthropicError`). */
  readonly base: ErrorClass;
  /** An HTTP answer with an error status. */
  readonly api: ErrorClass<SdkApiError>;
  readonly connection: ErrorClass;
  readonly timeout: ErrorClass;
  readonly abort: ErrorClass;
}

/** The error classes both SDKs export, under the same names. */
export interface SdkErrorModule {
  readonly APIError: ErrorClass<SdkApiError>;
  readonly APIConnectionError: ErrorClass;
  readonly APIConnectionTimeoutError: ErrorClass;
  readonly APIUserAbortError: ErrorClass;
}

/** An SDK's error classes, from its module and its own base error (`OpenAIError`, `AnthropicError`). */
export function sdkErrorClasses(sdk: SdkErrorModule, base: ErrorClass): SdkErrorClasses {
  return {
    base,
    api: sdk.APIError,
    connection: sdk.APIConnectionError,
    timeout: sdk.APIConnectionTimeoutError,
    abort: sdk.APIUserAbortError,
  };
}

/** What the adapter knows about the failed attempt besides the error itself. */
export interface FailureContext {
  /** Names the provider in messages, e.g. `openai`. */
  readonly provider: string;
  /** The caller's signal aborted (cancel, shutdown). */
  readonly cancelled: boolean;
  /** The request's own deadline passed. */
  readonly timedOut: boolean;
  /** The request's timeout, for the message. */
  readonly timeoutMs: number;
  /** Removed from every message, should a provider or a library echo it. */
  readonly apiKey?: string;
  /** Current time in ms, to read an HTTP-date `retry-after`. */
  readonly nowMs: number;
}

/** What an error body says: OpenAI's `{error:{message,type,code}}` or Anthropic's `{type:'error',error:{type,message}}`. */
interface BodyFacts {
  readonly message?: string;
  readonly type?: string;
  readonly code?: string;
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function stringField(record: Record<string, unknown>, name: string): string | undefined {
  const value = record[name];
  return typeof value === 'string' && value !== '' ? value : undefined;
}

function factsOf(body: unknown): BodyFacts {
  if (!isRecord(body)) return {};
  const inner = isRecord(body.error) ? body.error : body;
  const details = isRecord(inner.details) ? inner.details : {};
  return {
    message: stringField(inner, 'message'),
    type: stringField(inner, 'type'),
    code: stringField(inner, 'code') ?? stringField(details, 'error_code'),
  };
}

function redact(text: string, apiKey: string | undefined): string {
  if (apiKey === undefined || apiKey.length < MIN_REDACTED_KEY_CHARS) return text;
  return text.split(apiKey).join(REDACTED);
}

function kindForStatus(status: number, facts: BodyFacts, retryAfterMs: number | undefined): FailureKind {
  const quota =
    status === STATUS_PAYMENT_REQUIRED ||
    (facts.code !== undefined && QUOTA_CODES.has(facts.code)) ||
    (facts.type !== undefined && QUOTA_CODES.has(facts.type));
  if (quota) return 'quota_exhausted';
  if (status === STATUS_TOO_MANY_REQUESTS) {
    // The same threshold as the retry policy's, so that the turn's error code and the pause agree.
    return retryAfterMs !== undefined && retryAfterMs >= QUOTA_RETRY_AFTER_MS
      ? 'quota_exhausted'
      : 'rate_limited';
  }
  if (status === STATUS_REQUEST_TIMEOUT || status === STATUS_CONFLICT || status >= LOWEST_SERVER_ERROR) {
    return 'server_error';
  }
  if (status === STATUS_UNAUTHORIZED || status === STATUS_FORBIDDEN) return 'unauthorized';
  return 'client_error';
}

/**
 * True if a 404 says the model is unknown: OpenAI's `model_not_found`, Anthropic's
 * `not_found_error` "model: …", vLLM's and Ollama's "model … does not exist / not found". A 404
 * that does not name a model (a wrong path in the base URL) is about the whole provider.
 */
function isModelNotFound(status: number, facts: BodyFacts): boolean {
  if (status !== STATUS_NOT_FOUND) return false;
  return facts.code === MODEL_NOT_FOUND_CODE || MENTIONS_MODEL.test(facts.message ?? '');
}

function causeMessage(error: Error): string {
  const cause = (error as { cause?: unknown }).cause;
  if (cause instanceof Error) {
    const deeper = (cause as { cause?: unknown }).cause;
    return deeper instanceof Error ? `${cause.message} (${deeper.message})` : cause.message;
  }
  return error.message;
}

/** A 2xx answer that could not be read as an answer. */
export function malformedAnswer(
  provider: string,
  detail: string,
  status: number,
  headers: Readonly<Record<string, string>>,
): ProviderError {
  return new ProviderError(
    'malformed',
    `${provider}: unusable answer (status ${status}): ${detail}`,
    status,
    headers,
  );
}

/**
 * Classifies anything thrown while calling a provider through the SDK whose error classes are
 * `sdk`. A `ProviderError` passes through unchanged.
 */
export function classifyFailure(
  error: unknown,
  context: FailureContext,
  sdk: SdkErrorClasses,
): ProviderError {
  if (error instanceof ProviderError) return error;
  const { provider, apiKey } = context;
  if (context.cancelled) return new ProviderError('cancelled', `${provider}: request cancelled`);
  // Most specific first: in both SDKs the timeout error extends the connection error, and that
  // and the abort error extend the API error.
  if (context.timedOut || error instanceof sdk.timeout) {
    return new ProviderError('timeout', `${provider}: no answer within ${context.timeoutMs} ms`);
  }
  if (error instanceof sdk.abort) {
    return new ProviderError('cancelled', `${provider}: request aborted`);
  }
  if (error instanceof sdk.connection) {
    return new ProviderError(
      'connection',
      redact(`${provider}: connection failed: ${causeMessage(error)}`, apiKey),
    );
  }
  if (error instanceof sdk.api && typeof error.status === 'number') {
    const status = error.status;
    const headers = headersToRecord(error.headers);
    const retryAfterMs = parseRetryAfterMs(headers, context.nowMs);
    const facts = factsOf(error.error);
    const label = facts.code ?? facts.type;
    const said = facts.message ?? 'no error message';
    const message = `${provider} ${status}${label === undefined ? '' : ` ${label}`}: ${shorten(said, MAX_PROVIDER_MESSAGE_CHARS)}`;
    const kind = kindForStatus(status, facts, retryAfterMs);
    return new ProviderError(
      kind,
      redact(message, apiKey),
      status,
      headers,
      retryAfterMs,
      kind === 'client_error' && isModelNotFound(status, facts),
    );
  }
  if (error instanceof SyntaxError) {
    return new ProviderError('malformed', `${provider}: the answer is not valid JSON`);
  }
  if (error instanceof sdk.base) {
    // The SDK refused before sending (bad options): retrying cannot help.
    return new ProviderError('client_error', redact(`${provider}: ${error.message}`, apiKey));
  }
  // fetch reports a connection lost while reading the body as a TypeError ("terminated").
  const detail = error instanceof Error ? causeMessage(error) : String(error);
  return new ProviderError('connection', redact(`${provider}: request failed: ${detail}`, apiKey));
}
