import type { FailureKind, Usage } from '../providers/types.js';

/**
 * The gate's group of a job's model: its conversations share a fair turn at the limiter, and a
 * refusal of the model by the provider (404 naming it) holds for the group, not for another job
 * whose model has the same id (a daemon's accounts serve every job).
 */
export function gateGroupOf(job: string, modelId: string): string {
  return `${job}/${modelId}`;
}

/** The job and the model's suite id of a gate group (`gateGroupOf`): a job id holds no `/`. */
export function jobModelOfGateGroup(group: string): { readonly job: string; readonly model: string } {
  const slash = group.indexOf('/');
  return { job: group.slice(0, slash), model: group.slice(slash + 1) };
}

/** A model the provider refused: its id in the suite (for messages) and its gate group. */
export interface RefusedModel {
  readonly id: string;
  readonly group: string;
}

/** What a conversation asks of its provider's gate before an attempt. */
export interface AdmitRequest {
  /** Fairness group: conversations of one (job, model) share a group (`gateGroupOf`). */
  readonly group: string;
  /** The suite's id of the model asking (for metrics). */
  readonly model: string;
  /** Higher goes first within a group: the conversation's remaining turns. */
  readonly priority: number;
  /** Tokens to reserve: the request's estimate plus its `maxTokens`. */
  readonly estimatedTokens: number;
  /**
   * The input part of `estimatedTokens` (the rest is `maxTokens`), so that separate input and
   * output token limits (Anthropic's) are each charged their own part.
   */
  readonly estimatedInputTokens: number;
  /**
   * True if the turn has not failed before (no server error, timeout, connection or unreadable
   * answer yet): only such a request's failure is evidence against the provider, and half-open
   * probes are chosen among them.
   */
  readonly fresh: boolean;
}

/** Leave to send one request. Must be settled exactly once. */
export interface Permit {
  readonly id: string;
  /** True if this request is the half-open breaker's probe: its outcome decides recovery. */
  readonly probe: boolean;
}

/** How an attempt ended, as the gate's limiter and breaker need to know it. */
export type AttemptOutcome =
  | {
      readonly kind: 'ok';
      readonly usage: Usage;
      readonly headers: Readonly<Record<string, string>>;
      /** From sending the request to its answer, in ms. */
      readonly latencyMs?: number;
    }
  | {
      readonly kind: FailureKind;
      readonly headers: Readonly<Record<string, string>>;
      readonly retryAfterMs?: number;
      /** From sending the request to its failure, in ms (absent if it was never sent). */
      readonly latencyMs?: number;
      /** The classified failure's message (no secret in it); the breaker shows it when it refuses. */
      readonly message?: string;
      /**
       * Set when the provider refused the request for its model (404 "model not found"): that
       * model. The gate then refuses its group's requests, not the provider's.
       */
      readonly refusedModel?: RefusedModel;
    };

/**
 * Why a gate will never admit a request (the provider refused the account's credentials, the
 * job is gone): the turn fails with `error` without sending anything.
 */
export class GateRefusal extends Error {
  constructor(readonly error: { readonly code: string; readonly message: string }) {
    super(error.message);
    this.name = 'GateRefusal';
  }
}

/**
 * The door to one provider: it opens when the provider's circuit breaker lets a
 * request pass and its rate limiter grants a permit. Every attempt goes through
 * it, so the limits hold whatever the number of conversations or processes.
 */
export interface ProviderGate {
  /**
   * Resolves with a permit once the request may be sent. Waiting while the
   * breaker is open costs the turn no attempt. Rejects with an `AbortError` if
   * `signal` aborts first (the gate then forgets the request), with a `GateRefusal`
   * if the request must never be sent.
   */
  admit(request: AdmitRequest, signal: AbortSignal): Promise<Permit>;
  /** Reports the attempt's outcome and frees the permit's concurrency slot. */
  settle(permit: Permit, outcome: AttemptOutcome): void;
}
