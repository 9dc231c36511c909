import { describe, expect, it } from 'vitest';
import { ManualClock } from '../../src/resilience/clock.js';
import { HEADER_DIALECTS, type HeaderDialect } from '../../src/resilience/header-dialects.js';
import {
  BURST_WINDOW_MS,
  QUOTA_PAUSE_BASE_MS,
  QUOTA_PAUSE_MAX_MS,
  RATE_LIMIT_PAUSE_BASE_MS,
  RATE_WINDOW_MS,
} from '../../src/resilience/defaults.js';
import {
  RateLimiterCore,
  type Grant,
  type RateLimiterOptions,
} from '../../src/resilience/rate-limiter-core.js';
import type { Limits } from '../../src/suite/types.js';
import { seededRandom } from '../../src/simulator/random.js';

const T0 = 1_700_000_000_000;

function setup(
  limits?: Limits,
  adaptive?: RateLimiterOptions['adaptive'],
  dialect: HeaderDialect = HEADER_DIALECTS.openai,
) {
  const clock = new ManualClock(T0);
  const limiter = new RateLimiterCore({
    clock,
    dialect,
    ...(limits && { limits }),
    ...(adaptive && { adaptive }),
  });
  let n = 0;
  const enqueue = (group = 'g', tokens = 0, priority = 0, id = `w${++n}`) => {
    limiter.enqueue({ id, group, priority, tokens });
    return id;
  };
  const ids = (grants: Grant[]) => grants.map((g) => g.id);
  return { clock, limiter, enqueue, ids };
}

const ok = { kind: 'ok', usage: { inputTokens: 0, outputTokens: 0 } } as const;

describe('RateLimiterCore: requests per minute', () => {
  it('never exceeds the limit in any 60 s window over 10 000 random grant attempts, and nearly reaches it', () => {
    const rpm = 600;
    const { clock, limiter, enqueue } = setup({ requestsPerMinute: rpm, maxConcurrency: 1_000 });
    const random = seededRandom(42);
    const sent: number[] = [];
    for (let i = 0; i < 300; i++) enqueue(i % 2 ? 'a' : 'b');
    for (let attempt = 0; attempt < 10_000; attempt++) {
      clock.advance(Math.floor(random() * 200));
      for (const grant of limiter.grant()) {
        sent.push(clock.now());
        limiter.release(grant.id, ok);
        enqueue(grant.group);
      }
    }
    expect(maxInAnyWindow(sent, RATE_WINDOW_MS)).toBeLessThanOrEqual(rpm);
    const minutes = (clock.now() - T0) / RATE_WINDOW_MS;
    expect(sent.length / (rpm * minutes)).toBeGreaterThanOrEqual(0.95);
  });

  it('driven by nextWakeAt with slow replies, holds the limit and the concurrency cap', () => {
    const rpm = 120;
    const { clock, limiter, enqueue } = setup({ requestsPerMinute: rpm, maxConcurrency: 3 });
    const random = seededRandom(3);
    const sent: number[] = [];
    const replies: { at: number; id: string }[] = [];
    for (let i = 0; i < 2_000; i++) enqueue(`job${i % 3}`);
    let maxInFlight = 0;
    while (sent.length < 1_500) {
      for (const grant of limiter.grant()) {
        sent.push(clock.now());
        replies.push({ at: clock.now() + 600 + Math.floor(random() * 1_200), id: grant.id });
      }
      maxInFlight = Math.max(maxInFlight, limiter.snapshot().inFlight);
      replies.sort((a, b) => a.at - b.at);
      const wake = limiter.nextWakeAt();
      const next = Math.min(wake ?? Infinity, replies[0]?.at ?? Infinity);
      clock.set(Math.max(clock.now(), next));
      while (replies[0] && replies[0].at <= clock.now()) limiter.release(replies.shift()!.id, ok);
    }
    expect(maxInFlight).toBe(3);
    expect(maxInAnyWindow(sent, RATE_WINDOW_MS)).toBeLessThanOrEqual(rpm);
    const minutes = (sent.at(-1)! - sent[0]!) / RATE_WINDOW_MS;
    expect(sent.length / (rpm * minutes)).toBeGreaterThanOrEqual(0.95);
  });

  it('lets a half-second burst out at once, then one request per 1/rpm minute', () => {
    // Half a second's worth: the provider's own bucket (about a second's worth) keeps the other
    // half as headroom for the jitter between a grant here and its arrival there.
    expect(BURST_WINDOW_MS).toBe(500);
    const { clock, limiter, enqueue, ids } = setup({ requestsPerMinute: 240, maxConcurrency: 100 });
    for (let i = 0; i < 5; i++) enqueue();
    expect(ids(limiter.grant())).toEqual(['w1', 'w2']);
    expect(limiter.nextWakeAt()).toBe(T0 + 250);
    clock.advance(249);
    expect(limiter.grant()).toEqual([]);
    clock.advance(1);
    expect(ids(limiter.grant())).toEqual(['w3']);
  });
});

