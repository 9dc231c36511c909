/**
 * The rate-limiter actor: one per provider account for the whole daemon, a thin
 * shell around `RateLimiterCore`. It queues permit requests, grants them when
 * every budget allows, learns from each reply's headers, and keeps one timer for
 * the moment the next waiter could go.
 */
import type { SharedBudgetPort } from '../coordination/shared-budget.js';
import type { AttemptOutcome } from '../conversation/provider-gate.js';
import type { Logger } from '../log/logger.js';
import type { Clock } from '../resilience/clock.js';
import type { HeaderDialect } from '../resilience/header-dialects.js';
import { RateLimiterCore } from '../resilience/rate-limiter-core.js';
import type { LimiterSnapshot } from '../resilience/rate-limiter-core.js';
import type { Limits } from '../resilience/rate-limiter-core.js';
import type { GateReply } from './gate-reply.js';
import { dispatch, spawnActor } from './nact.js';
import type { ActorContext, ActorRef, AnyActorRef } from './nact.js';

/** Messages the rate limiter accepts. */
export type RateLimiterMessage =
  | {
      readonly type: 'acquire';
      readonly id: string;
      readonly group: string;
      readonly priority: number;
      readonly estimatedTokens: number;
      /** The input part of `estimatedTokens` (see `AdmitRequest`). */
      readonly estimatedInputTokens: number;
      readonly replyTo: ActorRef<GateReply>;
    }
  /** The requester gave up: drops a waiting request, or releases one already granted. */
  | { readonly type: 'cancel'; readonly id: string }
  | { readonly type: 'release'; readonly id: string; readonly outcome: AttemptOutcome }
  /** Ends a quota pause (the user topped up the account). */
  | { readonly type: 'resume' }
  | { readonly type: 'wake' }
  /** A new turn of the event loop: more permits may be granted (see `MAX_GRANTS_PER_TURN`). */
  | { readonly type: 'next-turn' }
  | { readonly type: 'get-snapshot'; readonly replyTo: ActorRef<LimiterSnapshot> };

/** What a rate-limiter actor needs. */
export interface RateLimiterDeps {
  /** The provider's name, for logs. */
  readonly provider: string;
  readonly limits: Limits | undefined;
  /** How the provider writes its rate-limit headers. Default: OpenAI's. */
  readonly dialect?: HeaderDialect;
  /** Longest pause, in ms (`retry.maxPauseMs`). Default: none. */
  readonly maxPauseMs?: number;
  readonly clock: Clock;
  readonly log: Logger;
  /** The budget shared with other processes (`sharedLimits`); it sends `wake` when a lease comes. */
  readonly shared?: SharedBudgetPort;
}

interface RateLimiterState {
  readonly core: RateLimiterCore;
  /** Where each waiting request's permit goes. */
  readonly replyTo: Map<string, ActorRef<GateReply>>;
  timer: NodeJS.Timeout | undefined;
  timerAt: number | undefined;
  /** Permits granted in this turn of the event loop; a `next-turn` message resets it. */
  grantedThisTurn: number;
}

/** Spawns the rate limiter of one provider account. */
export function spawnRateLimiter(
  parent: AnyActorRef,
  name: string,
  deps: RateLimiterDeps,
): ActorRef<RateLimiterMessage> {
  return spawnActor<RateLimiterState, RateLimiterMessage>(
    parent,
    name,
    (state, message, ctx) => handle(deps, state, message, ctx),
    {
      initialState: () => ({
        core: new RateLimiterCore({
          limits: deps.limits,
          clock: deps.clock,
          ...(deps.dialect && { dialect: deps.dialect }),
          ...(deps.shared && { shared: deps.shared }),
          ...(deps.maxPauseMs !== undefined && { maxPauseMs: deps.maxPauseMs }),
        }),
        replyTo: new Map(),
        timer: undefined,
        timerAt: undefined,
        grantedThisTurn: 0,
      }),
      afterStop: (state) => clearTimeout(state.timer),
    },
  );
}

function handle(
  deps: RateLimiterDeps,
  state: RateLimiterState,
  message: RateLimiterMessage,
  ctx: ActorContext<RateLimiterMessage>,
): RateLimiterState {
  switch (message.type) {
    case 'acquire':
      state.replyTo.set(message.id, message.replyTo);
      state.core.enqueue({
        id: message.id,
        group: message.group,
        priority: message.priority,
        tokens: message.estimatedTokens,
        inputTokens: message.estimatedInputTokens,
      });
      break;
    case 'cancel':
      if (!state.core.cancel(message.id)) state.core.release(message.id, { kind: 'cancelled' });
      state.replyTo.delete(message.id);
      break;
    case 'release':
      state.core.release(message.id, message.outcome);
      if (message.outcome.kind === 'rate_limited' || message.outcome.kind === 'quota_exhausted')
        logPause(deps, state);
      break;
    case 'resume':
      state.core.resume();
      break;
    case 'wake':
      state.timerAt = undefined;
      break;
    case 'next-turn':
      state.grantedThisTurn = 0;
      break;
    case 'get-snapshot':
      dispatch(message.replyTo, state.core.snapshot());
      return state;
    default: {
      const unknown: never = message;
      throw new Error(`rate limiter: unknown message ${JSON.stringify(unknown)}`);
    }
  }
  grantAndSchedule(deps, state, ctx);
  return state;
}

/**
 * Permits granted per turn of the event loop, at most; more wait for the next turn. A burst of
 * permits (a job starting, a restart: hundreds free at once) would otherwise have every request
 * built before the first one is written to its socket. The count spans the messages of a turn:
 * the actor takes a turn's messages as one batch, and each of them may grant.
 */
export const MAX_GRANTS_PER_TURN = 32;

function grantAndSchedule(
  deps: RateLimiterDeps,
  state: RateLimiterState,
  ctx: ActorContext<RateLimiterMessage>,
): void {
  if (state.grantedThisTurn >= MAX_GRANTS_PER_TURN) return; // `next-turn` grants the rest.
  const grants = state.core.grant(MAX_GRANTS_PER_TURN - state.grantedThisTurn);
  if (grants.length > 0 && state.grantedThisTurn === 0)
    setImmediate(() => dispatch(ctx.self, { type: 'next-turn' }));
  state.grantedThisTurn += grants.length;
  for (const grant of grants) {
    const replyTo = state.replyTo.get(grant.id);
    state.replyTo.delete(grant.id);
    if (replyTo) dispatch(replyTo, { type: 'permit-granted', id: grant.id });
  }
  if (state.grantedThisTurn >= MAX_GRANTS_PER_TURN) return;
  const wakeAt = state.core.nextWakeAt();
  if (wakeAt === state.timerAt) return;
  clearTimeout(state.timer);
  state.timerAt = wakeAt;
  // Unref'd: a pause must not keep a process alive that has nothing else left to do (Ctrl-C).
  state.timer =
    wakeAt === undefined
      ? undefined
      : setTimeout(
          () => dispatch(ctx.self, { type: 'wake' }),
          Math.max(0, wakeAt - deps.clock.now()),
        ).unref();
}

/** Logs why the provider is paused (a 429 or an exhausted quota), so the user is told. */
function logPause(deps: RateLimiterDeps, state: RateLimiterState): void {
  const { pause, concurrencyLimit } = state.core.snapshot();
  if (!pause) return;
  const fields = { provider: deps.provider, reason: pause.reason, until: pause.until, concurrencyLimit };
  if (pause.reason === 'quota')
    deps.log.error(fields, 'provider quota exhausted; its requests wait until it resets');
  else deps.log.warn(fields, 'provider rate limited; pausing its requests');
}
