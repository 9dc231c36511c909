/**
 * The bridge between a conversation's promise-based turn and a provider's two
 * actors: `admit` first asks the circuit breaker to let the request pass (unless
 * its published view says it is closed), then the rate limiter for a permit, then
 * — unless it is the breaker's probe — the breaker again to confirm, since it may
 * have opened while the request queued at the limiter (a request held there gives
 * its permit back and waits at the breaker).
 * `settle` tells both how the attempt ended. The replies come back to a small actor
 * of this module, which resolves the waiting promise; nothing of a conversation is
 * kept here.
 */
import { randomUUID } from 'node:crypto';
import { GateRefusal } from '../conversation/provider-gate.js';
import type { AdmitRequest, AttemptOutcome, Permit, ProviderGate } from '../conversation/provider-gate.js';
import type { BreakerView, CircuitBreakerMessage } from './circuit-breaker-actor.js';
import type { GateReply } from './gate-reply.js';
import { dispatch, spawnStatelessActor } from './nact.js';
import type { ActorRef, AnyActorRef } from './nact.js';
import type { RateLimiterMessage } from './rate-limiter-actor.js';

interface Pending {
  readonly request: AdmitRequest;
  /** Where the request waits: the breaker's admission, the limiter's permit, the breaker's confirmation. */
  stage: 'breaker' | 'limiter' | 'confirm';
  probe: boolean;
  readonly resolve: (permit: Permit) => void;
  readonly reject: (error: Error) => void;
}

/** Creates the gate of one provider account, given its limiter and breaker actors. */
export function createGateClient(
  parent: AnyActorRef,
  name: string,
  limiter: ActorRef<RateLimiterMessage>,
  breaker: ActorRef<CircuitBreakerMessage>,
  /** The breaker's state as it publishes it; without one, every permit is confirmed by message. */
  breakerView?: BreakerView,
): ProviderGate {
  const pending = new Map<string, Pending>();
  /** Permits out whose request failed before, until settled (the breaker weighs their failures less). */
  const retried = new Set<string>();
  const grant = (id: string, waiting: Pending): void => {
    pending.delete(id);
    if (!waiting.request.fresh) retried.add(id);
    waiting.resolve({ id, probe: waiting.probe });
  };
  /** Rejects a request whose model the provider refused (as the breaker's view says); true if it did. */
  const refuseModel = (id: string, waiting: Pending): boolean => {
    const refusal = breakerView?.refusedModels?.get(waiting.request.group);
    if (refusal === undefined) return false;
    pending.delete(id);
    waiting.reject(new GateRefusal(refusal));
    return true;
  };
  const toLimiter = (id: string, waiting: Pending): void => {
    waiting.stage = 'limiter';
    dispatch(limiter, { type: 'acquire', id, ...waiting.request, replyTo: client });
  };
  const client: ActorRef<GateReply> = spawnStatelessActor<GateReply>(parent, name, (reply) => {
    const waiting = pending.get(reply.id);
    switch (reply.type) {
      case 'admitted':
        if (!waiting) {
          // Its turn was cancelled while the breaker held it: give the pass back.
          dispatch(breaker, {
            type: 'record',
            id: reply.id,
            kind: 'cancelled',
            probe: reply.probe,
            fresh: true,
          });
          return;
        }
        waiting.probe = reply.probe;
        toLimiter(reply.id, waiting);
        return;
      case 'permit-granted':
        // Not waiting: cancelled while the limiter held it; the limiter took the cancel as a release.
        if (waiting?.stage !== 'limiter') return;
        // Its model was refused while it queued: nothing is sent, the slot goes back.
        if (refuseModel(reply.id, waiting)) {
          dispatch(limiter, { type: 'cancel', id: reply.id });
          if (waiting.probe)
            dispatch(breaker, { type: 'record', id: reply.id, kind: 'cancelled', probe: true, fresh: true });
          return;
        }
        // The probe is the one request the breaker expects while it is not closed; and while the
        // breaker is closed (its view says so, as of now) there is nothing to confirm.
        if (waiting.probe || breakerView?.state === 'closed') {
          grant(reply.id, waiting);
          return;
        }
        waiting.stage = 'confirm';
        dispatch(breaker, { type: 'confirm', id: reply.id, group: waiting.request.group, replyTo: client });
        return;
      case 'confirmed':
        if (waiting?.stage === 'confirm') grant(reply.id, waiting);
        return;
      case 'held':
        if (waiting?.stage !== 'confirm') return;
        // Nothing was sent: the permit goes back (its reservation stays counted, which is safe).
        dispatch(limiter, { type: 'cancel', id: reply.id });
        waiting.stage = 'breaker';
        return;
      case 'refused':
        if (!waiting) return;
        pending.delete(reply.id);
        // Holding a permit when the refusal came: nothing was sent, the slot goes back.
        if (waiting.stage === 'confirm') dispatch(limiter, { type: 'cancel', id: reply.id });
        waiting.reject(new GateRefusal(reply.error));
        return;
      default: {
        const unknown: never = reply;
        throw new Error(`gate client: unknown reply ${JSON.stringify(unknown)}`);
      }
    }
  });

  return {
    admit(request, signal) {
      return new Promise<Permit>((resolve, reject) => {
        if (signal.aborted) {
          reject(signal.reason as Error);
          return;
        }
        const id = randomUUID();
        const onAbort = (): void => {
          const waiting = pending.get(id);
          if (!waiting) return;
          pending.delete(id);
          if (waiting.stage === 'breaker') dispatch(breaker, { type: 'cancel', id });
          else if (waiting.stage === 'limiter') {
            dispatch(limiter, { type: 'cancel', id });
            dispatch(breaker, { type: 'record', id, kind: 'cancelled', probe: waiting.probe, fresh: true });
          } else {
            // Holding a permit while the breaker decides: give both back. A `held` request is
            // back in the breaker's queue by the time the cancel arrives (same sender, in order).
            dispatch(limiter, { type: 'cancel', id });
            dispatch(breaker, { type: 'cancel', id });
          }
          reject(signal.reason as Error);
        };
        // The signal lives as long as the conversation: the listener must go when the permit comes.
        const granted = (permit: Permit): void => {
          signal.removeEventListener('abort', onAbort);
          resolve(permit);
        };
        const refused = (error: Error): void => {
          signal.removeEventListener('abort', onAbort);
          reject(error);
        };
        const waiting: Pending = {
          request,
          stage: 'breaker',
          probe: false,
          resolve: granted,
          reject: refused,
        };
        pending.set(id, waiting);
        signal.addEventListener('abort', onAbort, { once: true });
        if (refuseModel(id, waiting)) return;
        // A closed breaker admits every request as it comes, with no probe: asking it would only
        // cost two messages per request. Should it open while the request waits at the limiter,
        // the permit is confirmed with it all the same.
        if (breakerView?.state === 'closed') toLimiter(id, waiting);
        else
          dispatch(breaker, {
            type: 'admit',
            id,
            fresh: request.fresh,
            group: request.group,
            replyTo: client,
          });
      });
    },
    settle(permit, outcome: AttemptOutcome) {
      dispatch(limiter, { type: 'release', id: permit.id, outcome });
      const fresh = !retried.delete(permit.id);
      dispatch(breaker, {
        type: 'record',
        id: permit.id,
        kind: outcome.kind,
        probe: permit.probe,
        fresh,
        ...(outcome.kind !== 'ok' && outcome.message !== undefined && { message: outcome.message }),
        ...(outcome.kind !== 'ok' &&
          outcome.refusedModel !== undefined && { refusedModel: outcome.refusedModel }),
      });
    },
  };
}