describe('RateLimiterCore: tokens per minute', () => {
  it('grants at most the number asked for, the rest on the next call, in the same order', () => {
    const { limiter, enqueue, ids } = setup({ maxConcurrency: 100 });
    const waiting = Array.from({ length: 10 }, () => enqueue());
    const first = ids(limiter.grant(4));
    const rest = ids(limiter.grant(4));
    const last = ids(limiter.grant());
    expect(first).toHaveLength(4);
    expect(rest).toHaveLength(4);
    expect([...first, ...rest, ...last]).toEqual(waiting);
  });

  it('reserves the estimate and refunds what the answer did not use', () => {
    const { clock, limiter, enqueue, ids } = setup({ tokensPerMinute: 6_000, maxConcurrency: 10 }); // 100 per s
    enqueue('g', 100);
    enqueue('g', 100);
    expect(ids(limiter.grant())).toEqual(['w1']);
    expect(limiter.nextWakeAt()).toBe(T0 + 1_000);
    limiter.release('w1', { kind: 'ok', usage: { inputTokens: 15, outputTokens: 5 } });
    expect(limiter.snapshot().tokensInWindow).toBe(20);
    // 80 tokens came back: 20 more to wait for, at 0.1 token per ms.
    expect(limiter.nextWakeAt()).toBe(T0 + 200);
    clock.advance(200);
    expect(ids(limiter.grant())).toEqual(['w2']);
  });

  it('takes a debt when the answer used more than reserved', () => {
    const { clock, limiter, enqueue, ids } = setup({ tokensPerMinute: 12_000, maxConcurrency: 10 });
    enqueue('g', 100);
    enqueue('g', 10);
    expect(ids(limiter.grant())).toEqual(['w1']);
    limiter.release('w1', { kind: 'ok', usage: { inputTokens: 150, outputTokens: 150 } });
    expect(limiter.snapshot().tokensInWindow).toBe(300);
    // 200 tokens of debt plus the 10 wanted, at 0.2 token per ms.
    expect(limiter.nextWakeAt()).toBe(T0 + 1_050);
    clock.set(T0 + 1_049);
    expect(limiter.grant()).toEqual([]);
    clock.set(T0 + 1_050);
    expect(ids(limiter.grant())).toEqual(['w2']);
  });

  it('keeps the reservation of a failed request', () => {
    const { limiter, enqueue } = setup({ tokensPerMinute: 6_000, maxConcurrency: 10 });
    enqueue('g', 100);
    limiter.grant();
    limiter.release('w1', { kind: 'server_error' });
    expect(limiter.snapshot().tokensInWindow).toBe(100);
  });

  it('never lets the tokens used exceed the limit in any window, and nearly reaches it', () => {
    const tpm = 30_000;
    const { clock, limiter, enqueue } = setup({ tokensPerMinute: tpm, maxConcurrency: 20 });
    const random = seededRandom(9);
    const sent: { at: number; tokens: number }[] = [];
    const replies: { at: number; id: string; used: number }[] = [];
    const size = () => 200 + Math.floor(random() * 1_800);
    for (let i = 0; i < 100; i++) enqueue(`m${i % 4}`, size());
    while (clock.now() < T0 + 30 * RATE_WINDOW_MS) {
      for (const grant of limiter.grant()) {
        // The answer uses less than the reservation (maxTokens is rarely all used).
        const used = Math.floor(grant.tokens * (0.2 + 0.8 * random()));
        sent.push({ at: clock.now(), tokens: used });
        replies.push({ at: clock.now() + 300 + Math.floor(random() * 1_000), id: grant.id, used });
        enqueue(grant.group, size());
      }
      replies.sort((a, b) => a.at - b.at);
      clock.set(
        Math.max(clock.now(), Math.min(limiter.nextWakeAt() ?? Infinity, replies[0]?.at ?? Infinity)),
      );
      while (replies[0] && replies[0].at <= clock.now()) {
        const reply = replies.shift()!;
        limiter.release(reply.id, { kind: 'ok', usage: { inputTokens: reply.used, outputTokens: 0 } });
      }
    }
    expect(maxInAnyWindow(sent, RATE_WINDOW_MS)).toBeLessThanOrEqual(tpm);
    // What is reserved beyond actual usage stays counted while the request is in flight (the
    // contract needs it), so usage falls short of the limit by about (reserve − used) × latency.
    const minutes = (clock.now() - T0) / RATE_WINDOW_MS;
    expect(sent.reduce((n, s) => n + s.tokens, 0) / (tpm * minutes)).toBeGreaterThanOrEqual(0.93);
  });

  it('lets a request larger than a whole minute through only into an empty window', () => {
    const { clock, limiter, enqueue, ids } = setup({ tokensPerMinute: 1_000, maxConcurrency: 10 });
    enqueue('g', 10);
    enqueue('g', 5_000);
    expect(ids(limiter.grant())).toEqual(['w1']);
    limiter.release('w1', { kind: 'ok', usage: { inputTokens: 10, outputTokens: 0 } });
    expect(limiter.nextWakeAt()).toBe(T0 + RATE_WINDOW_MS);
    clock.set(T0 + RATE_WINDOW_MS);
    expect(ids(limiter.grant())).toEqual(['w2']);
  });
});

