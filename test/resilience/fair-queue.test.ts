import { describe, expect, it } from 'vitest';
import { FairQueue, type Queued } from '../../src/resilience/fair-queue.js';

const item = (id: string, group: string, priority = 0): Queued => ({ id, group, priority });

function drain(queue: FairQueue<Queued>): string[] {
  const out: string[] = [];
  for (let next = queue.shift(); next; next = queue.shift()) out.push(next.id);
  return out;
}

describe('FairQueue', () => {
  it('takes turns between groups, whatever their sizes', () => {
    const queue = new FairQueue<Queued>();
    for (let i = 1; i <= 5; i++) queue.push(item(`a${i}`, 'A'));
    queue.push(item('b1', 'B'));
    queue.push(item('b2', 'B'));
    queue.push(item('c1', 'C'));
    expect(drain(queue)).toEqual(['a1', 'b1', 'c1', 'a2', 'b2', 'a3', 'a4', 'a5']);
  });

  it('serves a group by priority, then by arrival', () => {
    const queue = new FairQueue<Queued>();
    queue.push(item('low', 'A', 1));
    queue.push(item('high', 'A', 5));
    queue.push(item('mid1', 'A', 3));
    queue.push(item('mid2', 'A', 3));
    queue.push(item('high2', 'A', 5));
    expect(drain(queue)).toEqual(['high', 'high2', 'mid1', 'mid2', 'low']);
  });

  it('peeks at the item whose turn it is', () => {
    const queue = new FairQueue<Queued>();
    expect(queue.peek()).toBeUndefined();
    queue.push(item('a1', 'A'));
    queue.push(item('b1', 'B'));
    expect(queue.peek()?.id).toBe('a1');
    expect(queue.peek()?.id).toBe('a1');
    queue.shift();
    expect(queue.peek()?.id).toBe('b1');
  });

  it('removes by id and keeps the turn order', () => {
    const queue = new FairQueue<Queued>();
    queue.push(item('a1', 'A'));
    queue.push(item('a2', 'A'));
    queue.push(item('b1', 'B'));
    queue.push(item('c1', 'C'));
    expect(queue.shift()?.id).toBe('a1');
    // B's turn; removing B entirely passes the turn to C.
    expect(queue.remove('b1')?.id).toBe('b1');
    expect(queue.remove('b1')).toBeUndefined();
    expect(queue.has('a2')).toBe(true);
    expect(queue.size).toBe(2);
    expect(drain(queue)).toEqual(['c1', 'a2']);
  });

  it('keeps the turn when a group before it empties', () => {
    const queue = new FairQueue<Queued>();
    queue.push(item('a1', 'A'));
    queue.push(item('b1', 'B'));
    queue.push(item('b2', 'B'));
    queue.push(item('c1', 'C'));
    queue.shift(); // a1: A empties, B's turn
    queue.push(item('a2', 'A')); // A rejoins at the end
    expect(drain(queue)).toEqual(['b1', 'c1', 'a2', 'b2']);
  });

  it('refuses a duplicate id', () => {
    const queue = new FairQueue<Queued>();
    queue.push(item('x', 'A'));
    expect(() => queue.push(item('x', 'B'))).toThrow(/already queued/);
  });
});
