import { describe, expect, it } from 'vitest';
import { parseRetryAfterMs } from '../../src/resilience/retry-after.js';

const NOW = Date.parse('2026-01-01T00:00:00Z');

describe('parseRetryAfterMs', () => {
  it.each<[string, Record<string, string>, number | undefined]>([
    ['no header', {}, undefined],
    ['retry-after in whole seconds', { 'retry-after': '7' }, 7_000],
    ['retry-after in fractional seconds', { 'retry-after': '1.5' }, 1_500],
    ['retry-after of zero', { 'retry-after': '0' }, 0],
    ['retry-after with spaces', { 'retry-after': ' 3 ' }, 3_000],
    ['retry-after-ms as a float', { 'retry-after-ms': '250.5' }, 250.5],
    ['retry-after-ms before retry-after', { 'retry-after-ms': '120', 'retry-after': '1' }, 120],
    ['an unreadable retry-after-ms falls back', { 'retry-after-ms': 'soon', 'retry-after': '2' }, 2_000],
    ['an HTTP date', { 'retry-after': 'Thu, 01 Jan 2026 00:00:30 GMT' }, 30_000],
    ['an obsolete RFC 850 date', { 'retry-after': 'Thursday, 01-Jan-26 00:00:10 GMT' }, 10_000],
    ['an HTTP date in the past', { 'retry-after': 'Wed, 31 Dec 2025 23:59:00 GMT' }, 0],
    ['garbage', { 'retry-after': 'later, maybe' }, undefined],
    ['a negative number', { 'retry-after': '-5' }, undefined],
    ['an empty value', { 'retry-after': '' }, undefined],
    ['names in another case', { 'Retry-After': '4' }, 4_000],
  ])('%s', (_name, headers, expected) => {
    expect(parseRetryAfterMs(headers, NOW)).toBe(expected);
  });
});
