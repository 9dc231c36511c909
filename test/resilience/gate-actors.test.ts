/**
 * The provider gate's actors together (breaker, limiter, gate client) in a real actor system:
 * what the pure cores cannot show on their own is the order of the messages between them.
 */
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { spawnCircuitBreaker } from '../../src/actors/circuit-breaker-actor.js';
import { createGateClient } from '../../src/actors/gate-client.js';
import type { BreakerView, CircuitBreakerMessage } from '../../src/actors/circuit-breaker-actor.js';
import type { GateReply } from '../../src/actors/gate-reply.js';
import { dispatch, query, spawnStatelessActor, startSystem, stopActor } from '../../src/actors/nact.js';
import type { AnyActorRef, SystemRef } from '../../src/actors/nact.js';
import { MAX_GRANTS_PER_TURN, spawnRateLimiter } from '../../src/actors/rate-limiter-actor.js';
import type { RateLimiterMessage } from '../../src/actors/rate-limiter-actor.js';
import type { AdmitRequest, Permit } from '../../src/conversation/provider-gate.js';
import { silentLogger } from '../../src/log/logger.js';
import { systemClock } from '../../src/resilience/clock.js';
import { DEFAULT_BREAKER_POLICY } from '../../src/resilience/defaults.js';
import type { LimiterSnapshot } from '../../src/resilience/rate-limiter-core.js';
import type { Limits } from '../../src/suite/types.js';

const QUERY_TIMEOUT_MS = 1_000;
const COOL_DOWN_MS = 300;
const request: AdmitRequest = {
  group: 'job/m',
  model: 'm',
  priority: 1,
  estimatedTokens: 140,
  estimatedInputTokens: 40,
  fresh: true,
};
const deps = { provider: 'p', clock: systemClock, log: silentLogger() };

