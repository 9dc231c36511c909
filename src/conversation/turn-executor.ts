import type { Clock } from '../resilience/clock.js';
import { ERROR_CODES, isErrorCode } from '../resilience/errors.js';
import { decideRetry, turnDeadlineMs } from '../resilience/retry-policy.js';
import { estimateInputTokens } from '../resilience/token-estimate.js';
import { ProviderError } from '../providers/types.js';
import type { ChatMessage, Provider, Usage } from '../providers/types.js';
import type { ErrorData } from '../store/records.js';
import type { RetryPolicy } from '../resilience/retry-policy.js';
import { isBreakerFailure } from '../resilience/circuit-breaker-core.js';
import { GateRefusal } from './provider-gate.js';
import { TurnDeadline } from './turn-deadline.js';
import type { AttemptOutcome, ProviderGate } from './provider-gate.js';

/** What the executor needs from the world; injected so tests control time and chance. */
export interface TurnExecutorDeps {
  readonly provider: Provider;
  readonly gate: ProviderGate;
  readonly retry: RetryPolicy;
  readonly clock: Clock;
  /** Uniform in [0, 1), for backoff jitter. */
  readonly random: () => number;
  /** Waits `ms`; rejects with an AbortError when `signal` aborts. */
  readonly sleep: (ms: number, signal: AbortSignal) => Promise<void>;
}

/** One turn to execute: the whole request and where it stands for fairness. */
export interface TurnSpec {
  /** The suite's id of the model (labels, fairness). */
  readonly modelId: string;
  /** The provider's model name. */
  readonly model: string;
  readonly messages: readonly ChatMessage[];
  readonly temperature?: number;
  readonly maxTokens: number;
  /** Fairness group for the limiter (job and model). */
  readonly group: string;
  /** Turns this conversation still has to go, this one included (longest first). */
  readonly remainingTurns: number;
}

interface AttemptStats {
  readonly attempts: number;
  readonly startedAt: number;
  readonly finishedAt: number;
}

/** How a turn ended. `cancelled` means troupe itself stopped it: nothing is recorded. */
export type TurnOutcome =
  | (AttemptStats & {
      readonly status: 'ok';
      readonly text: string;
      readonly usage: Usage;
      readonly latencyMs: number;
    })
  | (AttemptStats & { readonly status: 'failed'; readonly error: ErrorData })
  | { readonly status: 'cancelled' };

/**
 * Runs one turn to its end: every attempt passes the provider's gate (breaker and
 * limiter), failures are classified and retried with backoff (a provider's
 * `retry-after` wins), and a turn that cannot succeed is reported failed with the
 * provider's message. Never throws for a provider failure; aborting `signal`
 * ends it with `cancelled`.
 */
