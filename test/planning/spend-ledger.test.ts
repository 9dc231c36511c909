import { describe, expect, it } from 'vitest';
import { SpendLedger, describeCap } from '../../src/planning/spend-ledger.js';

describe('the spend ledger', () => {
  it('reserves worst cases under the job cap and refuses the one that would pass it', () => {
    const ledger = new SpendLedger({ jobUsd: 1, providerUsd: {} });
    expect(ledger.reserve('a', 'p', 0.4)).toEqual({ ok: true });
    expect(ledger.reserve('b', 'p', 0.4)).toEqual({ ok: true });
    expect(ledger.reserve('c', 'p', 0.4)).toEqual({
      ok: false,
      scope: { kind: 'job' },
      capUsd: 1,
      committedUsd: 0.8,
      requestedUsd: 0.4,
    });
    // Once refused, the cap refuses everything after, even what would fit.
    expect(ledger.reserve('d', 'p', 0.01).ok).toBe(false);
    expect(ledger.remainingJobUsd()).toBeCloseTo(0.2, 12);
  });

  it('reconciles a reservation with the reported cost', () => {
    const ledger = new SpendLedger({ jobUsd: 1, providerUsd: {} });
    ledger.reserve('a', 'p', 0.6);
    ledger.settle('a', 0.1);
    expect(ledger.state()).toEqual({ spentUsd: { p: 0.1 }, reservedUsd: { p: 0 } });
    expect(ledger.reserve('b', 'p', 0.6).ok).toBe(true);
    ledger.settle('b', 0);
    ledger.settle('b', 5); // settled once only
    expect(ledger.totalCommitted()).toBeCloseTo(0.1, 12);
  });

  it('holds each provider to its own cap, and the job to the sum', () => {
    const ledger = new SpendLedger({ jobUsd: 1, providerUsd: { cheap: 0.3 } });
    expect(ledger.reserve('a', 'cheap', 0.2).ok).toBe(true);
    expect(ledger.reserve('b', 'cheap', 0.2)).toMatchObject({
      ok: false,
      scope: { kind: 'provider', provider: 'cheap' },
    });
    // The other provider goes on under the job's cap.
    expect(ledger.reserve('c', 'other', 0.7).ok).toBe(true);
    expect(ledger.reserve('d', 'other', 0.2)).toMatchObject({ ok: false, scope: { kind: 'job' } });
    expect(ledger.remainingProviderUsd('cheap')).toBeCloseTo(0.1, 12);
    expect(ledger.remainingProviderUsd('other')).toBeUndefined();
  });

  it('after a crash counts the reservations in flight as spent, and a higher cap opens it again', () => {
    const before = new SpendLedger({ jobUsd: 1, providerUsd: {} });
    before.reserve('a', 'p', 0.5);
    before.reserve('b', 'p', 0.3);
    before.settle('a', 0.2);
    // The checkpoint as written before the crash: b was in flight.
    const after = new SpendLedger({ jobUsd: 1, providerUsd: {} }, before.state());
    expect(after.totalCommitted()).toBeCloseTo(0.5, 12);
    expect(after.reserve('c', 'p', 0.6).ok).toBe(false);
    after.setCaps({ jobUsd: 2, providerUsd: {} });
    expect(after.reserve('c', 'p', 0.6).ok).toBe(true);
    expect(describeCap({ kind: 'job' }, 2)).toBe("the job's cap of $2.00");
    expect(describeCap({ kind: 'provider', provider: 'oai' }, 0.5)).toBe("provider oai's cap of $0.50");
  });
});
