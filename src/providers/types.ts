/** What troupe asks of a model provider, independent of its wire format. */

/** One message of a conversation. */
export interface ChatMessage {
  readonly role: 'system' | 'user' | 'assistant';
  readonly content: string;
}

/** Token counts of one request, as the provider reported them. */
export interface Usage {
  readonly inputTokens: number;
  readonly outputTokens: number;
}

/** One chat request: the whole conversation so far and the request parameters. */
export interface CompletionRequest {
  /** The provider's model name. */
  readonly model: string;
  /** System message first (if any), then user/assistant alternating, ending with user. */
  readonly messages: readonly ChatMessage[];
  readonly temperature?: number;
  readonly maxTokens: number;
  /** Abort the request after this many ms. */
  readonly timeoutMs: number;
  /** Aborts the request early (cancel, shutdown). */
  readonly signal?: AbortSignal;
}

/** A successful answer. */
export interface CompletionResult {
  readonly text: string;
  readonly usage: Usage;
  /** Response headers, lower-cased names; they carry the provider's rate-limit state. */
  readonly headers: Readonly<Record<string, string>>;
}

/**
 * Why an attempt failed, as a value. Decides retry and breaker behaviour:
 * - `rate_limited`: 429 for a per-minute limit; retried after `retryAfterMs`.
 * - `quota_exhausted`: the account is out of credit or its limit resets in hours; the provider pauses.
 * - `server_error`: 5xx, 408, 409; retried, counts against the breaker.
 * - `timeout`, `connection`: retried, count against the breaker.
 * - `malformed`: a 2xx whose body could not be read as an answer; retried.
 * - `client_error`: 400, 404, 422 and other 4xx; never retried, the turn fails at once.
 * - `unauthorized`: 401, 403: the provider refuses the credentials; never retried, and the
 *   provider's breaker refuses every further request of the account (one message, not one per turn).
 * - `cancelled`: aborted by troupe itself (cancel, shutdown); not a provider failure.
 */
export type FailureKind =
  | 'rate_limited'
  | 'quota_exhausted'
  | 'server_error'
  | 'timeout'
  | 'connection'
  | 'malformed'
  | 'client_error'
  | 'unauthorized'
  | 'cancelled';

/** A failed attempt, classified. Thrown by `Provider.complete`. */
export class ProviderError extends Error {
  constructor(
    readonly kind: FailureKind,
    message: string,
    /** HTTP status, when there was a response. */
    readonly status?: number,
    /** Response headers, lower-cased names (empty without a response). */
    readonly headers: Readonly<Record<string, string>> = {},
    /** The provider's own wait hint (`retry-after-ms`, `retry-after`), in ms. */
    readonly retryAfterMs?: number,
    /**
     * True if the provider refused the request for the model it names (404 "model not found"):
     * no request for that model can succeed, while the provider's other models may.
     */
    readonly aboutModel = false,
  ) {
    super(message);
    this.name = 'ProviderError';
  }
}

/** A configured provider client. One per provider entry per process. */
export interface Provider {
  /** Sends one request; resolves with the answer or throws a `ProviderError`. */
  complete(request: CompletionRequest): Promise<CompletionResult>;
}
