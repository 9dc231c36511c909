import { describe, expect, it } from 'vitest';
import { SlidingWindowLog } from '../../src/resilience/sliding-window.js';

describe('SlidingWindowLog', () => {
  it('allows at most the limit in any window and frees units as they leave it', () => {
    const log = new SlidingWindowLog(3, 1_000);
    log.add(1, 0);
    log.add(1, 100);
    log.add(1, 200);
    expect(log.fits(1, 999)).toBe(false);
    expect(log.availableAt(1, 500)).toBe(1_000);
    expect(log.availableAt(2, 500)).toBe(1_100);
    expect(log.availableAt(3, 500)).toBe(1_200);
    expect(log.fits(1, 1_000)).toBe(true);
    expect(log.used(1_000)).toBe(2);
  });

  it('adjusts an entry while it is in the window, and never below zero', () => {
    const log = new SlidingWindowLog(100, 1_000);
    const entry = log.add(60, 0);
    log.add(30, 10);
    log.adjust(entry, -40, 20);
    expect(log.used(20)).toBe(50);
    log.adjust(entry, +70, 30);
    expect(log.used(30)).toBe(120);
    expect(log.fits(1, 30)).toBe(false);
    log.adjust(entry, -500, 40);
    expect(log.used(40)).toBe(30); // the entry counts 0, not less
    log.adjust(entry, +10, 50);
    expect(log.used(50)).toBe(40);
    log.adjust(entry, +5, 1_000); // gone from the window: no effect on the sum
    expect(log.used(1_000)).toBe(30);
  });

  it('finds an entry to adjust after older entries were dropped and the log compacted', () => {
    const log = new SlidingWindowLog(Number.POSITIVE_INFINITY, 1_000);
    // Two windows of one unit a millisecond: the first window's entries are dropped as the second fills it.
    let last = log.add(1, 0);
    for (let t = 1; t < 2_000; t += 1) last = log.add(1, t);
    expect(log.used(1_999)).toBe(1_000);
    log.adjust(last, +9, 1_999);
    expect(log.used(1_999)).toBe(1_009);
    const kept = log.add(5, 2_500);
    log.adjust(kept, -5, 2_600);
    expect(log.used(2_600)).toBe(399 + 9); // 1 601 … 1 999, the last adjusted, and the kept entry at 0
    // Every entry left the window: the log starts afresh, and a handle taken before still misses nothing.
    expect(log.used(10_000)).toBe(0);
    log.adjust(kept, +100, 10_000);
    expect(log.used(10_000)).toBe(0);
    const fresh = log.add(2, 10_001);
    log.adjust(fresh, +1, 10_002);
    expect(log.used(10_002)).toBe(3);
  });

  it('cuts a demand above the limit to the limit: it waits for an empty window', () => {
    const log = new SlidingWindowLog(100, 1_000);
    log.add(10, 0);
    expect(log.fits(500, 500)).toBe(false);
    expect(log.availableAt(500, 500)).toBe(1_000);
    expect(log.fits(500, 1_000)).toBe(true);
  });

  it('is unlimited with an infinite limit, and a limit can be set later', () => {
    const log = new SlidingWindowLog(Infinity, 1_000);
    for (let i = 0; i < 50; i++) log.add(1, i);
    expect(log.fits(1_000_000, 50)).toBe(true);
    log.setLimit(60);
    expect(log.windowLimit).toBe(60);
    expect(log.fits(11, 50)).toBe(false);
    expect(log.fits(10, 50)).toBe(true);
  });

  it('keeps working over long runs (entries are compacted)', () => {
    const log = new SlidingWindowLog(10, 100);
    for (let t = 0; t < 100_000; t += 10) {
      expect(log.fits(1, t)).toBe(true);
      log.add(1, t);
    }
    expect(log.used(100_000)).toBe(9);
  });
});
