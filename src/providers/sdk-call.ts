import { classifyFailure } from './classify.js';
import type { SdkErrorClasses } from './classify.js';
import { RequestDeadline } from './deadline.js';
import { headersToRecord } from './headers.js';
import type { CompletionRequest, CompletionResult, Provider } from './types.js';

/** The SDKs take whole, positive milliseconds. */
const MIN_SDK_TIMEOUT_MS = 1;

/** The per-request options both SDKs take: our deadline's signal, the timeout, no retries of their own. */
export interface SdkRequestOptions {
  readonly signal: AbortSignal;
  readonly timeout: number;
  readonly maxRetries: 0;
}

/** What an SDK call's `.withResponse()` gives. */
export interface SdkResponse<T> {
  readonly data: T;
  readonly response: { readonly status: number; readonly headers: Headers };
}

/**
 * Runs one SDK request the way troupe needs every request run: under a deadline
 * that covers reading the body too, without the SDK's own retries, and with
 * whatever it throws classified into a `ProviderError` (without the key).
 */
export async function callSdk<T>(
  provider: string,
  errors: SdkErrorClasses,
  apiKey: string,
  request: CompletionRequest,
  send: (options: SdkRequestOptions) => Promise<SdkResponse<T>>,
  read: (data: T, status: number, headers: Record<string, string>) => CompletionResult,
): Promise<CompletionResult> {
  const deadline = new RequestDeadline(request.timeoutMs, request.signal);
  try {
    const { data, response } = await send({
      signal: deadline.signal,
      timeout: Math.max(MIN_SDK_TIMEOUT_MS, Math.ceil(request.timeoutMs)),
      maxRetries: 0,
    });
    return read(data, response.status, headersToRecord(response.headers));
  } catch (error) {
    throw classifyFailure(
      error,
      {
        provider,
        cancelled: deadline.cancelled,
        timedOut: deadline.timedOut,
        timeoutMs: request.timeoutMs,
        apiKey,
        nowMs: Date.now(),
      },
      errors,
    );
  } finally {
    deadline.dispose();
  }
}

/** How a provider built on an official SDK sends a request and reads its answer. */
export interface SdkProviderSpec<Client, Answer> {
  /** The provider type's name, for errors. */
  readonly provider: string;
  readonly apiKey: string;
  /** The client and the SDK's error classes, once the SDK is loaded (the load has started). */
  readonly ready: Promise<{ readonly client: Client; readonly errors: SdkErrorClasses }>;
  readonly send: (
    client: Client,
    request: CompletionRequest,
    options: SdkRequestOptions,
  ) => Promise<SdkResponse<Answer>>;
  /** The answer's text and usage; throws a `malformed` error when the answer lacks them. */
  readonly read: (
    data: Answer,
    request: CompletionRequest,
    status: number,
    headers: Record<string, string>,
  ) => CompletionResult;
}

/** A provider whose every request goes through `callSdk`, once its SDK is loaded. */
export function sdkProvider<Client, Answer>(spec: SdkProviderSpec<Client, Answer>): Provider {
  const { provider, apiKey, ready, send, read } = spec;
  // Should loading fail, the first request says so (not an unhandled rejection).
  ready.catch(() => undefined);
  return {
    async complete(request: CompletionRequest): Promise<CompletionResult> {
      const { client, errors } = await ready;
      return callSdk(
        provider,
        errors,
        apiKey,
        request,
        (options) => send(client, request, options),
        (data, status, headers) => read(data, request, status, headers),
      );
    },
  };
}
