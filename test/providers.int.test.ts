import * as OpenAIErrors from 'openai';
import { afterEach, describe, expect, it } from 'vitest';
import { InputError } from '../src/errors.js';
import { createAnthropicProvider } from '../src/providers/anthropic.js';
import { classifyFailure, sdkErrorClasses } from '../src/providers/classify.js';
import { createProvider } from '../src/providers/create.js';
import { createOpenAIProvider } from '../src/providers/openai.js';
import { createSimulatedProvider } from '../src/providers/simulated.js';
import type { Sleep } from '../src/providers/simulated.js';
import type { ChatMessage, CompletionRequest, Provider } from '../src/providers/types.js';
import { ProviderError } from '../src/providers/types.js';
import { DEFAULT_BREAKER_POLICY, DEFAULT_RETRY_POLICY } from '../src/resilience/defaults.js';
import { startSimulator } from '../src/simulator/server.js';
import type { Fault, Simulator, SimulatorOptions } from '../src/simulator/server.js';
import type {
  AnthropicProviderConfig,
  BreakerPolicy,
  OpenAIProviderConfig,
  RetryPolicy,
  SimulatedProviderConfig,
} from '../src/suite/types.js';

const OPENAI_ERRORS = sdkErrorClasses(OpenAIErrors, OpenAIErrors.OpenAIError);

const KEY = 'sk-provider-test-key-9876543210';
const TIMEOUT_MS = 5_000;
const SHORT_TIMEOUT_MS = 250;
const SLOW_LATENCY_MS = 10_000;
const ONE_HOUR_S = 3_600;

const retry: RetryPolicy = {
  maxAttempts: 1,
  baseDelayMs: 1,
  maxDelayMs: 1,
  timeoutMs: TIMEOUT_MS,
  maxPauseMs: DEFAULT_RETRY_POLICY.maxPauseMs,
};
const breaker: BreakerPolicy = { ...DEFAULT_BREAKER_POLICY };

const messages: ChatMessage[] = [
  { role: 'system', content: 'Be brief.' },
  { role: 'user', content: 'My router blinks red.' },
  { role: 'assistant', content: 'Restart it.' },
  { role: 'user', content: 'I tried resetting it.' },
];

function request(overrides: Partial<CompletionRequest> = {}): CompletionRequest {
  return { model: 'model-a', messages, maxTokens: 256, timeoutMs: TIMEOUT_MS, ...overrides };
}

/** The one input-token rule, written out: per message ⌈UTF-8 bytes / 4⌉ + 4, and 3 once. */
function inputTokens(list: readonly ChatMessage[]): number {
  return list.reduce((sum, m) => sum + Math.ceil(Buffer.byteLength(m.content) / 4) + 4, 3);
}

async function failure(promise: Promise<unknown>): Promise<ProviderError> {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(ProviderError);
  return error as ProviderError;
}

let sim: Simulator | undefined;

afterEach(async () => {
  await sim?.close();
  sim = undefined;
});

type Api = 'openai' | 'anthropic';

function providerFor(api: Api, s: Simulator, apiKey = KEY): Provider {
  if (api === 'openai') {
    const config: OpenAIProviderConfig = {
      type: 'openai',
      baseURL: s.openaiBaseURL,
      apiKeyEnv: 'TEST_OPENAI_KEY',
      retry,
      breaker,
    };
    return createOpenAIProvider(config, apiKey);
  }
  const config: AnthropicProviderConfig = {
    type: 'anthropic',
    baseURL: s.anthropicBaseURL,
    apiKeyEnv: 'TEST_ANTHROPIC_KEY',
    retry,
    breaker,
  };
  return createAnthropicProvider(config, apiKey);
}

async function setup(
  api: Api,
  options: SimulatorOptions = {},
): Promise<{ s: Simulator; provider: Provider }> {
  sim = await startSimulator({ apiKey: KEY, ...options });
  return { s: sim, provider: providerFor(api, sim) };
}

const once = (fault: Fault): SimulatorOptions => ({ faults: [{ fault, times: 1 }] });

