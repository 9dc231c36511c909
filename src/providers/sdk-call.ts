import { classifyFailure } from './classify.js';
import type { SdkErrorClasses } from './classify.js';
import { RequestDeadline } from './deadline.js';
import { headersToRecord } from './headers.js';
import type { CompletionRequest, CompletionResult } from './types.js';

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
