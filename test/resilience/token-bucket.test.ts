import { describe, expect, it } from 'vitest';
import { TokenBucket } from '../../src/resilience/token-bucket.js';

describe('TokenBucket', () => {
  it('starts full and refills continuously up to its capacity', () => {
    const bucket = new TokenBucket({ capacity: 10, refillPerMs: 0.01, now: 0 });
    expect(bucket.tryTake(10, 0)).toBe(true);
    expect(bucket.tryTake(1, 0)).toBe(false);
    expect(bucket.level(50)).toBeCloseTo(0.5);
    expect(bucket.tryTake(1, 100)).toBe(true);
    expect(bucket.level(100_000)).toBe(10);
  });

  it('can start at a given level', () => {
    const bucket = new TokenBucket({ capacity: 10, refillPerMs: 1, initial: 2, now: 0 });
    expect(bucket.level(0)).toBe(2);
  });

  it('tells when n units will be available, to the whole ms', () => {
    const bucket = new TokenBucket({ capacity: 5, refillPerMs: 1 / 3, initial: 0, now: 1_000 });
    expect(bucket.availableAt(1, 1_000)).toBe(1_003);
    expect(bucket.availableAt(2, 1_000)).toBe(1_006);
    expect(bucket.tryTake(1, 1_002)).toBe(false);
    expect(bucket.tryTake(1, bucket.availableAt(1, 1_002))).toBe(true);
  });

  it('says now when enough is there, and never when it does not refill', () => {
    const bucket = new TokenBucket({ capacity: 5, refillPerMs: 0, now: 0 });
    expect(bucket.availableAt(5, 7)).toBe(7);
    bucket.take(5, 7);
    expect(bucket.availableAt(1, 8)).toBe(Infinity);
  });

  it('goes into debt when reconciling more than is left, and repays it by refill', () => {
    const bucket = new TokenBucket({ capacity: 100, refillPerMs: 1, now: 0 });
    bucket.take(80, 0);
    bucket.take(50, 0);
    expect(bucket.level(0)).toBe(-30);
    expect(bucket.tryTake(1, 30)).toBe(false);
    expect(bucket.availableAt(1, 30)).toBe(31);
    expect(bucket.tryTake(1, 31)).toBe(true);
  });

  it('lets a demand above capacity through once full, leaving a debt', () => {
    const bucket = new TokenBucket({ capacity: 10, refillPerMs: 1, initial: 4, now: 0 });
    expect(bucket.availableAt(25, 0)).toBe(6);
    expect(bucket.tryTake(25, 5)).toBe(false);
    expect(bucket.tryTake(25, 6)).toBe(true);
    expect(bucket.level(6)).toBe(-15);
    expect(bucket.availableAt(1, 6)).toBe(22);
  });

  it('refunds, but never above capacity', () => {
    const bucket = new TokenBucket({ capacity: 10, refillPerMs: 0, now: 0 });
    bucket.take(3, 0);
    bucket.give(2, 0);
    expect(bucket.level(0)).toBe(9);
    bucket.give(5, 0);
    expect(bucket.level(0)).toBe(10);
  });

  it('takes back an unused reservation even above capacity, by at most that refund', () => {
    const bucket = new TokenBucket({ capacity: 10, refillPerMs: 1, now: 0 });
    bucket.take(30, 0);
    bucket.refund(25, 10); // -20 + 10 refilled + 25
    expect(bucket.level(10)).toBe(15);
    bucket.refund(8, 15);
    expect(bucket.level(15)).toBe(18);
    bucket.refund(3, 15);
    expect(bucket.level(15)).toBe(13);
    expect(bucket.level(1_000)).toBe(13);
  });

  it('learns remaining and capacity from headers', () => {
    const bucket = new TokenBucket({ capacity: 100, refillPerMs: 1, now: 0 });
    bucket.setRemaining(7, 0);
    expect(bucket.level(0)).toBe(7);
    bucket.setCapacity(20, 0);
    expect(bucket.level(50)).toBe(20);
    bucket.setRemaining(500, 50);
    expect(bucket.level(50)).toBe(20);
    bucket.setRefillPerMs(0.5, 50);
    bucket.take(20, 50);
    expect(bucket.level(60)).toBe(5);
    expect(bucket.capacity).toBe(20);
    expect(bucket.refillPerMs).toBe(0.5);
  });

  it('does not drain when the clock steps back', () => {
    const bucket = new TokenBucket({ capacity: 10, refillPerMs: 1, initial: 5, now: 100 });
    expect(bucket.level(50)).toBe(5);
    expect(bucket.level(102)).toBe(7);
  });
});