describe('RateLimiterCore: concurrency and fairness', () => {
  it('caps requests in flight; only a release lets more out', () => {
    const { limiter, enqueue, ids } = setup({ maxConcurrency: 2 });
    for (let i = 0; i < 5; i++) enqueue();
    expect(ids(limiter.grant())).toEqual(['w1', 'w2']);
    expect(limiter.grant()).toEqual([]);
    expect(limiter.nextWakeAt()).toBeUndefined();
    expect(limiter.release('w2', ok)).toBe(true);
    expect(limiter.release('w2', ok)).toBe(false);
    expect(limiter.nextWakeAt()).toBe(T0);
    expect(ids(limiter.grant())).toEqual(['w3']);
    expect(limiter.snapshot()).toMatchObject({
      waiting: 2,
      inFlight: 2,
      concurrencyLimit: 2,
      adaptiveConcurrency: false,
    });
  });

  it('takes turns between groups, so a small job progresses next to a big one', () => {
    const { limiter, enqueue, ids } = setup({ maxConcurrency: 1 });
    for (let i = 0; i < 10; i++) enqueue('big', 0, 0, `big${i}`);
    for (let i = 0; i < 3; i++) enqueue('small', 0, 0, `small${i}`);
    const order: string[] = [];
    for (let i = 0; i < 8; i++) {
      const [grant] = limiter.grant();
      order.push(grant!.id);
      limiter.release(grant!.id, ok);
    }
    expect(order).toEqual(['big0', 'small0', 'big1', 'small1', 'big2', 'small2', 'big3', 'big4']);
    expect(ids(limiter.grant())).toEqual(['big5']);
  });

  it('serves higher priority first within a group', () => {
    const { limiter, enqueue } = setup({ maxConcurrency: 1 });
    enqueue('g', 0, 1, 'last-turn');
    enqueue('g', 0, 8, 'long-conversation');
    enqueue('g', 0, 3, 'middle');
    const order: string[] = [];
    for (let grants = limiter.grant(); grants.length > 0; grants = limiter.grant()) {
      order.push(grants[0]!.id);
      limiter.release(grants[0]!.id, ok);
    }
    expect(order).toEqual(['long-conversation', 'middle', 'last-turn']);
  });

  it('does not let small requests overtake the one whose turn it is', () => {
    const { clock, limiter, enqueue, ids } = setup({ tokensPerMinute: 12_000, maxConcurrency: 10 });
    enqueue('a', 100, 0, 'a1');
    enqueue('a', 100, 0, 'a2');
    enqueue('b', 10, 0, 'b1');
    // a1 empties the bucket (100, half a second at 0.2 per ms); b1 is next and must wait for
    // its 10 tokens, a2 after it.
    expect(ids(limiter.grant())).toEqual(['a1']);
    clock.advance(50);
    expect(ids(limiter.grant())).toEqual(['b1']);
    expect(limiter.nextWakeAt()).toBe(T0 + 550);
  });

  it('cancels waiters, not requests in flight', () => {
    const { limiter, enqueue, ids } = setup({ maxConcurrency: 1 });
    enqueue();
    enqueue();
    enqueue();
    expect(ids(limiter.grant())).toEqual(['w1']);
    expect(limiter.cancel('w1')).toBe(false);
    expect(limiter.cancel('w2')).toBe(true);
    expect(limiter.cancel('w2')).toBe(false);
    limiter.release('w1', ok);
    expect(ids(limiter.grant())).toEqual(['w3']);
    expect(limiter.nextWakeAt()).toBeUndefined();
  });

  it('refuses a duplicate id and a bad estimate', () => {
    const { limiter, enqueue } = setup();
    enqueue('g', 0, 0, 'x');
    expect(() => enqueue('g', 0, 0, 'x')).toThrow(/already queued/);
    limiter.grant();
    expect(() => enqueue('g', 0, 0, 'x')).toThrow(/in flight/);
    expect(() => enqueue('g', Number.NaN)).toThrow(RangeError);
  });
});