describe.each<[Api, string]>([
  ['openai', 'x-request-id'],
  ['anthropic', 'request-id'],
])('%s provider against the simulator', (api, requestIdHeader) => {
  it('returns the text, the usage and the headers', async () => {
    const { s, provider } = await setup(api, { rateLimit: { requestsPerMinute: 600 } });
    const result = await provider.complete(request());
    expect(result.text).toBe(
      '[model-a #1] turn 2: I saw 1 system, 2 user and 1 assistant messages; you said "I tried resetting it."',
    );
    expect(result.usage).toEqual({
      inputTokens: inputTokens(messages),
      outputTokens: Math.ceil(result.text.length / 4),
    });
    expect(result.headers[requestIdHeader]).toBe('req_sim_1');
    // OpenAI's headers announce the bucket (a second's worth), Anthropic's the limit per minute.
    const [limitHeader, limit] =
      api === 'openai' ? ['x-ratelimit-limit-requests', '10'] : ['anthropic-ratelimit-requests-limit', '600'];
    expect(result.headers[limitHeader]).toBe(limit);
    expect(s.records[0]).toMatchObject({ model: 'model-a', messages, maxTokens: 256, authorized: true });
  });

  it('sends several system messages as one system prompt', async () => {
    const { s, provider } = await setup(api);
    const twoSystems: ChatMessage[] = [
      { role: 'system', content: 'First rule.' },
      { role: 'system', content: 'Second rule.' },
      { role: 'user', content: 'Hello' },
    ];
    await provider.complete(request({ messages: twoSystems }));
    const expected =
      api === 'anthropic'
        ? [{ role: 'system', content: 'First rule.\n\nSecond rule.' }, twoSystems[2]]
        : twoSystems;
    expect(s.records[0]?.messages).toEqual(expected);
  });

  it('classifies a 429 as rate_limited with the wait from retry-after', async () => {
    const { provider } = await setup(api, once({ kind: 'status', status: 429, retryAfterSeconds: 2 }));
    const error = await failure(provider.complete(request()));
    expect(error).toMatchObject({ kind: 'rate_limited', status: 429, retryAfterMs: 2_000 });
    expect(error.headers['retry-after']).toBe('2');
  });

  it('reads retry-after-ms of the rate limit', async () => {
    const { provider } = await setup(api, { rateLimit: { requestsPerMinute: 1 } });
    await provider.complete(request());
    const error = await failure(provider.complete(request()));
    expect(error.kind).toBe('rate_limited');
    expect(error.retryAfterMs).toBeGreaterThan(50_000);
    expect(error.retryAfterMs).toBeLessThanOrEqual(60_000);
  });

  it('classifies a 429 asking to wait over an hour as quota_exhausted', async () => {
    const { provider } = await setup(
      api,
      once({ kind: 'status', status: 429, retryAfterSeconds: 2 * ONE_HOUR_S }),
    );
    expect((await failure(provider.complete(request()))).kind).toBe('quota_exhausted');
  });

  it('classifies a spent quota as quota_exhausted', async () => {
    const { provider } = await setup(api, once({ kind: 'quota' }));
    const error = await failure(provider.complete(request()));
    expect(error.kind).toBe('quota_exhausted');
    expect(error.status).toBe(api === 'openai' ? 429 : 402);
  });

  it.each([500, 503, 529, 408, 409])('classifies %i as server_error', async (status) => {
    const { provider } = await setup(api, once({ kind: 'status', status }));
    expect(await failure(provider.complete(request()))).toMatchObject({ kind: 'server_error', status });
  });

  it.each([
    [400, 'client_error'],
    [403, 'unauthorized'],
    [404, 'client_error'],
    [422, 'client_error'],
  ] as const)('classifies %i as %s with the provider message', async (status, kind) => {
    const { provider } = await setup(api, once({ kind: 'status', status }));
    const error = await failure(provider.complete(request()));
    expect(error).toMatchObject({ kind, status });
    expect(error.message).toMatch(new RegExp(`^${api} ${status}\\b.*: \\S`));
  });

  it('classifies a wrong key as unauthorized and never shows a key', async () => {
    sim = await startSimulator({ apiKey: KEY });
    const wrongKey = 'sk-wrong-key-that-must-not-leak-42';
    const error = await failure(providerFor(api, sim, wrongKey).complete(request()));
    expect(error).toMatchObject({ kind: 'unauthorized', status: 401 });
    expect(error.message).not.toContain(wrongKey);
    expect(error.message).not.toContain(KEY);
    expect(JSON.stringify(error.headers)).not.toContain(wrongKey);
  });

  it.each(['malformed', 'truncated', 'empty'] as const)(
    'classifies a %s answer as malformed',
    async (kind) => {
      const { provider } = await setup(api, once({ kind }));
      const error = await failure(provider.complete(request()));
      expect(error.kind).toBe('malformed');
    },
  );

  it('classifies a hung request as timeout after timeoutMs', async () => {
    const { provider } = await setup(api, once({ kind: 'hang' }));
    const error = await failure(provider.complete(request({ timeoutMs: SHORT_TIMEOUT_MS })));
    expect(error.kind).toBe('timeout');
    expect(error.message).toContain(String(SHORT_TIMEOUT_MS));
  });

  it('classifies a reset connection as connection', async () => {
    const { provider } = await setup(api, once({ kind: 'reset' }));
    expect((await failure(provider.complete(request()))).kind).toBe('connection');
  });

  it('classifies an abort by our own signal as cancelled', async () => {
    const { s, provider } = await setup(api, { latencyMs: SLOW_LATENCY_MS });
    const controller = new AbortController();
    const pending = failure(provider.complete(request({ signal: controller.signal })));
    await expect.poll(() => s.inFlight === 1).toBe(true);
    controller.abort();
    expect((await pending).kind).toBe('cancelled');
    const before = s.records.length;
    const aborted = await failure(provider.complete(request({ signal: AbortSignal.abort() })));
    expect(aborted.kind).toBe('cancelled');
    expect(s.records.length).toBe(before);
  });

  it('classifies a server that is gone as connection', async () => {
    const { s, provider } = await setup(api);
    await s.close();
    expect((await failure(provider.complete(request()))).kind).toBe('connection');
  });
});

