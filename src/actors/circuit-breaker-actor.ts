/**
 * The circuit-breaker actor: one per provider account for the whole daemon, a thin
 * shell around `CircuitBreakerCore`. While the breaker is open, requests wait in
 * its queue — they send nothing, so they spend no attempt — and after the
 * cool-down one probe at a time goes through. A request is asked about twice:
 * before it queues at the rate limiter (`admit`) and, when it was let pass, again
 * once it holds its permit (`confirm`), since the breaker may have opened while it
 * queued.
 */
import type { Logger } from '../log/logger.js';
import { ERROR_CODES } from '../resilience/errors.js';
import { CircuitBreakerCore, isBreakerFailure } from '../resilience/circuit-breaker-core.js';
import type { BreakerOutcome, BreakerRefusal, BreakerStatus } from '../resilience/circuit-breaker-core.js';
import type { Clock } from '../resilience/clock.js';
import type { BreakerPolicy } from '../resilience/circuit-breaker-core.js';
import type { SharedBreakerPort } from '../coordination/shared-budget.js';
import type { RefusedModel } from '../conversation/provider-gate.js';
import type { GateReply } from './gate-reply.js';
import { dispatch, spawnActor } from './nact.js';
import type { ActorContext, ActorRef, AnyActorRef } from './nact.js';

/** Messages the circuit breaker accepts. */
export type CircuitBreakerMessage =
  | {
      readonly type: 'admit';
      readonly id: string;
      /** True if the request has not failed before: a half-open probe is chosen among these first. */
      readonly fresh: boolean;
      /** The gate group (job and model) asking: a model the provider refused is refused here. */
      readonly group?: string;
      readonly replyTo: ActorRef<GateReply>;
    }
  /**
   * A request admitted as a pass now holds its permit: may it leave? `confirmed` if the breaker
   * is still closed; otherwise `held`, and it waits in the queue again like a new `admit`.
   */
  | {
      readonly type: 'confirm';
      readonly id: string;
      readonly group?: string;
      readonly replyTo: ActorRef<GateReply>;
    }
  /** The requester gave up while waiting. */
  | { readonly type: 'cancel'; readonly id: string }
  | {
      readonly type: 'record';
      readonly id: string;
      readonly kind: BreakerOutcome;
      readonly probe: boolean;
      /** True if the request had not failed before (see `RecordedAttempt.fresh`). */
      readonly fresh: boolean;
      /** The provider's message for a failure, shown if it makes the breaker refuse the provider. */
      readonly message?: string;
      /** Set when the provider refused the request for its model: that model (see `AttemptOutcome`). */
      readonly refusedModel?: RefusedModel;
    }
  /** The breaker's own timer fired (a cool-down ended, or it is time to give up). */
  | { readonly type: 'wake' }
  /** This process now holds the probe shared with other processes (`sharedLimits`): it may send it. */
  | { readonly type: 'probe-granted' }
  /** Another process on the shared key (`sharedLimits`) opened its breaker until then (ms since the epoch). */
  | { readonly type: 'opened-elsewhere'; readonly until: number }
  /** Another process on the shared key closed its breaker: its half-open probes succeeded. */
  | { readonly type: 'closed-elsewhere' }
  | { readonly type: 'get-snapshot'; readonly replyTo: ActorRef<BreakerSnapshot> };

/** The breaker's state, and the models its provider refused (see `BreakerView.refusedModels`). */
export interface BreakerSnapshot extends BreakerStatus {
  /** By gate group (job and model, `gateGroupOf`): why the provider refused it. Empty while none is. */
  readonly refusedModels: ReadonlyMap<string, BreakerRefusal>;
}

