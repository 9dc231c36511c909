import { describe, expect, it } from 'vitest';
import {
  parseDurationMs,
  parseRateLimitHeaders,
  parseRfc3339Ms,
} from '../../src/resilience/rate-limit-headers.js';
import {
  dialectFor,
  HEADER_DIALECTS,
  inferPeriodMs,
  type DialectSource,
} from '../../src/resilience/header-dialects.js';

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

const { openai, anthropic, groq, together, azure, openrouter, ietf, none } = HEADER_DIALECTS;

describe('parseRateLimitHeaders, per dialect (samples from each provider’s documentation)', () => {
  it('OpenAI: limit, remaining and a duration reset; the period is inferred from them', () => {
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
    expect(parseRateLimitHeaders(headers, NOW, openai)).toEqual({
      // One request comes back in 1 s: all 60 in a minute.
      requests: { limit: 60, remaining: 59, resetAtMs: NOW + 1_000, periodMs: 60_000, periodInferred: true },
      tokens: {
        limit: 150_000,
        remaining: 149_984,
        resetAtMs: NOW + 360_000,
        periodMs: (360_000 * 150_000) / 16,
        periodInferred: true,
      },
    });
  });

  it('OpenAI: a 429 with millisecond resets and retry-after-ms', () => {
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
    expect(parseRateLimitHeaders(headers, NOW, openai)).toEqual({
      requests: {
        limit: 10_000,
        remaining: 9_999,
        resetAtMs: NOW + 6,
        periodMs: 60_000,
        periodInferred: true,
      },
      tokens: {
        limit: 2_000_000,
        remaining: 0,
        resetAtMs: NOW + 90_500,
        periodMs: 90_500,
        periodInferred: true,
      },
      retryAfterMs: 850,
    });
  });

  it('OpenAI: 60 requests per 6 s announced as just "60" is read as 60 per 6 s, not per minute', () => {
    const headers = {
      'x-ratelimit-limit-requests': '60',
      'x-ratelimit-remaining-requests': '50',
      'x-ratelimit-reset-requests': '1s',
    };
    expect(parseRateLimitHeaders(headers, NOW, openai).requests?.periodMs).toBe(6_000);
  });

  it('Anthropic: four limits, RFC 3339 resets, per minute as documented', () => {
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
    const minute = { periodMs: 60_000 };
    expect(parseRateLimitHeaders(headers, NOW, anthropic)).toEqual({
      requests: { limit: 50, remaining: 49, resetAtMs: NOW + 1_000, ...minute },
      tokens: { limit: 50_000, remaining: 49_000, resetAtMs: NOW + 60_000, ...minute },
      inputTokens: { limit: 40_000, remaining: 39_000, resetAtMs: NOW + 2_000, ...minute },
      outputTokens: { limit: 8_000, remaining: 8_000, resetAtMs: NOW, ...minute },
    });
  });

  it('Anthropic: a 429', () => {
    const headers = {
      'retry-after': '17',
      'anthropic-ratelimit-requests-limit': '50',
      'anthropic-ratelimit-requests-remaining': '0',
      'anthropic-ratelimit-requests-reset': '2025-10-25T12:00:17Z',
      'x-should-retry': 'true',
    };
    expect(parseRateLimitHeaders(headers, NOW, anthropic)).toEqual({
      requests: { limit: 50, remaining: 0, resetAtMs: NOW + 17_000, periodMs: 60_000 },
      retryAfterMs: 17_000,
    });
  });

  it('Groq: requests per day, tokens per minute', () => {
    const headers = {
      'retry-after': '2',
      'x-ratelimit-limit-requests': '14400',
      'x-ratelimit-limit-tokens': '18000',
      'x-ratelimit-remaining-requests': '14370',
      'x-ratelimit-remaining-tokens': '17997',
      'x-ratelimit-reset-requests': '2m59.56s',
      'x-ratelimit-reset-tokens': '7.66s',
    };
    expect(parseRateLimitHeaders(headers, NOW, groq)).toEqual({
      requests: { limit: 14_400, remaining: 14_370, resetAtMs: NOW + 179_560, periodMs: 86_400_000 },
      tokens: { limit: 18_000, remaining: 17_997, resetAtMs: NOW + 7_660, periodMs: 60_000 },
      retryAfterMs: 2_000,
    });
  });

  it('Together: requests and tokens per second, reset in seconds', () => {
    const headers = {
      'x-ratelimit-limit': '10',
      'x-ratelimit-remaining': '9',
      'x-ratelimit-reset': '1',
      'x-ratelimit-limit-tokens': '3333',
      'x-ratelimit-remaining-tokens': '3300',
    };
    expect(parseRateLimitHeaders(headers, NOW, together)).toEqual({
      requests: { limit: 10, remaining: 9, resetAtMs: NOW + 1_000, periodMs: 1_000 },
      tokens: { limit: 3_333, remaining: 3_300, periodMs: 1_000 },
    });
  });

  it('Azure OpenAI: remaining only', () => {
    const headers = {
      'x-ratelimit-remaining-requests': '99',
      'x-ratelimit-remaining-tokens': '119000',
      'x-ms-region': 'East US',
      'apim-request-id': '6b4e1d7c-0000-4000-8000-000000000000',
    };
    expect(parseRateLimitHeaders(headers, NOW, azure)).toEqual({
      requests: { remaining: 99 },
      tokens: { remaining: 119_000 },
    });
    expect(azure.remainingHoldsMs).toBe(10_000);
  });

  it('OpenRouter: X-RateLimit-* with a reset in ms since the epoch', () => {
    const headers = {
      'X-RateLimit-Limit': '20',
      'X-RateLimit-Remaining': '15',
      'X-RateLimit-Reset': String(NOW + 2_500),
    };
    expect(parseRateLimitHeaders(headers, NOW, openrouter)).toEqual({
      requests: { limit: 20, remaining: 15, resetAtMs: NOW + 2_500, periodMs: 10_000, periodInferred: true },
    });
  });

  it('IETF RateLimit draft, early fields: limit, remaining, reset in seconds, policy with w', () => {
    const headers = {
      'RateLimit-Limit': '10',
      'RateLimit-Remaining': '1',
      'RateLimit-Reset': '7',
      'RateLimit-Policy': '10;w=1',
    };
    expect(parseRateLimitHeaders(headers, NOW, ietf)).toEqual({
      requests: { limit: 10, remaining: 1, resetAtMs: NOW + 7_000, periodMs: 1_000 },
    });
    // The window may come on the limit's own list.
    expect(
      parseRateLimitHeaders({ 'ratelimit-limit': '100, 100;w=60', 'ratelimit-remaining': '50' }, NOW, ietf),
    ).toEqual({ requests: { limit: 100, remaining: 50, periodMs: 60_000 } });
  });

  it('IETF RateLimit draft, structured fields: RateLimit-Policy q/w and RateLimit r/t', () => {
    const headers = {
      'RateLimit-Policy': '"default";q=100;w=10',
      RateLimit: '"default";r=50;t=30',
    };
    expect(parseRateLimitHeaders(headers, NOW, ietf)).toEqual({
      requests: { limit: 100, remaining: 50, resetAtMs: NOW + 30_000, periodMs: 10_000 },
    });
  });

  it('none: only retry-after is read', () => {
    const headers = { 'x-ratelimit-remaining-requests': '0', 'retry-after': '3' };
    expect(parseRateLimitHeaders(headers, NOW, none)).toEqual({ retryAfterMs: 3_000 });
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
    expect(parseRateLimitHeaders(headers, NOW, openai)).toEqual({ requests: { remaining: 12 } });
    expect(parseRateLimitHeaders({ ratelimit: 'garbage', 'ratelimit-policy': ';;' }, NOW, ietf)).toEqual({});
  });

  it('returns nothing for a reply without rate-limit headers', () => {
    expect(parseRateLimitHeaders({ 'content-type': 'application/json' }, NOW, openai)).toEqual({});
  });
});

