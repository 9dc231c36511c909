import { describe, expect, it } from 'vitest';
import { BURST_WINDOW_MS, RATE_WINDOW_MS } from '../../src/resilience/defaults.js';
import { WindowBudget } from '../../src/resilience/window-budget.js';

describe('WindowBudget', () => {
  it('spreads a per-minute limit: BURST_WINDOW_MS worth at once, then at the limit rate', () => {
    const budget = new WindowBudget(1);
    budget.setLimit(600, 0); // 10 per second
    let sent = 0;
    while (budget.availableAt(1, 0) === 0) {
      budget.take(1, 0);
      sent++;
    }
    expect(sent).toBe((600 * BURST_WINDOW_MS) / RATE_WINDOW_MS);
    expect(budget.availableAt(1, 0)).toBe(100);
  });

  it('keeps counting without a limit, so that a limit learned later sees what was sent', () => {
    const budget = new WindowBudget(1);
    for (let i = 0; i < 30; i++) budget.take(1, i);
    expect(budget.limit).toBeUndefined();
    expect(budget.availableAt(1_000, 30)).toBe(30);
    budget.setLimit(30, 30);
    expect(budget.used(30)).toBe(30);
    expect(budget.availableAt(1, 30)).toBe(RATE_WINDOW_MS);
  });

  it('refunds and charges reconciliations in both the window and the bucket', () => {
    const budget = new WindowBudget(1);
    budget.setLimit(60_000, 0); // 1 000 per second
    const burst = (60_000 * BURST_WINDOW_MS) / RATE_WINDOW_MS;
    const entry = budget.take(burst, 0);
    expect(budget.availableAt(1, 0)).toBe(1);
    budget.adjust(entry, -0.6 * burst, 0);
    expect(budget.used(0)).toBe(0.4 * burst);
    expect(budget.availableAt(0.6 * burst, 0)).toBe(0);
    budget.adjust(entry, +1.6 * burst, 0);
    expect(budget.used(0)).toBe(2 * burst);
    // The bucket owes a whole burst: it refills it, then the one unit asked for.
    expect(budget.availableAt(1, 0)).toBe(burst + 1);
  });

  it("paced by the window alone, lets the minute's limit out at once and nothing more in that minute", () => {
    const budget = new WindowBudget(1);
    budget.setLimit(600, 0);
    let sent = 0;
    while (budget.availableAt(1, 0, 'window') === 0 && sent < 1_000) {
      budget.take(1, 0, 'window');
      sent++;
    }
    expect(sent).toBe(600);
    expect(budget.availableAt(1, 0, 'window')).toBe(RATE_WINDOW_MS);
    // The smoothing bucket was not charged: evenly paced takes may go as soon as the window allows.
    expect(budget.availableAt(1, RATE_WINDOW_MS, 'even')).toBe(RATE_WINDOW_MS);
  });

  it('refunds a window-paced take to the window only', () => {
    const budget = new WindowBudget(1);
    budget.setLimit(60_000, 0);
    const burst = (60_000 * BURST_WINDOW_MS) / RATE_WINDOW_MS;
    budget.take(burst, 0); // the smoothing bucket is empty
    const entry = budget.take(100, 0, 'window');
    budget.adjust(entry, -100, 0);
    expect(budget.used(0)).toBe(burst);
    // Nothing went back to the bucket, which lent nothing: it still refills from empty.
    expect(budget.availableAt(1, 0)).toBe(1);
  });

  it('can lift its limit', () => {
    const budget = new WindowBudget(1);
    budget.setLimit(1, 0);
    budget.take(1, 0);
    expect(budget.availableAt(1, 0)).toBe(RATE_WINDOW_MS);
    budget.setLimit(undefined, 0);
    expect(budget.availableAt(1, 0)).toBe(0);
  });
});
