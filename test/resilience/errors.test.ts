import { describe, expect, it } from 'vitest';
import type { FailureKind } from '../../src/providers/types.js';
import { ERROR_CODES, errorCodeOf, isErrorCode } from '../../src/resilience/errors.js';

describe('error codes', () => {
  it.each<[FailureKind, string]>([
    ['rate_limited', 'troupe:rate-limited'],
    ['quota_exhausted', 'troupe:quota-exhausted'],
    ['server_error', 'troupe:server-error'],
    ['timeout', 'troupe:timeout'],
    ['connection', 'troupe:connection'],
    ['malformed', 'troupe:malformed-reply'],
    ['client_error', 'troupe:client-error'],
    ['cancelled', 'troupe:cancelled'],
  ])('%s → %s', (kind, code) => {
    expect(errorCodeOf(kind)).toBe(code);
  });

  it('namespaces every code and keeps them distinct', () => {
    const codes = Object.values(ERROR_CODES);
    expect(codes.every((code) => /^troupe:[a-z]+(-[a-z]+)*$/.test(code))).toBe(true);
    expect(new Set(codes).size).toBe(codes.length);
  });

  it('recognises its own codes only', () => {
    expect(isErrorCode('troupe:retries-exhausted')).toBe(true);
    expect(isErrorCode('troupe:nope')).toBe(false);
    expect(isErrorCode(42)).toBe(false);
  });
});