/** What a circuit-breaker actor needs. */
export interface CircuitBreakerDeps {
  /** The provider's name, for logs. */
  readonly provider: string;
  readonly policy: BreakerPolicy;
  readonly clock: Clock;
  readonly log: Logger;
  /** Kept equal to the breaker's state on every transition (see `BreakerView`). */
  readonly view?: BreakerView;
  /**
   * Give up on a provider unavailable (open or half-open) for `afterMs` or more: every waiting and
   * later request is refused with `troupe:provider-unavailable`, and `onGiveUp` is called once with
   * why. A foreground run does (its turns end paused, resumable); the daemon does not, and keeps
   * probing. Default: never.
   */
  readonly giveUp?: { readonly afterMs: number; readonly onGiveUp: (reason: string) => void };
  /**
   * Told when this breaker opens or closes, so that the processes sharing the account
   * (`sharedLimits`) do too; half-open, it grants the one probe they send between them.
   */
  readonly shared?: SharedBreakerPort;
}

/**
 * The breaker's last state, readable without a message by the gate of the same
 * provider, in this process. It spares a `confirm` round trip while the breaker is
 * closed: under load that message would wait behind every queued `admit`
 * (head-of-line blocking), delaying each request by the whole queue. Only the
 * breaker writes it; a reader that sees anything but `closed` asks with `confirm`.
 */
export interface BreakerView {
  state: BreakerStatus['state'];
  /** Models the provider refused (404 "model not found"), by gate group (`gateGroupOf`), and why. */
  refusedModels?: Map<string, BreakerRefusal>;
}

interface Waiting {
  readonly id: string;
  readonly fresh: boolean;
  readonly group?: string;
  readonly replyTo: ActorRef<GateReply>;
}

interface CircuitBreakerState {
  readonly core: CircuitBreakerCore;
  /** Requests held while the breaker is open, oldest first. */
  waiting: Waiting[];
  timer: NodeJS.Timeout | undefined;
  /** When `timer` fires, ms since the epoch. */
  timerAt: number | undefined;
  /** The message of the last failure that spoke against the provider, for the give-up message. */
  lastFailure: string | undefined;
  /** Once given up (see `CircuitBreakerDeps.giveUp`): why; every request is refused with it. */
  gaveUp: BreakerRefusal | undefined;
  /**
   * Models the provider refused (404 "model not found"), by gate group (job and model): their
   * requests are refused here, the provider's other models go on. Shared with the gate through the
   * view. By group, not by the model's id: another job's model of the same id may be another model.
   */
  readonly refusedModels: Map<string, BreakerRefusal>;
}

/** Spawns the circuit breaker of one provider account. */
export function spawnCircuitBreaker(
  parent: AnyActorRef,
  name: string,
  deps: CircuitBreakerDeps,
): ActorRef<CircuitBreakerMessage> {
  return spawnActor<CircuitBreakerState, CircuitBreakerMessage>(
    parent,
    name,
    (state, message, ctx) => handle(deps, state, message, ctx),
    {
      initialState: () => {
        // A (re)started breaker starts closed, with no model refused; so does its view.
        const refusedModels = new Map<string, BreakerRefusal>();
        if (deps.view) {
          deps.view.state = 'closed';
          deps.view.refusedModels = refusedModels;
        }
        return {
          core: new CircuitBreakerCore(deps.policy, deps.clock, {
            onTransition: (t) => {
              if (deps.view) deps.view.state = t.to;
              // shared limits: an opening seen here holds for every process on the account.
              if (t.to === 'open' && t.reason !== 'opened-elsewhere')
                deps.shared?.opened(t.at + (t.coolDownMs ?? 0));
              if (t.to === 'closed' && t.reason === 'probes-succeeded') deps.shared?.closedAfterProbes();
              if (t.to === 'refused') {
                const why =
                  t.reason === 'requests-refused'
                    ? 'the provider refused every request it was sent'
                    : 'the provider refused the credentials';
                deps.log.error(
                  { provider: deps.provider, reason: t.reason },
                  `${deps.provider}: ${why}; none of its remaining turns is sent`,
                );
                return;
              }
              deps.log[t.to === 'closed' ? 'info' : 'warn'](
                {
                  provider: deps.provider,
                  from: t.from,
                  to: t.to,
                  reason: t.reason,
                  coolDownMs: t.coolDownMs,
                },
                `circuit ${t.to}`,
              );
            },
            ...(deps.shared && { sharedProbe: deps.shared }),
          }),
          waiting: [],
          timer: undefined,
          timerAt: undefined,
          lastFailure: undefined,
          gaveUp: undefined,
          refusedModels,
        };
      },
      afterStop: (state) => clearTimeout(state.timer),
    },
  );
}

