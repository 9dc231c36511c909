import { beforeEach, describe, expect, it } from 'vitest';
import type { BreakerPolicy } from '../../src/suite/types.js';
import { ManualClock } from '../../src/resilience/clock.js';
import {
  CircuitBreakerCore,
  isBreakerFailure,
  type BreakerOutcome,
  type BreakerTransition,
} from '../../src/resilience/circuit-breaker-core.js';

const policy: BreakerPolicy = {
  consecutiveFailures: 3,
  failureRatio: 0.5,
  windowMs: 10_000,
  minRequests: 6,
  coolDownMs: 1_000,
  maxCoolDownMs: 5_000,
  probesToClose: 2,
};

describe('CircuitBreakerCore', () => {
  let clock: ManualClock;
  let transitions: BreakerTransition[];
  let breaker: CircuitBreakerCore;

  beforeEach(() => {
    clock = new ManualClock(100_000);
    transitions = [];
    breaker = new CircuitBreakerCore(policy, clock, { onTransition: (t) => transitions.push(t) });
  });

  const fail = (n: number, kind: BreakerOutcome = 'server_error') => {
    for (let i = 0; i < n; i++) breaker.record(kind);
  };
  /** Waits out the cool-down and sends one probe with this outcome. */
  const probe = (outcome: BreakerOutcome) => {
    clock.set(breaker.nextProbeAt()!);
    expect(breaker.admit()).toBe('probe');
    breaker.record(outcome, { admission: 'probe' });
  };

  it('starts closed and lets requests pass', () => {
    expect(breaker.state()).toMatchObject({ state: 'closed', reason: 'initial', since: 100_000 });
    expect(breaker.canPass()).toBe(true);
    expect(breaker.admit()).toBe('pass');
    expect(breaker.nextProbeAt()).toBeUndefined();
  });

  it('opens after consecutive failures; a success in between resets the count', () => {
    fail(2);
    breaker.record('ok');
    fail(2);
    expect(breaker.state().state).toBe('closed');
    expect(breaker.state().consecutiveFailures).toBe(2);
    fail(1, 'timeout');
    expect(breaker.state()).toMatchObject({
      state: 'open',
      reason: 'consecutive-failures',
      nextProbeAt: 101_000,
    });
    expect(transitions).toEqual([
      { from: 'closed', to: 'open', reason: 'consecutive-failures', at: 100_000, coolDownMs: 1_000 },
    ]);
    expect(breaker.canPass()).toBe(false);
    expect(breaker.admit()).toBe('wait');
  });

  it('counts only provider failures; client errors, 429s, quota and cancels are neutral', () => {
    breaker.record('ok'); // a provider that answers (one that never has is refused on bad requests, below)
    for (const kind of ['client_error', 'rate_limited', 'quota_exhausted', 'cancelled'] as const) {
      expect(isBreakerFailure(kind)).toBe(false);
      fail(10, kind);
    }
    expect(breaker.state().state).toBe('closed');
    for (const kind of ['server_error', 'timeout', 'connection', 'malformed'] as const) {
      expect(isBreakerFailure(kind)).toBe(true);
    }
    expect(isBreakerFailure('ok')).toBe(false);
    // Neutral outcomes do not break a run of failures either.
    fail(2);
    breaker.record('rate_limited');
    fail(1);
    expect(breaker.state().state).toBe('open');
  });

  it('opens on the failure ratio over the window once it has enough requests', () => {
    // ok, fail, ok, fail, ok: 2 of 5 — under minRequests, and never 3 in a row.
    for (const outcome of ['ok', 'server_error', 'ok', 'server_error', 'ok'] as const)
      breaker.record(outcome);
    expect(breaker.state().state).toBe('closed');
    breaker.record('server_error'); // 3 of 6 = 0.5
    expect(breaker.state()).toMatchObject({ state: 'open', reason: 'failure-ratio' });
  });

  it('forgets outcomes older than the window', () => {
    for (const outcome of [
      'server_error',
      'server_error',
      'ok',
      'server_error',
      'server_error',
      'ok',
    ] as const) {
      clock.advance(1_000);
      breaker.record(outcome);
    }
    // 4 of 6 failed within 5 s: all in the window.
    expect(breaker.state()).toMatchObject({ state: 'open', reason: 'failure-ratio' });

    const fresh = new CircuitBreakerCore(policy, clock);
    for (const outcome of [
      'server_error',
      'server_error',
      'ok',
      'ok',
      'server_error',
      'server_error',
    ] as const) {
      fresh.record(outcome);
      clock.advance(4_000);
    }
    // Only the last three (ok, failure, failure) are within 10 s: under minRequests.
    expect(fresh.state().state).toBe('closed');
  });

  it('goes half-open after the cool-down and lets one probe out at a time', () => {
    fail(3);
    clock.advance(999);
    expect(breaker.admit()).toBe('wait');
    clock.advance(1);
    expect(breaker.canPass()).toBe(true);
    expect(breaker.nextProbeAt()).toBe(101_000);
    expect(breaker.admit()).toBe('probe');
    expect(breaker.state()).toMatchObject({
      state: 'half-open',
      reason: 'cool-down-elapsed',
      since: 101_000,
    });
    expect(breaker.canPass()).toBe(false);
    expect(breaker.admit()).toBe('wait');
    expect(breaker.nextProbeAt()).toBeUndefined();
  });

  it('closes after probesToClose successful probes and resets the cool-down', () => {
    fail(3);
    probe('server_error');
    expect(breaker.state().coolDownMs).toBe(2_000);
    probe('ok');
    expect(breaker.state().state).toBe('half-open');
    probe('ok');
    expect(breaker.state()).toMatchObject({ state: 'closed', reason: 'probes-succeeded', coolDownMs: 1_000 });
    expect(transitions.map((t) => `${t.from}→${t.to} ${t.reason}`)).toEqual([
      'closed→open consecutive-failures',
      'open→half-open cool-down-elapsed',
      'half-open→open probe-failed',
      'open→half-open cool-down-elapsed',
      'half-open→closed probes-succeeded',
    ]);
    // Closed again with a clean slate: it takes the full count to reopen.
    fail(2);
    expect(breaker.state().state).toBe('closed');
  });

  it('doubles the cool-down with every failed probe, up to the cap', () => {
    fail(3);
    const coolDowns: number[] = [breaker.state().coolDownMs];
    for (let i = 0; i < 5; i++) {
      const openedAt = clock.now();
      probe('timeout');
      coolDowns.push(breaker.state().nextProbeAt! - clock.now());
      expect(clock.now() - openedAt).toBe(coolDowns[i]);
    }
    expect(coolDowns).toEqual([1_000, 2_000, 4_000, 5_000, 5_000, 5_000]);
    expect(transitions.filter((t) => t.to === 'open').map((t) => t.coolDownMs)).toEqual([
      1_000, 2_000, 4_000, 5_000, 5_000, 5_000,
    ]);
  });

  it('frees the probe slot on a neutral outcome without deciding', () => {
    fail(3);
    probe('rate_limited');
    expect(breaker.state().state).toBe('half-open');
    expect(breaker.admit()).toBe('probe');
  });

  it('counts a request that failed before once: its retries neither open it nor reset the count', () => {
    // Poison requests among healthy ones (1 in 4): one first failure each, retried over and over.
    for (let i = 0; i < 30; i++) {
      fail(3, 'ok');
      breaker.record('server_error');
      breaker.record('server_error', { fresh: false });
      breaker.record('server_error', { fresh: false });
    }
    expect(breaker.state()).toMatchObject({ state: 'closed', repeatedFailures: 60 });
    breaker.record('ok');
    fail(2);
    for (let i = 0; i < 20; i++) breaker.record('server_error', { fresh: false });
    expect(breaker.state()).toMatchObject({ state: 'closed', consecutiveFailures: 2, repeatedFailures: 80 });
    // An outage: distinct requests fail one after another.
    fail(1);
    expect(breaker.state()).toMatchObject({ state: 'open', reason: 'consecutive-failures' });
  });

  it('refuses every request for good once the credentials are refused', () => {
    breaker.refuse({ code: 'troupe:unauthorized', message: 'openai 401: bad key' });
    expect(breaker.admit()).toBe('refused');
    expect(breaker.canPass()).toBe(false);
    clock.advance(10 * 60_000);
    breaker.record('ok', { admission: 'probe' });
    expect(breaker.state()).toMatchObject({
      state: 'refused',
      reason: 'credentials-refused',
      refusal: { code: 'troupe:unauthorized', message: 'openai 401: bad key' },
    });
    expect(transitions.map((t) => t.to)).toEqual(['refused']);
  });

  it('refuses the provider when distinct requests are refused as bad in a row before any answer', () => {
    const message = 'openai 404 not_found: no such path';
    breaker.record('client_error', { message });
    breaker.record('client_error', { message, fresh: false }); // a retry of a refused request: not another
    breaker.record('client_error', { message });
    expect(breaker.admit()).toBe('pass');
    breaker.record('client_error', { message });
    expect(breaker.admit()).toBe('refused');
    expect(breaker.state()).toMatchObject({
      state: 'refused',
      reason: 'requests-refused',
      refusal: { code: 'troupe:client-error' },
    });
    expect(breaker.state().refusal?.message).toContain(message);
  });

  it('never refuses a provider that has answered: bad requests among good ones fail on their own', () => {
    breaker.record('ok');
    for (let i = 0; i < 10; i++) breaker.record('client_error', { message: 'openai 400: too long' });
    expect(breaker.state()).toMatchObject({ state: 'closed' });
    expect(breaker.admit()).toBe('pass');
  });

  it('says since when the provider is unavailable: from the first opening, through failed probes, until it closes', () => {
    expect(breaker.state().unavailableSince).toBeUndefined();
    fail(3);
    expect(breaker.state().unavailableSince).toBe(100_000);
    clock.advance(1_000);
    expect(breaker.admit()).toBe('probe');
    breaker.record('server_error', { admission: 'probe' });
    expect(breaker.state()).toMatchObject({ state: 'open', unavailableSince: 100_000 });
    clock.advance(2_000);
    for (let i = 0; i < 2; i++) {
      expect(breaker.admit()).toBe('probe');
      breaker.record('ok', { admission: 'probe' });
    }
    expect(breaker.state().state).toBe('closed');
    expect(breaker.state().unavailableSince).toBeUndefined();
  });

  it('ignores late outcomes of requests passed before it opened', () => {
    fail(3);
    breaker.record('ok');
    breaker.record('server_error');
    expect(breaker.state()).toMatchObject({ state: 'open', nextProbeAt: 101_000 });
    clock.advance(1_000);
    expect(breaker.admit()).toBe('probe');
    breaker.record('server_error'); // a straggler, not the probe
    breaker.record('ok');
    expect(breaker.state().state).toBe('half-open');
    breaker.record('ok', { admission: 'probe' });
    breaker.record('ok', { admission: 'probe' }); // no probe was out: a stray record decides nothing
    expect(breaker.state().state).toBe('half-open');
  });

  describe('with a probe shared by several processes (sharedLimits)', () => {
    let granted: boolean;
    let claims: number;
    let shared: CircuitBreakerCore;
    beforeEach(() => {
      granted = false;
      claims = 0;
      shared = new CircuitBreakerCore(policy, clock, {
        onTransition: (t) => transitions.push(t),
        sharedProbe: {
          claimProbe: () => {
            claims++;
            return granted;
          },
        },
      });
      for (let i = 0; i < 3; i++) shared.record('server_error');
      clock.advance(policy.coolDownMs);
    });

    it('half-open, sends a probe only while it holds the shared probe, and waits to be woken meanwhile', () => {
      expect(shared.admit()).toBe('wait');
      expect(claims).toBe(1);
      expect(shared.state().state).toBe('half-open');
      // No timer of its own: the grant (or the others' news) wakes it.
      expect(shared.nextProbeAt()).toBeUndefined();
      granted = true;
      expect(shared.admit()).toBe('probe');
      expect(shared.admit()).toBe('wait');
      shared.record('ok', { admission: 'probe' });
      expect(shared.admit()).toBe('probe');
      shared.record('ok', { admission: 'probe' });
      expect(shared.state()).toMatchObject({ state: 'closed', reason: 'probes-succeeded' });
    });

    it("waiting for another process's probe, opens again when that probe fails, and closes when it succeeds", () => {
      expect(shared.admit()).toBe('wait');
      shared.openElsewhere(clock.now() + 4_000);
      expect(shared.state()).toMatchObject({
        state: 'open',
        reason: 'opened-elsewhere',
        nextProbeAt: clock.now() + 4_000,
      });
      clock.advance(4_000);
      expect(shared.admit()).toBe('wait');
      shared.closeElsewhere();
      expect(shared.state()).toMatchObject({
        state: 'closed',
        reason: 'closed-elsewhere',
        coolDownMs: policy.coolDownMs,
      });
      expect(shared.state().unavailableSince).toBeUndefined();
      expect(shared.admit()).toBe('pass');
    });

    it('with its own probe out, neither closes nor opens on the news of others: its outcome decides', () => {
      granted = true;
      expect(shared.admit()).toBe('probe');
      shared.closeElsewhere();
      shared.openElsewhere(clock.now() + 4_000);
      expect(shared.state().state).toBe('half-open');
      shared.record('server_error', { admission: 'probe' });
      expect(shared.state()).toMatchObject({ state: 'open', reason: 'probe-failed' });
      // An open breaker is not closed by a close said elsewhere: its own opening is newer.
      shared.closeElsewhere();
      expect(shared.state().state).toBe('open');
    });

    it('closed, told of an opening elsewhere that has already ended, waits half-open for its probe; open, keeps its own end', () => {
      const joined = new CircuitBreakerCore(policy, clock, {
        sharedProbe: {
          claimProbe: () => {
            claims++;
            return granted;
          },
        },
      });
      expect(joined.state().state).toBe('closed');
      joined.openElsewhere(clock.now() - 500);
      expect(joined.state()).toMatchObject({ state: 'half-open' });
      expect(joined.admit()).toBe('wait');
      expect(claims).toBe(1);
      joined.closeElsewhere();
      expect(joined.state()).toMatchObject({ state: 'closed', reason: 'closed-elsewhere' });
      expect(joined.admit()).toBe('pass');
      // An open breaker told of an ended opening stays open until its own end.
      for (let i = 0; i < 3; i++) joined.record('server_error');
      const until = joined.state().nextProbeAt;
      joined.openElsewhere(clock.now() - 500);
      expect(joined.state()).toMatchObject({ state: 'open', nextProbeAt: until });
    });
  });
});