export async function executeTurn(
  deps: TurnExecutorDeps,
  spec: TurnSpec,
  signal: AbortSignal,
  /**
   * Ends waiting (for a permit, or a backoff): a turn that has not sent its request gives up
   * (cancelled) while one in flight is let finish — a drain. It must abort whenever `signal`
   * does. Default: `signal`. A caller with many turns combines its signals once, not per turn.
   */
  waiting: AbortSignal = signal,
): Promise<TurnOutcome> {
  const startedAt = deps.clock.now();
  const estimatedInputTokens = estimateInputTokens(spec.messages);
  const estimatedTokens = estimatedInputTokens + spec.maxTokens;
  // `sent` is what the record shows; `counted` is what the retry policy limits. They differ when
  // a failure is not the turn's fault (an exhausted quota pauses the provider, not the turn).
  let sent = 0;
  let counted = 0;
  // Failures that speak against the provider; after the first, this turn's failures are its own.
  let providerFailures = 0;
  // Once an attempt failed, the turn has a deadline over all its attempts and waits (see
  // `turnDeadlineMs`); before, it needs none: one attempt, bounded by its timeout.
  let deadline: TurnDeadline | undefined;
  let firstSentAt: number | undefined;
  let lastFailure: ProviderError | undefined;
  const overdue = (): TurnOutcome => ({
    status: 'failed',
    error: {
      code: ERROR_CODES.deadlineExceeded,
      message: `no answer within the turn's deadline of ${deadline?.lengthMs ?? 0} ms; last failure: ${
        lastFailure ? describeFailure(lastFailure, sent, 'deadline-exceeded') : 'none'
      }`,
    },
    attempts: sent,
    startedAt,
    finishedAt: deps.clock.now(),
  });
  try {
    // Bounded: every pass sends one request, and the retry policy ends the turn after maxAttempts
    // counted ones (a breaker's probe is an attempt of the turn it carries), or the deadline does;
    // uncounted ones happen only while the provider is out of quota, each after a pause.
    for (;;) {
      if (waiting.aborted) return { status: 'cancelled' };
      if (deadline?.passed(deps.clock.now())) return overdue();
      const waitSignal = deadline?.signal ?? waiting;
      let permit;
      try {
        permit = await deps.gate.admit(
          {
            group: spec.group,
            model: spec.modelId,
            priority: spec.remainingTurns,
            estimatedTokens,
            estimatedInputTokens,
            fresh: providerFailures === 0,
          },
          waitSignal,
        );
      } catch (error) {
        if (waiting.aborted) return { status: 'cancelled' };
        if (deadline?.passed(deps.clock.now())) return overdue();
        const refusal = refusalOf(error);
        // Nothing is recorded: the job ends and a resume asks again (with a higher cap, or once the
        // provider that was unavailable for too long is back).
        if (
          refusal?.code === ERROR_CODES.budgetExhausted ||
          refusal?.code === ERROR_CODES.providerUnavailable
        )
          return { status: 'cancelled' };
        if (refusal) {
          return {
            status: 'failed',
            error: refusal,
            attempts: sent,
            startedAt,
            finishedAt: deps.clock.now(),
          };
        }
        throw error;
      }
      sent += 1;
      const attemptStartedAt = deps.clock.now();
      firstSentAt ??= attemptStartedAt;
      let failure: ProviderError;
      try {
        const result = await deps.provider.complete({
          model: spec.model,
          messages: spec.messages,
          temperature: spec.temperature,
          maxTokens: spec.maxTokens,
          // A retry may take only what is left of the deadline.
          timeoutMs:
            deadline === undefined
              ? deps.retry.timeoutMs
              : Math.max(1, Math.min(deps.retry.timeoutMs, deadline.leftMs(attemptStartedAt))),
          signal,
        });
        const finishedAt = deps.clock.now();
        deps.gate.settle(permit, {
          kind: 'ok',
          usage: result.usage,
          headers: result.headers,
          latencyMs: finishedAt - attemptStartedAt,
        });
        return {
          status: 'ok',
          text: result.text,
          usage: result.usage,
          latencyMs: finishedAt - attemptStartedAt,
          attempts: sent,
          startedAt,
          finishedAt,
        };
      } catch (error) {
        failure = asProviderError(error, signal);
      }
      lastFailure = failure;
      deps.gate.settle(permit, outcomeOf(failure, deps.clock.now() - attemptStartedAt, spec));
      if (failure.kind === 'cancelled') return { status: 'cancelled' };
      if (isBreakerFailure(failure.kind)) providerFailures += 1;
      const decision = decideRetry(
        { kind: failure.kind, retryAfterMs: failure.retryAfterMs },
        counted + 1,
        deps.retry,
        deps.random,
      );
      if (!decision.retry || decision.countsAttempt) counted += 1;
      if (!decision.retry) {
        return {
          status: 'failed',
          error: { code: decision.code, message: describeFailure(failure, sent, decision.reason) },
          attempts: sent,
          startedAt,
          finishedAt: deps.clock.now(),
        };
      }
      // An exhausted quota is the provider's pause, not the turn's failure: the deadline starts
      // again when it ends (the limiter bounds that pause).
      if (decision.pausesProvider) {
        deadline?.dispose();
        deadline = undefined;
        firstSentAt = undefined;
      } else if (deadline === undefined) {
        const lengthMs = turnDeadlineMs(deps.retry);
        deadline = new TurnDeadline(firstSentAt + lengthMs, lengthMs, deps.clock.now(), deps.sleep, waiting);
      }
      try {
        await deps.sleep(decision.delayMs, deadline?.signal ?? waiting);
      } catch {
        if (waiting.aborted) return { status: 'cancelled' };
        return overdue();
      }
    }
  } finally {
    deadline?.dispose();
  }
}

function outcomeOf(failure: ProviderError, latencyMs: number, spec: TurnSpec): AttemptOutcome {
  return {
    kind: failure.kind,
    headers: failure.headers,
    latencyMs,
    message: failure.message,
    ...(failure.retryAfterMs !== undefined && { retryAfterMs: failure.retryAfterMs }),
    ...(failure.aboutModel && { refusedModel: { id: spec.modelId, group: spec.group } }),
  };
}

/**
 * The error a gate refused the turn with, if it did: a `GateRefusal`, or its copy from another
 * process (an error whose `code` is one of troupe's).
 */
function refusalOf(error: unknown): ErrorData | undefined {
  if (error instanceof GateRefusal && isErrorCode(error.error.code)) {
    return { code: error.error.code, message: error.error.message };
  }
  const code = (error as { code?: unknown } | undefined)?.code;
  if (error instanceof Error && isErrorCode(code)) return { code, message: error.message };
  return undefined;
}

function asProviderError(error: unknown, signal: AbortSignal): ProviderError {
  if (error instanceof ProviderError) return error;
  if (signal.aborted) return new ProviderError('cancelled', 'cancelled by troupe');
  // A provider adapter must classify what it throws; anything else is a bug in the
  // reply handling, treated like an unreadable reply so the turn is retried, not lost.
  const message = error instanceof Error ? error.message : String(error);
  return new ProviderError('malformed', `unexpected error while reading the reply: ${message}`);
}

function describeFailure(failure: ProviderError, attempts: number, reason: string): string {
  const status = failure.status === undefined ? '' : `HTTP ${failure.status}: `;
  const tries = attempts === 1 ? '1 attempt' : `${attempts} attempts`;
  return `${status}${failure.message} (${reason}; ${tries})`;
}
