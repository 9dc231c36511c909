/**
 * The bridge between a conversation's promise-based turn and a provider's two
 * actors: `admit` first asks the circuit breaker to let the request pass, then the
 * rate limiter for a permit; `settle` tells both how the attempt ended. The
 * replies come back to a small actor of this module, which resolves the waiting
 * promise; nothing of a conversation is kept here.
 */
import { randomUUID } from 'node:crypto';
import type { AdmitRequest, AttemptOutcome, Permit, ProviderGate } from '../conversation/provider-gate.js';
import type { CircuitBreakerMessage } from './circuit-breaker.js';
import { dispatch, spawnStatelessActor } from './nact.js';
import type { ActorRef, AnyActorRef } from './nact.js';
import type { RateLimiterMessage } from './rate-limiter.js';

/** Replies the gate client receives from the breaker and the limiter. */
export type GateReply =
  | { readonly type: 'admitted'; readonly id: string; readonly probe: boolean }
  | { readonly type: 'permit-granted'; readonly id: string };

interface Pending {
  readonly request: AdmitRequest;
  stage: 'breaker' | 'limiter';
  probe: boolean;
  readonly resolve: (permit: Permit) => void;
}

/** Creates the gate of one provider account, given its limiter and breaker actors. */
export function createGateClient(
  parent: AnyActorRef,
  name: string,
  limiter: ActorRef<RateLimiterMessage>,
  breaker: ActorRef<CircuitBreakerMessage>,
): ProviderGate {
  const pending = new Map<string, Pending>();
  const client: ActorRef<GateReply> = spawnStatelessActor<GateReply>(parent, name, (reply) => {
    const waiting = pending.get(reply.id);
    switch (reply.type) {
      case 'admitted':
        if (!waiting) {
          // Its turn was cancelled while the breaker held it: give the pass back.
          dispatch(breaker, { type: 'record', id: reply.id, kind: 'cancelled', probe: reply.probe });
          return;
        }
        waiting.stage = 'limiter';
        waiting.probe = reply.probe;
        dispatch(limiter, { type: 'acquire', id: reply.id, ...waiting.request, replyTo: client });
        return;
      case 'permit-granted':
        if (!waiting) {
          // Cancelled while the limiter held it; the limiter already took the cancel as a release.
          return;
        }
        pending.delete(reply.id);
        waiting.resolve({ id: reply.id, probe: waiting.probe });
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
          else {
            dispatch(limiter, { type: 'cancel', id });
            dispatch(breaker, { type: 'record', id, kind: 'cancelled', probe: waiting.probe });
          }
          reject(signal.reason as Error);
        };
        // The signal lives as long as the conversation: the listener must go when the permit comes.
        const granted = (permit: Permit): void => {
          signal.removeEventListener('abort', onAbort);
          resolve(permit);
        };
        pending.set(id, { request, stage: 'breaker', probe: false, resolve: granted });
        signal.addEventListener('abort', onAbort, { once: true });
        dispatch(breaker, { type: 'admit', id, replyTo: client });
      });
    },
    settle(permit, outcome: AttemptOutcome) {
      dispatch(limiter, { type: 'release', id: permit.id, outcome });
      dispatch(breaker, { type: 'record', id: permit.id, kind: outcome.kind, probe: permit.probe });
    },
  };
}
