/**
 * The rate limiter against a provider's window, on fake time: the limiter's grants meet the
 * simulator's own bucket (`SimulatorRateLimit`, refilling at R a minute and holding a window's
 * worth) and its headers in each dialect, with a fixed latency. What is checked is the issue's
 * rule: what the provider announces is read as what it says (`remaining` until `reset`), so a
 * window longer than half a second is spent as the provider allows, and never a 429 when the
 * configured limit is the provider's.
 */
import { describe, expect, it } from 'vitest';
import { ManualClock } from '../../src/resilience/clock.js';
import { HEADER_DIALECTS, type DialectName } from '../../src/resilience/header-dialects.js';
import { RateLimiterCore } from '../../src/resilience/rate-limiter-core.js';
import type { Limits } from '../../src/resilience/rate-limiter-core.js';
import { dialectHeaders } from '../../src/simulator/dialect-headers.js';
import { SimulatorRateLimit } from '../../src/simulator/rate-limit.js';
import { seededRandom } from '../../src/simulator/random.js';

const T0 = 1_700_000_000_000;
const MS_PER_MINUTE = 60_000;
const MS_PER_DAY = 86_400_000;
const LATENCY_MS = 200;
const RPM = 1_200;
/** Enough events for the largest job here, many times over: the loop is bounded. */
const MAX_STEPS = 100_000;

interface Job {
  readonly conversations: number;
  readonly turns: number;
}

interface Outcome {
  readonly wallMs: number;
  readonly rateLimited: number;
  /** Most requests troupe let leave in any 60 s window. */
  readonly maxPerMinute: number;
}

/** Most a request takes to reach the provider, and its answer to come back, in ms (seeded, uniform). */
const JITTER_MS = 60;

type ProviderEvent =
  | { readonly at: number; readonly type: 'arrive'; readonly id: string }
  | { readonly at: number; readonly type: 'answer'; readonly id: string }
  | {
      readonly at: number;
      readonly type: 'reply';
      readonly id: string;
      readonly headers?: Record<string, string>;
      readonly retryAfterMs?: number;
    };

/**
 * Runs `job` through a limiter against the simulator's bucket, as `troupe simulate` serves it: a
 * granted request reaches the provider up to `JITTER_MS` later (so requests arrive out of order),
 * is admitted or refused (429 with its wait) on arrival, answered `LATENCY_MS` later with the
 * headers of `dialect` as the bucket stands then, and the answer reaches troupe up to `JITTER_MS`
 * after that. A refused turn is asked again.
 */
function run(dialect: DialectName, windowMs: number, job: Job, limits?: Limits): Outcome {
  const clock = new ManualClock(T0);
  const limiter = new RateLimiterCore({
    clock,
    dialect: HEADER_DIALECTS[dialect],
    ...(limits && { limits }),
  });
  const provider = new SimulatorRateLimit({ requestsPerMinute: RPM, windowMs }, T0);
  const random = seededRandom(7);
  const jitter = () => Math.floor(random() * JITTER_MS);
  const left = new Map<string, number>();
  for (let c = 0; c < job.conversations; c++) {
    left.set(`c${c}`, job.turns);
    limiter.enqueue({ id: `c${c}`, group: 'g', priority: job.turns, tokens: 0 });
  }
  const events: ProviderEvent[] = [];
  const grantedAt: number[] = [];
  let rateLimited = 0;
  let lastAnswer = T0;
  for (let step = 0; step < MAX_STEPS && left.size > 0; step++) {
    for (const grant of limiter.grant()) {
      grantedAt.push(clock.now());
      events.push({ at: clock.now() + jitter(), type: 'arrive', id: grant.id });
    }
    events.sort((a, b) => a.at - b.at);
    const next = Math.min(events[0]?.at ?? Infinity, limiter.nextWakeAt() ?? Infinity);
    if (!Number.isFinite(next)) throw new Error('stuck: nothing to wait for');
    clock.set(Math.max(clock.now(), next));
    while (events.length > 0 && events[0]!.at <= clock.now()) {
      const event = events.shift()!;
      const now = clock.now();
      switch (event.type) {
        case 'arrive': {
          const admission = provider.admit(0, now);
          if (admission.admitted) {
            events.push({ at: now + LATENCY_MS, type: 'answer', id: event.id });
          } else {
            rateLimited++;
            events.push({ at: now + jitter(), type: 'reply', id: event.id, retryAfterMs: admission.waitMs });
          }
          break;
        }
        case 'answer':
          events.push({
            at: now + jitter(),
            type: 'reply',
            id: event.id,
            headers: dialectHeaders(dialect, provider.state(now), now),
          });
          break;
        case 'reply': {
          if (event.headers === undefined) {
            limiter.release(event.id, { kind: 'rate_limited', retryAfterMs: event.retryAfterMs });
            limiter.enqueue({ id: event.id, group: 'g', priority: left.get(event.id)!, tokens: 0 });
            break;
          }
          const usage = { inputTokens: 0, outputTokens: 0 };
          limiter.release(event.id, { kind: 'ok', usage, headers: event.headers });
          lastAnswer = now;
          const turnsLeft = left.get(event.id)! - 1;
          if (turnsLeft === 0) left.delete(event.id);
          else {
            left.set(event.id, turnsLeft);
            limiter.enqueue({ id: event.id, group: 'g', priority: turnsLeft, tokens: 0 });
          }
          break;
        }
        default: {
          const unknown: never = event;
          throw new Error(`unknown event ${JSON.stringify(unknown)}`);
        }
      }
      events.sort((a, b) => a.at - b.at);
    }
  }
  expect(left.size, 'every turn answered within the bounded loop').toBe(0);
  let maxPerMinute = 0;
  for (let i = 0, j = 0; i < grantedAt.length; i++) {
    while (grantedAt[j]! <= grantedAt[i]! - MS_PER_MINUTE) j++;
    maxPerMinute = Math.max(maxPerMinute, i - j + 1);
  }
  return { wallMs: lastAnswer - T0, rateLimited, maxPerMinute };
}

