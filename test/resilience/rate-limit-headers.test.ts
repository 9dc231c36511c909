import { describe, expect, it } from 'vitest';
import {
  parseDurationMs,
  parseRateLimitHeaders,
  parseRfc3339Ms,
} from '../../src/resilience/rate-limit-headers.js';

const NOW = Date.parse('2025-10-25T12:00:00Z');

describe('parseDurationMs', () => {
  it.each([
    ['6m0s', 360_000],
    ['20ms', 20],
    ['1s', 1_000],
    ['1m30.5s', 90_500],
    ['0s', 0],
    ['0', 0],
    ['2h3m', 7_380_000],
    ['6ms', 6],
    ['59.718s', 59_718],
    ['2m59.56s', 179_560],
    ['1h0m0s', 3_600_000],
    ['1.5s', 1_500],
    ['500us', 0.5],
    ['250µs', 0.25],
    ['1000000ns', 1],
    [' 1s ', 1_000],
  ])('%s → %d ms', (text, ms) => {
    expect(parseDurationMs(text)).toBeCloseTo(ms, 9);
  });

  it.each(['', 's', '1', '-1s', '1x', '1s2', 'ms', '1 s', 'NaN', '1m30', 'abc', '1.2.3s'])(
    'rejects %j',
    (text) => {
      expect(parseDurationMs(text)).toBeUndefined();
    },
  );
});

describe('parseRfc3339Ms', () => {
  it.each([
    ['2025-10-25T12:00:30Z', NOW + 30_000],
    ['2025-10-25T12:00:30.250Z', NOW + 30_250],
    ['2025-10-25T14:00:30+02:00', NOW + 30_000],
  ])('%s', (text, ms) => {
    expect(parseRfc3339Ms(text)).toBe(ms);
  });

  it.each(['1', '2025-10-25', 'tomorrow', '2025-13-45T99:99:99Z', 'Sat, 25 Oct 2025 12:00:30 GMT'])(
    'rejects %j',
    (text) => {
      expect(parseRfc3339Ms(text)).toBeUndefined();
    },
  );
});

describe('parseRateLimitHeaders', () => {
  it('reads an OpenAI reply (documented sample)', () => {
    const headers = {
      'content-type': 'application/json',
      'openai-processing-ms': '412',
      'x-ratelimit-limit-requests': '60',
      'x-ratelimit-limit-tokens': '150000',
      'x-ratelimit-remaining-requests': '59',
      'x-ratelimit-remaining-tokens': '149984',
      'x-ratelimit-reset-requests': '1s',
      'x-ratelimit-reset-tokens': '6m0s',
    };
    expect(parseRateLimitHeaders(headers, NOW)).toEqual({
      requests: { limit: 60, remaining: 59, resetAtMs: NOW + 1_000 },
      tokens: { limit: 150_000, remaining: 149_984, resetAtMs: NOW + 360_000 },
    });
  });

  it('reads an OpenAI 429 with millisecond resets and retry-after', () => {
    const headers = {
      'x-ratelimit-limit-requests': '10000',
      'x-ratelimit-limit-tokens': '2000000',
      'x-ratelimit-remaining-requests': '9999',
      'x-ratelimit-remaining-tokens': '0',
      'x-ratelimit-reset-requests': '6ms',
      'x-ratelimit-reset-tokens': '1m30.5s',
      'retry-after': '1',
      'retry-after-ms': '850',
    };
    expect(parseRateLimitHeaders(headers, NOW)).toEqual({
      requests: { limit: 10_000, remaining: 9_999, resetAtMs: NOW + 6 },
      tokens: { limit: 2_000_000, remaining: 0, resetAtMs: NOW + 90_500 },
      retryAfterMs: 850,
    });
  });

  it('reads an Anthropic reply with input and output token limits', () => {
    const headers = {
      'anthropic-ratelimit-requests-limit': '50',
      'anthropic-ratelimit-requests-remaining': '49',
      'anthropic-ratelimit-requests-reset': '2025-10-25T12:00:01Z',
      'anthropic-ratelimit-tokens-limit': '50000',
      'anthropic-ratelimit-tokens-remaining': '49000',
      'anthropic-ratelimit-tokens-reset': '2025-10-25T12:01:00Z',
      'anthropic-ratelimit-input-tokens-limit': '40000',
      'anthropic-ratelimit-input-tokens-remaining': '39000',
      'anthropic-ratelimit-input-tokens-reset': '2025-10-25T12:00:02Z',
      'anthropic-ratelimit-output-tokens-limit': '8000',
      'anthropic-ratelimit-output-tokens-remaining': '8000',
      'anthropic-ratelimit-output-tokens-reset': '2025-10-25T12:00:00Z',
      'request-id': 'req_011CUU3Jc9vUxmcCS8N9gXr6',
    };
    expect(parseRateLimitHeaders(headers, NOW)).toEqual({
      requests: { limit: 50, remaining: 49, resetAtMs: NOW + 1_000 },
      tokens: { limit: 50_000, remaining: 49_000, resetAtMs: NOW + 60_000 },
      inputTokens: { limit: 40_000, remaining: 39_000, resetAtMs: NOW + 2_000 },
      outputTokens: { limit: 8_000, remaining: 8_000, resetAtMs: NOW },
    });
  });

  it('reads an Anthropic 429', () => {
    const headers = {
      'retry-after': '17',
      'anthropic-ratelimit-requests-limit': '50',
      'anthropic-ratelimit-requests-remaining': '0',
      'anthropic-ratelimit-requests-reset': '2025-10-25T12:00:17Z',
      'x-should-retry': 'true',
    };
    expect(parseRateLimitHeaders(headers, NOW)).toEqual({
      requests: { limit: 50, remaining: 0, resetAtMs: NOW + 17_000 },
      retryAfterMs: 17_000,
    });
  });

  it('keeps what parses and ignores malformed values, never throwing', () => {
    const headers = {
      'x-ratelimit-limit-requests': 'lots',
      'x-ratelimit-remaining-requests': '12',
      'x-ratelimit-reset-requests': 'soon',
      'x-ratelimit-limit-tokens': '',
      'x-ratelimit-remaining-tokens': '-5',
      'x-ratelimit-reset-tokens': '1x',
      'anthropic-ratelimit-input-tokens-reset': 'yesterday',
      'retry-after': 'Someday',
    };
    expect(parseRateLimitHeaders(headers, NOW)).toEqual({ requests: { remaining: 12 } });
  });

  it('returns nothing for a reply without rate-limit headers', () => {
    expect(parseRateLimitHeaders({ 'content-type': 'application/json' }, NOW)).toEqual({});
  });

  it('lower-cases names it was given in another case', () => {
    expect(parseRateLimitHeaders({ 'X-RateLimit-Remaining-Requests': '3', 'Retry-After': '2' }, NOW)).toEqual(
      {
        requests: { remaining: 3 },
        retryAfterMs: 2_000,
      },
    );
  });
});
