import { describe, expect, it } from 'vitest';
import { SliceWalk } from '../src/actors/slice-walk.js';
import type { Slice } from '../src/actors/slice-walk.js';
import type { SequenceConfig } from '../src/suite/types.js';
import { sequenceSourceOf } from './helpers/sequence-source.js';

/** `count` sequences s000, s001, …; sequence i has 1 + (i mod 3) prompts. */
function sequences(count: number): SequenceConfig[] {
  return Array.from({ length: count }, (_, i) => ({
    id: `s${String(i).padStart(3, '0')}`,
    prompts: Array.from({ length: 1 + (i % 3) }, (__, k) => `p${k}`),
  }));
}

function takeAll(walk: SliceWalk, max = 10_000): Slice[] {
  const slices: Slice[] = [];
  for (let i = 0; i < max && !walk.done; i += 1) {
    const slice = walk.take();
    if (slice) slices.push(slice);
  }
  return slices;
}

const label = (slice: Slice): string => `${slice.sequence.id}@${slice.firstRun}+${slice.runs}`;

describe('the slice walk', () => {
  it('walks a suite of one page longest first, each sequence cut into slices of runs', () => {
    const walk = new SliceWalk(sequenceSourceOf(sequences(4)), 3, 2, 10);
    // s002 has 3 prompts, s001 2, s000 and s003 1 (equal lengths keep key order).
    expect(takeAll(walk).map(label)).toEqual([
      's002@1+2',
      's002@3+1',
      's001@1+2',
      's001@3+1',
      's000@1+2',
      's000@3+1',
      's003@1+2',
      's003@3+1',
    ]);
    expect(walk.take()).toBeUndefined();
  });

  it('reads a big suite a page at a time, every sequence once, holding one page', () => {
    const source = sequenceSourceOf(sequences(95));
    const walk = new SliceWalk(source, 1, 1, 10);
    expect(source.pagesRead).toBe(1);
    const slices = takeAll(walk);
    expect(slices.map((s) => s.sequence.id).sort()).toEqual(sequences(95).map((s) => s.id));
    // 10 pages of 10 and one of 5; each read once.
    expect(source.pagesRead).toBe(10);
    // Pages in key order: every id of a page precedes every id of the next.
    for (let page = 1; page < 10; page += 1) {
      const before = slices.slice(0, page * 10).map((s) => s.sequence.id);
      const after = slices.slice(page * 10).map((s) => s.sequence.id);
      expect(before.every((id) => after.every((later) => id < later))).toBe(true);
    }
  });

  it('reads one empty page more when the suite fills its last page exactly', () => {
    const source = sequenceSourceOf(sequences(20));
    const slices = takeAll(new SliceWalk(source, 1, 1, 10));
    expect(slices).toHaveLength(20);
    expect(source.pagesRead).toBe(3);
  });

  it('resumes at a position it gave: the same slices follow, on the same page', () => {
    const all = sequences(35);
    const first = new SliceWalk(sequenceSourceOf(all), 2, 1, 10);
    const slices = takeAll(first);
    for (const at of [0, 9, 10, 23, 24, slices.length - 1]) {
      const position = slices[at] as Slice;
      const again = new SliceWalk(sequenceSourceOf(all), 2, 1, 10);
      again.seek({
        sequence: position.sequence.id,
        firstRun: position.firstRun,
        ...(position.pageAfter !== undefined && { pageAfter: position.pageAfter }),
      });
      expect(takeAll(again).map(label)).toEqual(slices.slice(at).map(label));
    }
  });

  it('starts over when the position is not found, and ends when it is null', () => {
    const all = sequences(25);
    const whole = takeAll(new SliceWalk(sequenceSourceOf(all), 1, 1, 10)).map(label);
    const lost = new SliceWalk(sequenceSourceOf(all), 1, 1, 10);
    lost.seek({ sequence: 's999', firstRun: 1, pageAfter: 's009' });
    expect(takeAll(lost).map(label)).toEqual(whole);
    // A checkpoint without its page (written before pages were recorded): found on the first page only.
    const old = new SliceWalk(sequenceSourceOf(all), 1, 1, 10);
    old.seek({ sequence: 's015', firstRun: 1 });
    expect(takeAll(old).map(label)).toEqual(whole);
    const ended = new SliceWalk(sequenceSourceOf(all), 1, 1, 10);
    ended.seek(null);
    expect(ended.done).toBe(true);
    expect(ended.take()).toBeUndefined();
  });

  it('has nothing to walk with no runs or no sequences', () => {
    expect(new SliceWalk(sequenceSourceOf(sequences(3)), 0, 1, 10).done).toBe(true);
    expect(new SliceWalk(sequenceSourceOf([]), 2, 1, 10).done).toBe(true);
  });
});