/** max(T·L, (N − B)/R): B is the provider's bucket, which starts full. */
function bound(job: Job, windowMs: number): number {
  const n = job.conversations * job.turns;
  const burst = Math.floor((RPM * windowMs) / MS_PER_MINUTE);
  return Math.max(job.turns * LATENCY_MS, (Math.max(0, n - burst) / RPM) * MS_PER_MINUTE);
}

const SEED: Job = { conversations: 135, turns: 3 };
/** A request's latency with its jitter both ways, at most. */
const ROUND_TRIP_MS = LATENCY_MS + 2 * JITTER_MS;

/** Dialects whose headers describe the provider's window, with the window the simulator keeps. */
const WINDOWED_DIALECTS = [
  ['openai', 6_000],
  ['openrouter', 6_000],
  ['ietf', 6_000],
  ['azure', 10_000],
  ['together', 1_000],
] as const;

describe('RateLimiterCore against a provider window (fake time)', () => {
  it.each(WINDOWED_DIALECTS)(
    '%s, %i ms window: the configured rate spends the window the headers announce, no 429',
    (dialect, windowMs) => {
      const outcome = run(dialect, windowMs, SEED, { requestsPerMinute: RPM });
      expect(outcome.rateLimited).toBe(0);
      expect(outcome.maxPerMinute).toBeLessThanOrEqual(RPM);
      // One round trip to learn the window, then the provider's refill: the 1.1 × the bound.
      expect(outcome.wallMs).toBeLessThanOrEqual(bound(SEED, windowMs) * 1.1 + ROUND_TRIP_MS);
    },
  );

  it.each(WINDOWED_DIALECTS)(
    '%s, %i ms window, nothing configured: the announced rate is learned',
    (dialect, windowMs) => {
      const outcome = run(dialect, windowMs, SEED);
      expect(outcome.rateLimited).toBe(0);
      // The 1.3 × the bound, learned.
      expect(outcome.wallMs).toBeLessThanOrEqual(bound(SEED, windowMs) * 1.3 + ROUND_TRIP_MS);
    },
  );

  it.each([
    ['anthropic', MS_PER_MINUTE],
    ['groq', MS_PER_DAY],
  ] as const)(
    '%s, %i ms window holding the whole job: configured, it goes out as fast as the conversations allow',
    (dialect, windowMs) => {
      const outcome = run(dialect, windowMs, SEED, { requestsPerMinute: RPM });
      expect(outcome.rateLimited).toBe(0);
      // The chain of 3 turns, plus the round trip that learns the window (before it, half a
      // second's worth of the configured rate leaves; the adaptive window opens on the first answer).
      expect(outcome.wallMs).toBeLessThanOrEqual((SEED.turns + 1) * ROUND_TRIP_MS);
    },
  );

  it('a configured rate is never exceeded in any minute, even when the provider would take more', () => {
    // The provider's bucket holds a minute of 1 200 and refills: 2 400 would pass in the first
    // minute. troupe's contract is the configured 600 in any 60 s window.
    const job: Job = { conversations: 400, turns: 3 };
    const outcome = run('anthropic', MS_PER_MINUTE, job, { requestsPerMinute: 600 });
    expect(outcome.rateLimited).toBe(0);
    expect(outcome.maxPerMinute).toBe(600);
  });

  it('before any header, a configured rate leaves half a second of it: no 429 from a 1 s window', () => {
    const outcome = run('together', 1_000, { conversations: 200, turns: 1 }, { requestsPerMinute: RPM });
    expect(outcome.rateLimited).toBe(0);
  });
});