function handle(
  deps: CircuitBreakerDeps,
  state: CircuitBreakerState,
  message: CircuitBreakerMessage,
  ctx: ActorContext<CircuitBreakerMessage>,
): CircuitBreakerState {
  switch (message.type) {
    case 'admit':
      state.waiting.push({
        id: message.id,
        fresh: message.fresh,
        ...(message.group !== undefined && { group: message.group }),
        replyTo: message.replyTo,
      });
      break;
    case 'confirm': {
      const modelRefusal = message.group === undefined ? undefined : state.refusedModels.get(message.group);
      if (modelRefusal) {
        dispatch(message.replyTo, { type: 'refused', id: message.id, error: modelRefusal });
        return state;
      }
      // A pass given before the breaker opened must not leave while it is open or probing: the
      // request waited in the limiter meanwhile. It goes first among the waiting: it came first.
      if (state.core.state().state === 'closed') {
        dispatch(message.replyTo, { type: 'confirmed', id: message.id });
        return state;
      }
      {
        const refusal = refusalOf(deps, state);
        if (refusal) {
          dispatch(message.replyTo, { type: 'refused', id: message.id, error: refusal });
          return state;
        }
      }
      dispatch(message.replyTo, { type: 'held', id: message.id });
      // A permit is asked for on a first attempt or a retry alike; the breaker only needs to know
      // whether it may serve as a probe, and a held request is treated as one that has failed.
      state.waiting.unshift({
        id: message.id,
        fresh: false,
        ...(message.group !== undefined && { group: message.group }),
        replyTo: message.replyTo,
      });
      break;
    }
    case 'cancel':
      state.waiting = state.waiting.filter((w) => w.id !== message.id);
      break;
    case 'record':
      if (message.refusedModel !== undefined) refuseModel(deps, state, message.refusedModel, message.message);
      else if (message.kind === 'unauthorized') {
        state.core.refuse({
          code: ERROR_CODES.unauthorized,
          message: message.message ?? `${deps.provider}: the provider refused the credentials`,
        });
      } else {
        if (isBreakerFailure(message.kind)) state.lastFailure = message.message;
        state.core.record(message.kind, {
          admission: message.probe ? 'probe' : 'pass',
          fresh: message.fresh,
          ...(message.message !== undefined && { message: message.message }),
        });
      }
      break;
    case 'wake':
      state.timer = undefined;
      state.timerAt = undefined;
      break;
    case 'opened-elsewhere':
      state.core.openElsewhere(message.until);
      break;
    case 'closed-elsewhere':
      state.core.closeElsewhere();
      break;
    case 'probe-granted':
      break;
    case 'get-snapshot':
      // A copy: the reply may be read after later refusals were added to the actor's own map.
      dispatch(message.replyTo, { ...state.core.state(), refusedModels: new Map(state.refusedModels) });
      return state;
    default: {
      const unknown: never = message;
      throw new Error(`circuit breaker: unknown message ${JSON.stringify(unknown)}`);
    }
  }
  admitWaiting(deps, state, ctx);
  return state;
}

/**
 * Lets through, in arrival order, every waiting request the breaker admits now. A half-open probe
 * is the oldest waiting request that has not failed before, if there is one: a request that keeps
 * failing on its own would otherwise keep the breaker open for everyone.
 */
