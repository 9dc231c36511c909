import { describe, expect, it } from 'vitest';

import { JOB_ID_PATTERN, newJobId } from '../src/store/job-id.js';

describe('newJobId', () => {
  it('is the UTC minute and six random characters', () => {
    const values = [0, 0.5, 0.999_999, 0.1, 0.2, 0.3];
    let next = 0;
    const id = newJobId(new Date('2026-11-26T23:50:59.999Z'), () => values[next++] ?? 0);
    expect(id).toBe('20261126-2350-0iz37a');
    expect(id).toMatch(JOB_ID_PATTERN);
    expect(encodeURIComponent(id)).toBe(id);
  });

  it('sorts by creation time as a plain string', () => {
    const times = [
      '2026-01-02T03:04:00Z',
      '2026-01-02T03:05:00Z',
      '2026-10-01T00:00:00Z',
      '2027-01-01T00:00:00Z',
    ];
    const ids = times.map((time) => newJobId(new Date(time)));
    expect([...ids].sort()).toEqual(ids);
    for (const id of ids) expect(id).toMatch(JOB_ID_PATTERN);
  });

  it('is random by default, and refuses a bad random source or date', () => {
    const now = new Date();
    const ids = new Set(Array.from({ length: 100 }, () => newJobId(now)));
    expect(ids.size).toBe(100);
    expect(() => newJobId(now, () => 1)).toThrow(RangeError);
    expect(() => newJobId(now, () => Number.NaN)).toThrow(RangeError);
    expect(() => newJobId(new Date('nonsense'))).toThrow(RangeError);
  });
});