describe('classifyFailure', () => {
  const context = { provider: 'openai', cancelled: false, timedOut: false, timeoutMs: 1_000, nowMs: 0 };

  it('removes the key from a provider message that echoes it', () => {
    const sdkError = new OpenAIErrors.AuthenticationError(
      401,
      {
        message: `Incorrect API key provided: ${KEY}.`,
        type: 'invalid_request_error',
        code: 'invalid_api_key',
      },
      undefined,
      new Headers({ 'X-Request-Id': 'abc' }),
    );
    const error = classifyFailure(sdkError, { ...context, apiKey: KEY }, OPENAI_ERRORS);
    expect(error.kind).toBe('unauthorized');
    expect(error.message).not.toContain(KEY);
    expect(error.message).toContain('invalid_api_key');
    expect(error.headers).toEqual({ 'x-request-id': 'abc' });
  });

  it('prefers cancelled over anything the SDK says', () => {
    const error = classifyFailure(
      new OpenAIErrors.APIConnectionTimeoutError(),
      { ...context, cancelled: true },
      OPENAI_ERRORS,
    );
    expect(error.kind).toBe('cancelled');
  });

  it('passes a ProviderError through', () => {
    const original = new ProviderError('malformed', 'x');
    expect(classifyFailure(original, context, OPENAI_ERRORS)).toBe(original);
  });
});