function admitWaiting(
  deps: CircuitBreakerDeps,
  state: CircuitBreakerState,
  ctx: ActorContext<CircuitBreakerMessage>,
): void {
  const refusal = refusalOf(deps, state);
  if (refusal) {
    for (const next of state.waiting)
      dispatch(next.replyTo, { type: 'refused', id: next.id, error: refusal });
    state.waiting = [];
    return;
  }
  if (state.refusedModels.size > 0) {
    state.waiting = state.waiting.filter((next) => {
      const modelRefusal = next.group === undefined ? undefined : state.refusedModels.get(next.group);
      if (modelRefusal) dispatch(next.replyTo, { type: 'refused', id: next.id, error: modelRefusal });
      return modelRefusal === undefined;
    });
  }
  let admitted = 0;
  while (admitted < state.waiting.length) {
    const admission = state.core.admit();
    if (admission === 'wait' || admission === 'refused') break;
    if (admission === 'probe') {
      const fresh = state.waiting.findIndex((w, index) => index >= admitted && w.fresh);
      const [probe] = state.waiting.splice(fresh === -1 ? admitted : fresh, 1);
      if (probe) dispatch(probe.replyTo, { type: 'admitted', id: probe.id, probe: true });
      continue;
    }
    const next = state.waiting[admitted];
    if (next) dispatch(next.replyTo, { type: 'admitted', id: next.id, probe: false });
    admitted += 1;
  }
  if (admitted > 0) state.waiting = state.waiting.slice(admitted);
  if (state.waiting.length === 0) return;
  // Without a probe time, a probe is out: its recorded outcome wakes the queue (or giving up does).
  const probeAt = earliest(state.core.nextProbeAt(), giveUpAt(deps, state));
  // A timer set for later (giving up, while a shared probe was awaited) must not delay a nearer time.
  if (probeAt === undefined || (state.timerAt !== undefined && state.timerAt <= probeAt)) return;
  clearTimeout(state.timer);
  state.timerAt = probeAt;
  // Unref'd: a cool-down must not keep a process alive that has nothing else left to do (Ctrl-C).
  state.timer = setTimeout(
    () => dispatch(ctx.self, { type: 'wake' }),
    Math.max(0, probeAt - deps.clock.now()),
  ).unref();
}

/**
 * The provider refused a request for its model (404 "model not found"): no request for that model
 * can succeed, so none is sent any more — said once — while the provider's other models go on.
 */
function refuseModel(
  deps: CircuitBreakerDeps,
  state: CircuitBreakerState,
  model: RefusedModel,
  said: string | undefined,
): void {
  if (state.refusedModels.has(model.group)) return;
  const message = `${deps.provider} refused model ${model.id}, so none of its remaining turns is sent: ${said ?? 'model not found'}`;
  state.refusedModels.set(model.group, { code: ERROR_CODES.clientError, message });
  deps.log.error({ provider: deps.provider, model: model.id }, message);
}

/** The earlier of two times, either of which may be unknown. */
function earliest(a: number | undefined, b: number | undefined): number | undefined {
  if (a === undefined) return b;
  return b === undefined ? a : Math.min(a, b);
}

/** When the breaker will give up on the provider if it stays unavailable (see `giveUp`). */
function giveUpAt(deps: CircuitBreakerDeps, state: CircuitBreakerState): number | undefined {
  const since = state.core.state().unavailableSince;
  return deps.giveUp === undefined || since === undefined ? undefined : since + deps.giveUp.afterMs;
}

/**
 * Why every request is refused now, if it is: the provider refused the credentials or every
 * request, or (with `giveUp`) it has been unavailable too long — said once, through `onGiveUp`.
 */
function refusalOf(deps: CircuitBreakerDeps, state: CircuitBreakerState): BreakerRefusal | undefined {
  const status = state.core.state();
  if (status.refusal) return status.refusal;
  if (state.gaveUp) return state.gaveUp;
  const at = giveUpAt(deps, state);
  if (at === undefined || deps.clock.now() < at || status.unavailableSince === undefined) return undefined;
  const since = new Date(status.unavailableSince).toISOString();
  const last = state.lastFailure === undefined ? '' : `; last failure: ${state.lastFailure}`;
  state.gaveUp = {
    code: ERROR_CODES.providerUnavailable,
    message: `${deps.provider} has been unavailable since ${since} (circuit ${status.state}), longer than retry.maxPauseMs (${deps.giveUp?.afterMs} ms)${last}`,
  };
  deps.log.error({ provider: deps.provider, since }, state.gaveUp.message);
  deps.giveUp?.onGiveUp(state.gaveUp.message);
  return state.gaveUp;
}