describe('RateLimiterCore: adaptive concurrency', () => {
  it('starts at 8, halves on a 429 (once per overload) down to 1, not on 5xx', () => {
    const { clock, limiter, enqueue, ids } = setup();
    for (let i = 0; i < 100; i++) enqueue();
    const first = ids(limiter.grant());
    expect(first).toHaveLength(8);
    limiter.release(first[0]!, { kind: 'server_error' });
    expect(limiter.snapshot().concurrencyLimit).toBe(8);
    // Every request of the burst gets a 429: one decrease, not eight.
    for (const id of first.slice(1)) limiter.release(id, { kind: 'rate_limited', retryAfterMs: 0 });
    expect(limiter.snapshot()).toMatchObject({ concurrencyLimit: 4, adaptiveConcurrency: true });
    const limits: number[] = [];
    for (let round = 0; round < 4; round++) {
      clock.advance(1);
      for (const grant of limiter.grant())
        limiter.release(grant.id, { kind: 'rate_limited', retryAfterMs: 0 });
      limits.push(limiter.snapshot().concurrencyLimit);
    }
    expect(limits).toEqual([2, 1, 1, 1]);
  });

  it('doubles per window of successes until the first 429, then grows by one per window', () => {
    const { clock, limiter, enqueue, ids } = setup(undefined, { initial: 2, max: 64 });
    for (let i = 0; i < 1_000; i++) enqueue();
    // Steady demand: every release is followed by a grant that fills the window again.
    const inFlight: string[] = [];
    const step = (outcome: Parameters<typeof limiter.release>[1] = ok): number => {
      inFlight.push(...ids(limiter.grant()));
      limiter.release(inFlight.shift()!, outcome);
      return limiter.snapshot().concurrencyLimit;
    };
    // Slow start: 2 → 4 after 2 successes, → 8 after 4 more, → 16 after 8 more.
    const slow = Array.from({ length: 14 }, () => step());
    expect(slow.filter((_, i) => [1, 5, 13].includes(i))).toEqual([4, 8, 16]);
    // A 429 of a request sent at 16 halves the window to 8, once.
    for (let i = 0; i < 6; i++) step(i === 0 ? { kind: 'rate_limited', retryAfterMs: 0 } : ok);
    clock.advance(1);
    expect(limiter.snapshot().concurrencyLimit).toBe(8);
    // Requests out before the decrease do not count; then one more per 8 successes.
    while (inFlight.length > 0) limiter.release(inFlight.shift()!, ok);
    const additive = Array.from({ length: 17 }, () => step());
    expect([additive[6], additive[7], additive[15], additive[16]]).toEqual([8, 9, 9, 10]);
  });

  it('does not grow while demand stays below the window', () => {
    const { limiter, enqueue } = setup();
    for (let i = 0; i < 50; i++) {
      enqueue();
      const [grant] = limiter.grant();
      limiter.release(grant!.id, ok);
    }
    expect(limiter.snapshot().concurrencyLimit).toBe(8);
  });

  it('is off when maxConcurrency is configured', () => {
    const { limiter, enqueue } = setup({ maxConcurrency: 6 });
    for (let i = 0; i < 10; i++) enqueue();
    const grants = limiter.grant();
    expect(grants).toHaveLength(6);
    limiter.release(grants[0]!.id, { kind: 'rate_limited', retryAfterMs: 0 });
    expect(limiter.snapshot().concurrencyLimit).toBe(6);
  });
});