describe('createProvider', () => {
  const simulated: SimulatedProviderConfig = { type: 'simulated', latencyMs: 0, retry, breaker };

  it('needs no key for the simulated provider', async () => {
    const result = await createProvider(simulated, undefined).complete(request());
    expect(result.text).toMatch(/^\[model-a\] turn 2/);
  });

  it('throws an InputError naming the variable when a key is missing', () => {
    const config: OpenAIProviderConfig = { type: 'openai', apiKeyEnv: 'MY_OPENAI_KEY', retry, breaker };
    expect(() => createProvider(config, undefined)).toThrow(InputError);
    expect(() => createProvider(config, '  ')).toThrow(/MY_OPENAI_KEY/);
    const anthropic: AnthropicProviderConfig = {
      type: 'anthropic',
      apiKeyEnv: 'MY_ANTHROPIC_KEY',
      retry,
      breaker,
    };
    expect(() => createProvider(anthropic, undefined)).toThrow(/MY_ANTHROPIC_KEY/);
  });

  it('dispatches openai and anthropic to their adapters', async () => {
    sim = await startSimulator({ apiKey: KEY });
    const openai = createProvider(
      { type: 'openai', baseURL: sim.openaiBaseURL, apiKeyEnv: 'K', retry, breaker },
      KEY,
    );
    const anthropic = createProvider(
      { type: 'anthropic', baseURL: sim.anthropicBaseURL, apiKeyEnv: 'K', retry, breaker },
      KEY,
    );
    await openai.complete(request());
    await anthropic.complete(request());
    expect(sim.records.map((r) => r.api)).toEqual(['openai', 'anthropic']);
  });
});

describe('simulated provider', () => {
  const config: SimulatedProviderConfig = { type: 'simulated', latencyMs: 40, retry, breaker };
  const noWait: Sleep = () => Promise.resolve();

  it('answers deterministically, showing the context it received', async () => {
    const provider = createSimulatedProvider(config, { sleep: noWait });
    const first = await provider.complete(request({ model: 'small' }));
    const again = await provider.complete(request({ model: 'small' }));
    expect(first).toEqual(again);
    expect(first.text).toMatch(
      /^\[small\] turn 2 · context: 1 system, 2 user, 1 assistant · ctx#[0-9a-f]{4} · re: "I tried resetting it\."$/,
    );
    expect(first.usage).toEqual({
      inputTokens: inputTokens(messages),
      outputTokens: Math.ceil(first.text.length / 4),
    });
    const other = await provider.complete(request({ model: 'small', messages: messages.slice(0, 2) }));
    expect(other.text).toMatch(/^\[small\] turn 1 · context: 1 system, 1 user, 0 assistant · ctx#/);
    expect(other.text).not.toBe(first.text);
  });

  it('waits latencyMs through the injected sleep', async () => {
    const waits: number[] = [];
    const sleep: Sleep = (ms) => {
      waits.push(ms);
      return Promise.resolve();
    };
    await createSimulatedProvider(config, { sleep }).complete(request());
    expect(waits).toEqual([config.latencyMs]);
  });

  it('times out when its latency exceeds timeoutMs', async () => {
    const waits: number[] = [];
    const sleep: Sleep = (ms) => {
      waits.push(ms);
      return Promise.resolve();
    };
    const provider = createSimulatedProvider({ ...config, latencyMs: 1_000 }, { sleep });
    const error = await failure(provider.complete(request({ timeoutMs: 100 })));
    expect(error.kind).toBe('timeout');
    expect(waits).toEqual([100]);
  });

  it('is cancelled by its signal while it waits', async () => {
    let started: () => void = () => undefined;
    const waiting = new Promise<void>((resolve) => (started = resolve));
    const sleep: Sleep = (_ms, signal) =>
      new Promise((_resolve, reject) => {
        started();
        signal.addEventListener('abort', () => reject(new Error('aborted')), { once: true });
      });
    const controller = new AbortController();
    const pending = failure(
      createSimulatedProvider(config, { sleep }).complete(request({ signal: controller.signal })),
    );
    await waiting;
    controller.abort();
    expect((await pending).kind).toBe('cancelled');
  });

  it('stops at maxTokens', async () => {
    const result = await createSimulatedProvider(config, { sleep: noWait }).complete(
      request({ maxTokens: 4 }),
    );
    expect(result.text).toHaveLength(16);
    expect(result.usage.outputTokens).toBe(4);
  });

  it('refuses a conversation that does not end with a user message', async () => {
    const provider = createSimulatedProvider(config, { sleep: noWait });
    const error = await failure(provider.complete(request({ messages: messages.slice(0, 3) })));
    expect(error.kind).toBe('client_error');
  });
});
