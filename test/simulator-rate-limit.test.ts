import { describe, expect, it } from 'vitest';
import { formatResetDuration } from '../src/simulator/openai-wire.js';
import { SimulatorRateLimit } from '../src/simulator/rate-limit.js';

describe('SimulatorRateLimit', () => {
  it('holds burstSeconds worth of requests and refills continuously', () => {
    // 60 per minute, 2 s of burst: 2 at once, then one per second.
    const limit = new SimulatorRateLimit({ requestsPerMinute: 60, burstSeconds: 2 }, 0);
    expect(limit.admit(0, 0)).toEqual({ admitted: true });
    expect(limit.admit(0, 0)).toEqual({ admitted: true });
    expect(limit.admit(0, 0)).toEqual({
      admitted: false,
      limit: 'requests',
      limitPerMinute: 60,
      waitMs: 1_000,
    });
    expect(limit.admit(0, 250)).toMatchObject({ admitted: false, waitMs: 750 });
    expect(limit.admit(0, 1_000)).toEqual({ admitted: true });
    expect(limit.state(1_000).requests).toEqual({ limit: 60, capacity: 2, remaining: 0, resetMs: 2_000 });
    expect(limit.state(3_000).requests).toEqual({ limit: 60, capacity: 2, remaining: 2, resetMs: 0 });
  });

  it('scales with minuteMs', () => {
    const limit = new SimulatorRateLimit({ requestsPerMinute: 60, minuteMs: 600 }, 0);
    expect(limit.admit(0, 0)).toEqual({ admitted: true });
    expect(limit.admit(0, 0)).toMatchObject({ admitted: false, waitMs: 10 });
    expect(limit.admit(0, 10)).toEqual({ admitted: true });
  });

  it('lets one large request through a full token bucket, then makes the next wait for the debt', () => {
    // 600 tokens per minute, 1 s of burst: 10 tokens, refilling at 10 per second.
    const limit = new SimulatorRateLimit({ tokensPerMinute: 600 }, 0);
    expect(limit.admit(30, 0)).toEqual({ admitted: true });
    expect(limit.admit(5, 0)).toEqual({
      admitted: false,
      limit: 'tokens',
      limitPerMinute: 600,
      waitMs: 2_500,
    });
    limit.settleTokens(-25, 0);
    expect(limit.admit(5, 0)).toEqual({ admitted: true });
  });

  it('refuses on requests before tokens, and takes from neither when refusing', () => {
    const limit = new SimulatorRateLimit({ requestsPerMinute: 60, tokensPerMinute: 6_000 }, 0);
    expect(limit.admit(50, 0)).toEqual({ admitted: true });
    expect(limit.admit(50, 0)).toMatchObject({ admitted: false, limit: 'requests' });
    expect(limit.state(0).tokens?.remaining).toBe(50);
  });

  it("counts tokens over their own window where it differs from the requests' (Groq: a day and a minute)", () => {
    const day = 86_400_000;
    const limit = new SimulatorRateLimit(
      { requestsPerMinute: 10, windowMs: day, tokensPerMinute: 600, tokensWindowMs: 60_000 },
      0,
    );
    // A day's requests (14 400), a minute's tokens (600).
    expect(limit.state(0).requests?.capacity).toBe(14_400);
    expect(limit.state(0).tokens?.capacity).toBe(600);
    expect(limit.admit(600, 0)).toEqual({ admitted: true });
    expect(limit.admit(10, 0)).toMatchObject({ admitted: false, limit: 'tokens', waitMs: 1_000 });
    expect(limit.admit(10, 1_000)).toEqual({ admitted: true });
    expect(() => new SimulatorRateLimit({ tokensPerMinute: 600, tokensWindowMs: 0 }, 0)).toThrow(
      /tokensWindowMs/,
    );
  });

  it('reports nothing when no limit is configured, and rejects nonsense', () => {
    expect(new SimulatorRateLimit(undefined, 0).state(0)).toEqual({ requests: undefined, tokens: undefined });
    expect(() => new SimulatorRateLimit({ requestsPerMinute: 0 }, 0)).toThrow(RangeError);
    expect(() => new SimulatorRateLimit({ minuteMs: -1 }, 0)).toThrow(/minuteMs/);
  });
});

describe('formatResetDuration', () => {
  it.each([
    [0, '0s'],
    [0.2, '1ms'],
    [20, '20ms'],
    [999, '999ms'],
    [1_000, '1s'],
    [1_500, '1.5s'],
    [90_500, '1m30.5s'],
    [360_000, '6m0s'],
    [3_600_000, '1h0m0s'],
  ])('%d ms is %s', (ms, text) => {
    expect(formatResetDuration(ms)).toBe(text);
  });
});
