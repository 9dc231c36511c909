/** What the resilience tests need of the simulator: limits announced per real minute, quota faults with a wait. */
import { describe, expect, it } from 'vitest';
import { validateFaultRules } from '../../src/simulator/faults.js';
import { SimulatorRateLimit } from '../../src/simulator/rate-limit.js';

describe('simulator support for the resilience tests', () => {
  it('announces its limits per real minute when its minute is shrunk', () => {
    const limit = new SimulatorRateLimit(
      { requestsPerMinute: 120, tokensPerMinute: 600, minuteMs: 3_000 },
      0,
    );
    const state = limit.state(0);
    // 120 per 3 s is 2 400 per real minute: what a client reading the header must respect.
    expect(state.requests?.limit).toBe(2_400);
    expect(state.tokens?.limit).toBe(12_000);
    const refused = new SimulatorRateLimit({ requestsPerMinute: 60, minuteMs: 30_000 }, 0);
    refused.admit(0, 0);
    expect(refused.admit(0, 0)).toMatchObject({ admitted: false, limitPerMinute: 120 });
    expect(new SimulatorRateLimit({ requestsPerMinute: 60 }, 0).state(0).requests?.limit).toBe(60);
  });

  it('accepts a retry-after on a quota fault, and refuses a negative one', () => {
    expect(() => validateFaultRules([{ fault: { kind: 'quota', retryAfterSeconds: 0.3 } }])).not.toThrow();
    expect(() => validateFaultRules([{ fault: { kind: 'quota', retryAfterSeconds: -1 } }])).toThrow(
      /faults\[0\]\.fault\.retryAfterSeconds/,
    );
  });
});