describe('RateLimiterCore: 429 and quota pauses', () => {
  it('pauses granting until the retry-after has passed', () => {
    const { clock, limiter, enqueue, ids } = setup({ maxConcurrency: 10 });
    for (let i = 0; i < 3; i++) enqueue();
    limiter.grant();
    limiter.release('w1', { kind: 'rate_limited', retryAfterMs: 5_000 });
    limiter.release('w2', ok);
    enqueue();
    expect(limiter.grant()).toEqual([]);
    expect(limiter.nextWakeAt()).toBe(T0 + 5_000);
    expect(limiter.snapshot().pause).toEqual({ reason: 'rate-limit', until: T0 + 5_000, since: T0 });
    clock.advance(4_999);
    expect(limiter.grant()).toEqual([]);
    clock.advance(1);
    expect(ids(limiter.grant())).toEqual(['w4']);
    expect(limiter.snapshot().pause).toBeUndefined();
  });

  it('reads the retry-after from the headers when the outcome has none', () => {
    const { limiter, enqueue } = setup({ maxConcurrency: 10 });
    enqueue();
    limiter.grant();
    limiter.release('w1', { kind: 'rate_limited', headers: { 'retry-after': '3' } });
    enqueue();
    expect(limiter.nextWakeAt()).toBe(T0 + 3_000);
  });

  it('backs off, doubling, on 429s without a retry-after; a success resets it', () => {
    const { clock, limiter, enqueue } = setup({ maxConcurrency: 10 });
    const pauses: number[] = [];
    for (let i = 0; i < 3; i++) {
      enqueue();
      clock.set(limiter.nextWakeAt()!);
      const [grant] = limiter.grant();
      limiter.release(grant!.id, { kind: 'rate_limited' });
      pauses.push(limiter.snapshot().pause!.until! - clock.now());
    }
    expect(pauses).toEqual([1, 2, 4].map((k) => k * RATE_LIMIT_PAUSE_BASE_MS));
    enqueue();
    clock.set(limiter.nextWakeAt()!);
    limiter.release(limiter.grant()[0]!.id, ok);
    enqueue();
    limiter.release(limiter.grant()[0]!.id, { kind: 'rate_limited' });
    expect(limiter.snapshot().pause!.until! - clock.now()).toBe(RATE_LIMIT_PAUSE_BASE_MS);
  });

  it('pauses for a quota without retry-after, then lets one request probe; resume() ends it', () => {
    const { clock, limiter, enqueue, ids } = setup({ maxConcurrency: 10 });
    enqueue();
    limiter.grant();
    limiter.release('w1', { kind: 'quota_exhausted' });
    enqueue();
    enqueue();
    expect(limiter.grant()).toEqual([]);
    expect(limiter.nextWakeAt()).toBe(T0 + QUOTA_PAUSE_BASE_MS);
    expect(limiter.snapshot().pause).toEqual({ reason: 'quota', until: T0 + QUOTA_PAUSE_BASE_MS, since: T0 });
    clock.set(T0 + QUOTA_PAUSE_BASE_MS);
    // One request at a time until one succeeds: a spent quota sees one request per pause.
    expect(ids(limiter.grant())).toEqual(['w2']);
    expect(limiter.grant()).toEqual([]);
    expect(limiter.snapshot()).toMatchObject({ quotaProbing: true, waiting: 1 });
    expect(limiter.nextWakeAt()).toBeUndefined();
    limiter.resume();
    expect(ids(limiter.grant())).toEqual(['w3']);
    expect(limiter.snapshot().quotaProbing).toBeUndefined();
  });

  it('doubles the quota pause while probes find the quota spent, up to the cap; a success ends it', () => {
    const { clock, limiter, enqueue } = setup({ maxConcurrency: 10 });
    enqueue();
    limiter.release(limiter.grant()[0]!.id, { kind: 'quota_exhausted' });
    const pauses = [limiter.snapshot().pause!.until - clock.now()];
    for (let i = 0; i < 40; i++) enqueue();
    clock.set(limiter.nextWakeAt()!);
    for (let i = 0; i < 7; i++) {
      const [grant, ...rest] = limiter.grant();
      expect(rest).toEqual([]);
      limiter.release(grant!.id, { kind: 'quota_exhausted' });
      pauses.push(limiter.snapshot().pause!.until - clock.now());
      clock.set(limiter.nextWakeAt()!);
    }
    expect(pauses).toEqual(
      [1, 2, 4, 8, 16, 32, 64, 128].map((k) => Math.min(QUOTA_PAUSE_MAX_MS, k * QUOTA_PAUSE_BASE_MS)),
    );
    const [probe] = limiter.grant();
    limiter.release(probe!.id, ok);
    expect(limiter.grant()).toHaveLength(10);
    expect(limiter.snapshot().quotaProbing).toBeUndefined();
  });

  it('counts the quota failures of requests already out as the same pause', () => {
    const { clock, limiter, enqueue, ids } = setup({ maxConcurrency: 10 });
    for (let i = 0; i < 6; i++) enqueue();
    expect(ids(limiter.grant())).toHaveLength(6);
    limiter.release('w1', { kind: 'quota_exhausted' });
    limiter.release('w2', { kind: 'quota_exhausted' });
    expect(limiter.snapshot().pause!.until).toBe(T0 + QUOTA_PAUSE_BASE_MS);
    // A probe is out after the pause; a late answer of the old burst changes nothing.
    enqueue('g', 0, 0, 'p');
    clock.set(T0 + QUOTA_PAUSE_BASE_MS);
    expect(ids(limiter.grant())).toEqual(['p']);
    limiter.release('w3', { kind: 'quota_exhausted' });
    limiter.release('w4', ok);
    expect(limiter.snapshot()).toMatchObject({ quotaProbing: true });
    expect(limiter.snapshot().pause).toBeUndefined();
    // A probe that fails otherwise leaves room for the next probe.
    limiter.release('p', { kind: 'server_error' });
    enqueue('g', 0, 0, 'q');
    expect(ids(limiter.grant())).toEqual(['q']);
    // The probe's own quota failure is a new pause, twice as long.
    limiter.release('q', { kind: 'quota_exhausted' });
    expect(limiter.snapshot().pause!.until - clock.now()).toBe(2 * QUOTA_PAUSE_BASE_MS);
  });

  it('honours a quota retry-after, then probes', () => {
    const { clock, limiter, enqueue, ids } = setup({ maxConcurrency: 10 });
    for (let i = 0; i < 3; i++) enqueue();
    limiter.grant();
    limiter.release('w1', { kind: 'quota_exhausted', retryAfterMs: 300 });
    enqueue();
    expect(limiter.nextWakeAt()).toBe(T0 + 300);
    clock.set(T0 + 300);
    limiter.release('w2', { kind: 'quota_exhausted' });
    limiter.release('w3', { kind: 'quota_exhausted' });
    expect(ids(limiter.grant())).toEqual(['w4']);
  });

  it('treats a 429 with a retry-after of an hour or more as a quota, ending when it passes', () => {
    const { clock, limiter, enqueue } = setup({ maxConcurrency: 10 });
    enqueue();
    limiter.grant();
    limiter.release('w1', { kind: 'rate_limited', retryAfterMs: 2 * 3_600_000 });
    enqueue();
    expect(limiter.snapshot().pause).toEqual({ reason: 'quota', until: T0 + 7_200_000, since: T0 });
    expect(limiter.snapshot().concurrencyLimit).toBe(10);
    clock.set(T0 + 7_200_000);
    expect(limiter.grant()).toHaveLength(1);
  });

  it('a short 429 does not shorten a quota pause', () => {
    const { limiter, enqueue } = setup({ maxConcurrency: 10 });
    enqueue();
    enqueue();
    limiter.grant();
    limiter.release('w1', { kind: 'quota_exhausted' });
    limiter.release('w2', { kind: 'rate_limited', retryAfterMs: 10 });
    expect(limiter.snapshot().pause?.reason).toBe('quota');
  });
});