describe('dialectFor', () => {
  it.each<[string, DialectSource, string]>([
    [
      'the field wins',
      { type: 'openai', baseURL: 'https://api.groq.com/openai/v1', headers: 'ietf' },
      'ietf',
    ],
    ['OpenAI by default', { type: 'openai' }, 'openai'],
    ['Anthropic by type', { type: 'anthropic' }, 'anthropic'],
    ['Groq by host', { type: 'openai', baseURL: 'https://api.groq.com/openai/v1' }, 'groq'],
    ['Together by host', { type: 'openai', baseURL: 'https://api.together.xyz/v1' }, 'together'],
    ['Azure by host', { type: 'openai', baseURL: 'https://acme.openai.azure.com/openai/v1' }, 'azure'],
    ['OpenRouter by host', { type: 'openai', baseURL: 'https://openrouter.ai/api/v1' }, 'openrouter'],
    ['a local server as OpenAI', { type: 'openai', baseURL: 'http://127.0.0.1:8000/v1' }, 'openai'],
    ['the simulated provider sends none', { type: 'simulated' }, 'none'],
  ])('%s', (_name, source, dialect) => {
    expect(dialectFor(source).name).toBe(dialect);
  });
});

describe('inferPeriodMs', () => {
  it('reads the period a bucket implies, or nothing when nothing is used', () => {
    expect(inferPeriodMs({ limit: 60, remaining: 54, resetAtMs: NOW + 600 }, NOW)).toBe(6_000);
    expect(inferPeriodMs({ limit: 60, remaining: 60, resetAtMs: NOW + 600 }, NOW)).toBeUndefined();
    expect(inferPeriodMs({ limit: 60, remaining: 0, resetAtMs: NOW }, NOW)).toBeUndefined();
    expect(inferPeriodMs({ remaining: 0, resetAtMs: NOW + 1 }, NOW)).toBeUndefined();
  });
});
