/**
 * A turn's deadline over all its attempts and waits: a turn whose provider failed it and then
 * stays behind an open breaker ends `failed` when its deadline passes, naming the last failure,
 * instead of waiting for cool-down after cool-down. The real gate actors, the real OpenAI SDK
 * against the simulator; time is a manual clock with sleeps that end when it is advanced.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { spawnCircuitBreaker } from '../src/actors/circuit-breaker-actor.js';
import { createGateClient } from '../src/actors/gate-client.js';
import { startSystem, stopActor } from '../src/actors/nact.js';
import type { AnyActorRef, SystemRef } from '../src/actors/nact.js';
import { spawnRateLimiter } from '../src/actors/rate-limiter-actor.js';
import { executeTurn } from '../src/conversation/turn-executor.js';
import type { TurnOutcome } from '../src/conversation/turn-executor.js';
import { silentLogger } from '../src/log/logger.js';
import { createOpenAIProvider } from '../src/providers/openai.js';
import { ManualClock } from '../src/resilience/clock.js';
import { DEFAULT_BREAKER_POLICY } from '../src/resilience/defaults.js';
import { turnDeadlineMs } from '../src/resilience/retry-policy.js';
import type { RetryPolicy } from '../src/resilience/retry-policy.js';
import { startSimulator } from '../src/simulator/server.js';
import type { Simulator } from '../src/simulator/server.js';

const RETRY: RetryPolicy = {
  maxAttempts: 6,
  baseDelayMs: 10,
  maxDelayMs: 100,
  timeoutMs: 1_000,
  maxPauseMs: 1_000,
};

/** Sleeps that end when the manual clock passes their end (or their signal aborts). */
class ClockedSleeps {
  private waiting: { until: number; resolve: () => void }[] = [];
  constructor(private readonly clock: ManualClock) {}

  readonly sleep = (ms: number, signal: AbortSignal): Promise<void> =>
    new Promise((resolve, reject) => {
      if (signal.aborted) return reject(signal.reason as Error);
      if (ms <= 0) return resolve();
      const entry = { until: this.clock.now() + ms, resolve };
      this.waiting.push(entry);
      signal.addEventListener('abort', () => {
        this.waiting = this.waiting.filter((w) => w !== entry);
        reject(signal.reason as Error);
      });
    });

  advance(ms: number): void {
    this.clock.advance(ms);
    const due = this.waiting.filter((w) => w.until <= this.clock.now());
    this.waiting = this.waiting.filter((w) => w.until > this.clock.now());
    for (const w of due) w.resolve();
  }
}

describe('the turn deadline', () => {
  let system: SystemRef;
  let sim: Simulator;
  const root = (): AnyActorRef => system as unknown as AnyActorRef;

  beforeEach(async () => {
    system = startSystem();
    sim = await startSimulator({ latencyMs: 0, faults: [{ fault: { kind: 'status', status: 500 } }] });
  });
  afterEach(async () => {
    stopActor(system);
    await sim.close();
  });

  it('ends a turn held by an open breaker when its deadline passes, with the last failure, after one request', async () => {
    const clock = new ManualClock(1_000_000);
    const sleeps = new ClockedSleeps(clock);
    const log = silentLogger();
    const limiter = spawnRateLimiter(root(), 'limiter', { provider: 'p', clock, log, limits: {} });
    // Opens on the first failure and stays open for ten minutes of the manual clock.
    const breaker = spawnCircuitBreaker(root(), 'breaker', {
      provider: 'p',
      clock,
      log,
      policy: {
        ...DEFAULT_BREAKER_POLICY,
        consecutiveFailures: 1,
        coolDownMs: 600_000,
        maxCoolDownMs: 600_000,
      },
    });
    const gate = createGateClient(root(), 'gate', limiter, breaker);
    const provider = createOpenAIProvider(
      {
        type: 'openai',
        baseURL: sim.openaiBaseURL,
        apiKeyEnv: 'K',
        headers: 'none',
        retry: RETRY,
        breaker: DEFAULT_BREAKER_POLICY,
      },
      'sk-test',
    );
    let outcome: TurnOutcome | undefined;
    void executeTurn(
      { provider, gate, retry: RETRY, clock, random: () => 0, sleep: sleeps.sleep },
      {
        modelId: 'm',
        model: 'gpt-4o-mini',
        messages: [{ role: 'user', content: 'hello' }],
        maxTokens: 16,
        group: 'job/m',
        remainingTurns: 1,
      },
      new AbortController().signal,
    ).then((o) => (outcome = o));

    await expect.poll(() => sim.records.length).toBe(1);
    // The retry waits at the open breaker: nothing more is sent, and the turn has not ended.
    sleeps.advance(turnDeadlineMs(RETRY) - 1);
    await new Promise((resolve) => setImmediate(resolve));
    expect(outcome).toBeUndefined();
    sleeps.advance(1);
    await expect.poll(() => outcome).toBeDefined();
    expect(outcome).toMatchObject({
      status: 'failed',
      attempts: 1,
      error: { code: 'troupe:deadline-exceeded' },
    });
    const message = outcome?.status === 'failed' ? outcome.error.message : '';
    expect(message).toContain(`deadline of ${turnDeadlineMs(RETRY)} ms`);
    expect(message).toContain('HTTP 500');
    expect(sim.records).toHaveLength(1);
  });
});