describe('RateLimiterCore: learning from headers', () => {
  const openAI = (limit: number, remaining: number, reset: string) => ({
    'x-ratelimit-limit-requests': String(limit),
    'x-ratelimit-remaining-requests': String(remaining),
    'x-ratelimit-reset-requests': reset,
  });

  it('adopts the limits a provider announces when none is configured', () => {
    const { limiter, enqueue } = setup();
    enqueue();
    limiter.grant();
    limiter.release('w1', {
      ...ok,
      headers: { ...openAI(500, 499, '120ms'), 'x-ratelimit-limit-tokens': '30000' },
    });
    // The window opens to the 256 cap: 499 requests left, and the 500 per minute pace them (one
    // request back in 120 ms: 500 in a minute). A token limit without remaining or reset has no
    // period to read, so it paces nothing.
    expect(limiter.snapshot().limits).toEqual({ requestsPerMinute: 500, maxConcurrency: 256 });
    expect(limiter.snapshot().learned?.requests).toEqual({
      limit: 500,
      remaining: 499,
      resetAtMs: T0 + 120,
      periodMs: 60_000,
      periodInferred: true,
    });
  });

  it('reads "60" with a reset of a tenth of a second per request as 60 per 6 s: 600 a minute, not 60', () => {
    const { limiter, enqueue } = setup();
    enqueue();
    limiter.grant();
    limiter.release('w1', { ...ok, headers: openAI(60, 54, '600ms') });
    expect(limiter.snapshot().limits.requestsPerMinute).toBe(600);
  });

  it('lets a fuller reading settle an inferred rate: one of 1 used does not undo one of 12', () => {
    const { limiter, enqueue } = setup({ maxConcurrency: 10 });
    const read = (remaining: number, reset: string) => {
      const id = enqueue();
      limiter.grant();
      limiter.release(id, { ...ok, headers: openAI(600, remaining, reset) });
      return limiter.snapshot().limits.requestsPerMinute;
    };
    // 1 used, back in 30 ms: 2 000 a minute on its face (remaining is rounded down).
    expect(read(599, '30ms')).toBe(2_000);
    // 12 used, back in 1.2 s: 600 a minute.
    expect(read(588, '1.2s')).toBe(600);
    expect(read(599, '30ms')).toBe(600);
  });

  it('takes a period only where the dialect states it: Together per second, Groq requests per day', () => {
    const perSecond = setup(undefined, undefined, HEADER_DIALECTS.together);
    perSecond.enqueue();
    perSecond.limiter.grant();
    perSecond.limiter.release('w1', {
      ...ok,
      headers: { 'x-ratelimit-limit': '10', 'x-ratelimit-remaining': '10', 'x-ratelimit-reset': '1' },
    });
    expect(perSecond.limiter.snapshot().limits.requestsPerMinute).toBe(600);
    // A day's limit says nothing of the pace within a minute; its remaining holds troupe back.
    const perDay = setup(undefined, undefined, HEADER_DIALECTS.groq);
    perDay.enqueue();
    perDay.limiter.grant();
    perDay.limiter.release('w1', { ...ok, headers: openAI(14_400, 14_399, '6s') });
    expect(perDay.limiter.snapshot().limits.requestsPerMinute).toBeUndefined();
  });

  it('opens the adaptive window to the requests the provider says are left, in slow start only', () => {
    const few = setup();
    few.enqueue();
    few.limiter.grant();
    few.limiter.release('w1', { ...ok, headers: openAI(50, 20, '1s') });
    expect(few.limiter.snapshot().concurrencyLimit).toBe(20);
    // Fewer left than the window: it does not shrink (the request budget holds them back).
    few.enqueue();
    few.limiter.grant();
    few.limiter.release('w2', { ...ok, headers: openAI(50, 3, '1s') });
    expect(few.limiter.snapshot().concurrencyLimit).toBe(20);

    // A 429 does not open it, whatever its headers say; after one the window probes as AIMD does.
    const limited = setup();
    limited.enqueue();
    limited.limiter.grant();
    limited.limiter.release('w1', {
      kind: 'rate_limited',
      retryAfterMs: 0,
      headers: openAI(10_000, 9_999, '6ms'),
    });
    expect(limited.limiter.snapshot().concurrencyLimit).toBe(4);
    limited.enqueue();
    limited.clock.advance(1);
    limited.limiter.grant();
    limited.limiter.release('w2', { ...ok, headers: openAI(10_000, 9_999, '6ms') });
    expect(limited.limiter.snapshot().concurrencyLimit).toBe(4);
  });

  it('opens the adaptive window to its max when an answer carries no rate-limit header at all', () => {
    const bare = setup();
    bare.enqueue();
    bare.limiter.grant();
    bare.limiter.release('w1', { ...ok, headers: { 'content-type': 'application/json' } });
    expect(bare.limiter.snapshot().concurrencyLimit).toBe(256);
    // A budget header of any kind, read here or not, keeps slow start: the window grows by successes.
    const budgets: Record<string, string>[] = [
      { 'retry-after': '1' },
      { 'ratelimit-policy': '10;w=1' },
      openAI(50, 20, '1s'),
    ];
    for (const headers of budgets) {
      const budgeted = setup();
      budgeted.enqueue();
      budgeted.limiter.grant();
      budgeted.limiter.release('w1', { ...ok, headers });
      expect(budgeted.limiter.snapshot().concurrencyLimit).toBeLessThanOrEqual(20);
    }
    // Nor does an answer without headers (none known) or a refusal without any.
    const unknown = setup();
    unknown.enqueue();
    unknown.limiter.grant();
    unknown.limiter.release('w1', ok);
    expect(unknown.limiter.snapshot().concurrencyLimit).toBe(8);
    const refused = setup();
    refused.enqueue();
    refused.limiter.grant();
    refused.limiter.release('w1', { kind: 'server_error', headers: {} });
    expect(refused.limiter.snapshot().concurrencyLimit).toBe(8);
  });

  it('never exceeds a configured limit, and an announced number never lowers it', () => {
    const higher = setup({ requestsPerMinute: 100 });
    higher.enqueue();
    higher.limiter.grant();
    higher.limiter.release('w1', { ...ok, headers: openAI(10_000, 9_999, '6ms') });
    expect(higher.limiter.snapshot().limits.requestsPerMinute).toBe(100);

    const lower = setup({ requestsPerMinute: 100 });
    lower.enqueue();
    lower.limiter.grant();
    lower.limiter.release('w1', { ...ok, headers: openAI(60, 59, '1s') });
    expect(lower.limiter.snapshot().limits.requestsPerMinute).toBe(100);
  });

  it('holds back when the provider has less left than troupe believes, until its bucket refills', () => {
    const { clock, limiter, enqueue, ids } = setup(
      { maxConcurrency: 10 },
      undefined,
      HEADER_DIALECTS.anthropic,
    );
    enqueue();
    limiter.grant();
    // Another client on the same key used it up: nothing left, full again in a minute.
    limiter.release('w1', {
      kind: 'ok',
      usage: { inputTokens: 1, outputTokens: 1 },
      headers: {
        'anthropic-ratelimit-requests-limit': '50',
        'anthropic-ratelimit-requests-remaining': '0',
        'anthropic-ratelimit-requests-reset': new Date(T0 + 60_000).toISOString(),
      },
    });
    enqueue();
    expect(limiter.grant()).toEqual([]);
    // 50 requests back over the minute, one per 1.2 s: the first once the bucket holds it and the
    // reserve left for arrival jitter, half a second of the 50 a minute (0.42 of a request).
    const reserve = (50 * BURST_WINDOW_MS) / RATE_WINDOW_MS;
    const at = T0 + Math.ceil(1_200 * (1 + reserve));
    expect(limiter.nextWakeAt()).toBe(at);
    clock.set(at - 1);
    expect(limiter.grant()).toEqual([]);
    clock.set(at);
    expect(ids(limiter.grant())).toEqual(['w2']);
  });

  it('never takes a reset to refill faster than the rate in force (a minute limit over a shorter bucket)', () => {
    const { clock, limiter, enqueue } = setup(
      { requestsPerMinute: 600, maxConcurrency: 100 },
      undefined,
      HEADER_DIALECTS.anthropic,
    );
    enqueue();
    limiter.grant();
    // 600 a minute announced, but the bucket behind it holds 10 and is full again in a second:
    // read literally, 600 would come back within that second.
    limiter.release('w1', {
      ...ok,
      headers: {
        'anthropic-ratelimit-requests-limit': '600',
        'anthropic-ratelimit-requests-remaining': '0',
        'anthropic-ratelimit-requests-reset': new Date(T0 + 1_000).toISOString(),
      },
    });
    for (let i = 0; i < 50; i++) enqueue();
    clock.advance(900);
    // 10 a second: 9 back by now, less the reserve of half a second's worth (5): 4, not 50.
    expect(limiter.grant()).toHaveLength(4);
  });

  it.each([
    { limits: { maxConcurrency: 1_000 }, kind: 'announced', within: 'as its bucket refills' },
    {
      limits: { maxConcurrency: 1_000, requestsPerMinute: 60 },
      kind: 'configured',
      within: 'never above it',
    },
  ] as const)(
    "a rate of 60 a minute $kind, a provider's minute bucket of 60: over 30 s troupe sends $within",
    ({ limits }) => {
      const { clock, limiter, enqueue } = setup(limits, undefined, HEADER_DIALECTS.anthropic);
      enqueue();
      expect(limiter.grant()).toHaveLength(1);
      // The provider: a bucket of 60 a minute, full at the start, one back a second (Anthropic's).
      limiter.release('w1', {
        ...ok,
        headers: {
          'anthropic-ratelimit-requests-limit': '60',
          'anthropic-ratelimit-requests-remaining': '59',
          'anthropic-ratelimit-requests-reset': new Date(T0 + 1_000).toISOString(),
        },
      });
      for (let i = 0; i < 200; i++) enqueue();
      let sent = 1;
      for (let step = 0; step < 1_000 && clock.now() < T0 + 30_000; step++) {
        const grants = limiter.grant();
        sent += grants.length;
        for (const grant of grants) limiter.release(grant.id, { ...ok, headers: {} });
        const wake = limiter.nextWakeAt();
        if (wake === undefined) break;
        clock.set(Math.max(wake, clock.now() + 1));
      }
      if (limits.requestsPerMinute === undefined) {
        // The bucket's 60 and one a second for 30 s, less half a second's reserve: troupe follows
        // the provider's bucket rather than holding every minute to its announced 60.
        expect(sent).toBeGreaterThanOrEqual(85);
        expect(sent).toBeLessThanOrEqual(90);
      } else {
        // The user's 60 a minute holds in every 60 s window, whatever the provider would take.
        expect(sent).toBe(60);
      }
    },
  );

  it('discounts requests sent after the one whose reply carried the header', () => {
    const { clock, limiter, enqueue } = setup({ maxConcurrency: 10 });
    for (let i = 0; i < 4; i++) enqueue();
    expect(limiter.grant()).toHaveLength(4);
    // w1's reply says 3 remain; w2..w4 left after it and may not be counted yet.
    limiter.release('w1', { ...ok, headers: openAI(100, 3, '1m0s') });
    enqueue();
    expect(limiter.grant()).toEqual([]);
    expect(limiter.nextWakeAt()).toBeGreaterThan(clock.now());
  });

  it('takes requests granted before the one whose reply carried the header, still in flight, as not counted', () => {
    // Azure's remaining, no rate known: no refill and no reserve, so the count is plain.
    const { limiter, enqueue } = setup({ maxConcurrency: 100 }, undefined, HEADER_DIALECTS.azure);
    for (let i = 0; i < 3; i++) enqueue();
    expect(limiter.grant()).toHaveLength(3);
    // w3 came back first: its 5 left may not count w1 and w2, which left before it but may arrive after.
    limiter.release('w3', { ...ok, headers: { 'x-ratelimit-remaining-requests': '5' } });
    for (let i = 0; i < 10; i++) enqueue();
    expect(limiter.grant()).toHaveLength(3);
  });

  it("refills a remaining announced without a reset at the configured rate, less half a second's reserve", () => {
    const { clock, limiter, enqueue } = setup(
      { requestsPerMinute: 1_200, maxConcurrency: 100 },
      undefined,
      HEADER_DIALECTS.azure,
    );
    enqueue();
    limiter.grant();
    limiter.release('w1', { ...ok, headers: { 'x-ratelimit-remaining-requests': '0' } });
    enqueue();
    // 20 a second come back; the request goes once 1 + the reserve (10) are there: 550 ms.
    expect(limiter.nextWakeAt()).toBe(T0 + 550);
    clock.advance(550);
    expect(limiter.grant()).toHaveLength(1);
  });

  it('forgets what the headers said once their reset has passed', () => {
    const { clock, limiter, enqueue } = setup({ maxConcurrency: 10 });
    enqueue();
    limiter.grant();
    limiter.release('w1', {
      ...ok,
      headers: { 'x-ratelimit-remaining-requests': '0', 'x-ratelimit-reset-requests': '3s' },
    });
    enqueue();
    expect(limiter.nextWakeAt()).toBe(T0 + 3_000);
    clock.advance(3_000);
    expect(limiter.grant()).toHaveLength(1);
  });

  it('charges input and output token limits separately when the split is known', () => {
    const { limiter } = setup({ maxConcurrency: 10 }, undefined, HEADER_DIALECTS.anthropic);
    limiter.enqueue({ id: 'a', group: 'g', priority: 0, tokens: 0 });
    limiter.grant();
    limiter.release('a', {
      ...ok,
      headers: {
        'anthropic-ratelimit-input-tokens-limit': '10000',
        'anthropic-ratelimit-input-tokens-remaining': '600',
        'anthropic-ratelimit-input-tokens-reset': new Date(T0 + 60_000).toISOString(),
        'anthropic-ratelimit-output-tokens-limit': '2000',
        'anthropic-ratelimit-output-tokens-remaining': '2000',
        'anthropic-ratelimit-output-tokens-reset': new Date(T0 + 60_000).toISOString(),
      },
    });
    limiter.enqueue({ id: 'b', group: 'g', priority: 0, tokens: 1_500, inputTokens: 500 });
    expect(limiter.grant().map((g) => g.id)).toEqual(['b']);
    // Without the split, the whole estimate is charged to each: 1 500 > 100 input tokens left.
    limiter.enqueue({ id: 'c', group: 'g', priority: 0, tokens: 1_500 });
    expect(limiter.grant()).toEqual([]);
  });
});

/** The most that any window of `windowMs` holds: [t, t + windowMs) for every event time t. */
function maxInAnyWindow(
  events: readonly (number | { at: number; tokens: number })[],
  windowMs: number,
): number {
  const points = events.map((e) =>
    typeof e === 'number' ? { at: e, amount: 1 } : { at: e.at, amount: e.tokens },
  );
  points.sort((a, b) => a.at - b.at);
  let max = 0;
  let sum = 0;
  let end = 0;
  for (let start = 0; start < points.length; start++) {
    while (end < points.length && points[end]!.at < points[start]!.at + windowMs)
      sum += points[end++]!.amount;
    max = Math.max(max, sum);
    sum -= points[start]!.amount;
  }
  return max;
}