describe('the provider gate: breaker, limiter and gate client', () => {
  let system: SystemRef;
  // Top-level actors are spawned under the system, which nact accepts as a parent.
  const root = (): AnyActorRef => system as unknown as AnyActorRef;

  beforeEach(() => {
    // The cool-down runs on fake time: the actors' timers and their clock (Date.now) move only
    // when a test advances them, so no test waits for it and none depends on the machine's speed.
    // Message delivery (setImmediate) stays real.
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout', 'Date'] });
    system = startSystem();
  });
  afterEach(() => {
    stopActor(system);
    vi.useRealTimers();
  });

  /**
   * Lets the actors handle what is queued (message delivery is on real setImmediate). Not
   * `expect.poll`: under fake timers it moves the fake time at every try.
   */
  const settled = async (): Promise<void> => {
    for (let turn = 0; turn < 20; turn += 1) await new Promise((resolve) => setImmediate(resolve));
  };

  /** With `view`, the gate reads the closed breaker's state instead of asking it (as the registry wires it). */
  function gateWith(limits: Limits, view?: BreakerView) {
    const limiter = spawnRateLimiter(root(), 'limiter', { ...deps, limits });
    const breaker = spawnCircuitBreaker(root(), 'breaker', {
      ...deps,
      ...(view && { view }),
      policy: {
        ...DEFAULT_BREAKER_POLICY,
        consecutiveFailures: 1,
        coolDownMs: COOL_DOWN_MS,
        probesToClose: 1,
      },
    });
    return { limiter, gate: createGateClient(root(), 'gate', limiter, breaker, view) };
  }

  const snapshot = (limiter: ReturnType<typeof gateWith>['limiter']) =>
    query<RateLimiterMessage, LimiterSnapshot>(
      limiter,
      (replyTo) => ({ type: 'get-snapshot', replyTo }),
      QUERY_TIMEOUT_MS,
    );

  it.each([
    ['asking the breaker', undefined],
    ["reading the breaker's view", { state: 'closed' } as BreakerView],
  ])(
    'a request that queued at the limiter while the breaker opened waits for the probe, holding no slot (%s)',
    async (_, view) => {
      const { limiter, gate } = gateWith({ maxConcurrency: 1 }, view);
      const signal = new AbortController().signal;
      const first = await gate.admit(request, signal);
      expect(first.probe).toBe(false);

      // Passed by the closed breaker, it waits for the one concurrency slot.
      let second: Permit | undefined;
      const waiting = gate.admit(request, signal).then((permit) => (second = permit));
      gate.settle(first, { kind: 'server_error', headers: {} });
      // The failure opened the breaker; the limiter then granted the slot, and the breaker held it.
      await settled();
      expect((await snapshot(limiter)).inFlight).toBe(0);
      expect(second).toBeUndefined();
      // Held for the whole cool-down, not a millisecond less…
      await vi.advanceTimersByTimeAsync(COOL_DOWN_MS - 1);
      await settled();
      expect(second).toBeUndefined();
      // …then it goes as the half-open probe.
      await vi.advanceTimersByTimeAsync(1);
      await waiting;
      expect(second?.probe).toBe(true);
    },
  );

  it('while the breaker says it is closed, a request goes straight to the limiter; otherwise it asks the breaker', async () => {
    const limiter = spawnRateLimiter(root(), 'limiter', { ...deps, limits: { maxConcurrency: 10 } });
    const toBreaker: CircuitBreakerMessage['type'][] = [];
    const breaker = spawnStatelessActor<CircuitBreakerMessage>(root(), 'breaker', (message) => {
      toBreaker.push(message.type);
      if (message.type === 'admit')
        dispatch(message.replyTo, { type: 'admitted', id: message.id, probe: true });
    });
    const view: BreakerView = { state: 'closed' };
    const gate = createGateClient(root(), 'gate', limiter, breaker, view);
    const signal = new AbortController().signal;
    expect(await gate.admit(request, signal)).toMatchObject({ probe: false });
    expect(toBreaker).toEqual([]);
    view.state = 'half-open';
    expect(await gate.admit(request, signal)).toMatchObject({ probe: true });
    expect(toBreaker).toEqual(['admit']);
  });

  it.each([
    ['asking the breaker', undefined],
    ["reading the breaker's view", { state: 'closed' } as BreakerView],
  ])(
    'after a refusal of the credentials, waiting and new requests are refused unsent, their slots freed (%s)',
    async (_, view) => {
      const { limiter, gate } = gateWith({ maxConcurrency: 1 }, view);
      const signal = new AbortController().signal;
      const first = await gate.admit(request, signal);
      const waiting = gate.admit(request, signal);
      gate.settle(first, {
        kind: 'unauthorized',
        headers: {},
        message: 'openai 401: Incorrect API key provided.',
      });
      const refusal = { code: 'troupe:unauthorized', message: 'openai 401: Incorrect API key provided.' };
      await expect(waiting).rejects.toMatchObject({ name: 'GateRefusal', error: refusal });
      await expect(gate.admit(request, signal)).rejects.toMatchObject({ error: refusal });
      const after = await snapshot(limiter);
      expect(after).toMatchObject({ inFlight: 0, waiting: 0 });
    },
  );

  it('a half-open probe is a request that has not failed before, when one waits', async () => {
    const { gate } = gateWith({ maxConcurrency: 1 });
    const first = await gate.admit(request, new AbortController().signal);
    const retried = gate.admit({ ...request, fresh: false }, new AbortController().signal);
    const fresh = gate.admit(request, new AbortController().signal);
    gate.settle(first, { kind: 'server_error', headers: {} });
    await settled();
    await vi.advanceTimersByTimeAsync(COOL_DOWN_MS);
    const probe = await fresh;
    expect(probe.probe).toBe(true);
    gate.settle(probe, { kind: 'ok', usage: { inputTokens: 1, outputTokens: 1 }, headers: {} });
    expect((await retried).probe).toBe(false);
  });

  it('a request aborted while the breaker holds it leaves nothing behind', async () => {
    const { limiter, gate } = gateWith({ maxConcurrency: 1 });
    const first = await gate.admit(request, new AbortController().signal);
    const abort = new AbortController();
    const waiting = gate.admit(request, abort.signal);
    gate.settle(first, { kind: 'server_error', headers: {} });
    await settled();
    expect((await snapshot(limiter)).inFlight).toBe(0);
    abort.abort();
    await expect(waiting).rejects.toThrow();
    // After the cool-down a new request is the probe: the aborted one did not keep it.
    await vi.advanceTimersByTimeAsync(COOL_DOWN_MS);
    const next = await gate.admit(request, new AbortController().signal);
    expect(next.probe).toBe(true);
    expect((await snapshot(limiter)).waiting).toBe(0);
  });

  it("the limiter charges Anthropic's input and output token limits each their own part", async () => {
    const limiter = spawnRateLimiter(root(), 'limiter', { ...deps, limits: undefined });
    const granted: string[] = [];
    const replyTo = spawnStatelessActor<GateReply>(root(), 'reply', (reply) => {
      granted.push(reply.id);
    });
    const acquire = (id: string) =>
      dispatch(limiter, {
        type: 'acquire',
        id,
        group: 'g',
        priority: 0,
        estimatedTokens: 140,
        estimatedInputTokens: 40,
        replyTo,
      });
    acquire('a');
    const reset = new Date(Date.now() + 60_000).toISOString();
    dispatch(limiter, {
      type: 'release',
      id: 'a',
      outcome: {
        kind: 'ok',
        usage: { inputTokens: 40, outputTokens: 100 },
        headers: {
          'anthropic-ratelimit-input-tokens-limit': '1000',
          'anthropic-ratelimit-input-tokens-remaining': '50',
          'anthropic-ratelimit-input-tokens-reset': reset,
          'anthropic-ratelimit-output-tokens-limit': '1000',
          'anthropic-ratelimit-output-tokens-remaining': '100',
          'anthropic-ratelimit-output-tokens-reset': reset,
        },
      },
    });
    // 40 input tokens fit the 50 left, 100 output tokens the 100 left; charged 140 each, neither would.
    acquire('b');
    expect(await snapshot(limiter)).toMatchObject({ waiting: 0, inFlight: 1 });
    await settled();
    expect(granted).toEqual(['a', 'b']);
  });

  it('the limiter grants at most MAX_GRANTS_PER_TURN permits per turn of the event loop, even to one batch of requests', async () => {
    const limiter = spawnRateLimiter(root(), 'limiter', { ...deps, limits: { maxConcurrency: 1_000 } });
    const granted: string[] = [];
    const replyTo = spawnStatelessActor<GateReply>(root(), 'reply', (reply) => {
      granted.push(reply.id);
    });
    const requests = MAX_GRANTS_PER_TURN * 3 + 5;
    // Sent in one synchronous run, they reach the limiter as one batch.
    for (let i = 0; i < requests; i += 1) {
      dispatch(limiter, {
        type: 'acquire',
        id: `r${i}`,
        group: 'g',
        priority: 0,
        estimatedTokens: 1,
        estimatedInputTokens: 1,
        replyTo,
      });
    }
    // Counted once per turn of the loop: each turn's grants reach the reply actor as one batch.
    const perTurn: number[] = [];
    for (let turn = 0; turn < 100 && granted.length < requests; turn += 1) {
      const before = granted.length;
      await new Promise((resolve) => setImmediate(resolve));
      perTurn.push(granted.length - before);
    }
    expect(granted).toHaveLength(requests);
    expect(Math.max(...perTurn)).toBe(MAX_GRANTS_PER_TURN);
  });
});
