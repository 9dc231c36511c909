import Anthropic, * as AnthropicErrors from '@anthropic-ai/sdk';
import OpenAI, * as OpenAIErrors from 'openai';
import { afterEach, describe, expect, it } from 'vitest';
import { runSimulate } from '../src/cli/commands/simulate.js';
import { InputError } from '../src/errors.js';
import { startSimulator } from '../src/simulator/server.js';
import type { FaultRule, Simulator, SimulatorOptions } from '../src/simulator/server.js';
import { startSimulateCli } from './helpers/simulate-cli.js';

const KEY = 'sk-simulator-test-key-0123456789';
const HANG_TIMEOUT_MS = 300;
const LATENCY_MS = 150;
const CONCURRENT_REQUESTS = 5;
const RFC3339 = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?Z$/;
const MINUTE_MS = 60_000;
const DAY_MS = 86_400_000;
const GO_DURATION = /^(\d+h)?(\d+m)?(\d+(\.\d+)?s)?$|^\d+ms$/;

let sim: Simulator | undefined;

afterEach(async () => {
  await sim?.close();
  sim = undefined;
});

async function start(options: SimulatorOptions = {}): Promise<Simulator> {
  sim = await startSimulator({ apiKey: KEY, ...options });
  return sim;
}

function openaiClient(s: Simulator, apiKey = KEY, timeout?: number): OpenAI {
  return new OpenAI({ apiKey, baseURL: s.openaiBaseURL, maxRetries: 0, timeout });
}

function anthropicClient(s: Simulator, apiKey = KEY, timeout?: number): Anthropic {
  return new Anthropic({ apiKey, authToken: null, baseURL: s.anthropicBaseURL, maxRetries: 0, timeout });
}

/** A raw POST, to check the wire itself rather than what an SDK makes of it. */
async function post(s: Simulator, path: string, body: unknown, headers: Record<string, string> = {}) {
  const response = await fetch(`${s.url}${path}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${KEY}`, ...headers },
    body: typeof body === 'string' ? body : JSON.stringify(body),
  });
  return { status: response.status, headers: response.headers, text: await response.text() };
}

const conversation = [
  { role: 'system' as const, content: 'You are terse.' },
  { role: 'user' as const, content: 'My printer is broken.' },
  { role: 'assistant' as const, content: 'Have you tried turning it off and on?' },
  { role: 'user' as const, content: 'Still nothing. What now?' },
];
const openaiBody = { model: 'gpt-4o-mini', messages: conversation, max_tokens: 200 };
const anthropicBody = {
  model: 'claude-test',
  max_tokens: 200,
  system: 'You are terse.',
  messages: conversation.slice(1),
};

/** The one input-token rule, written out: per message ⌈UTF-8 bytes / 4⌉ + 4, and 3 once. */
function inputTokens(messages: readonly { content: string }[]): number {
  return messages.reduce((sum, m) => sum + Math.ceil(Buffer.byteLength(m.content) / 4) + 4, 3);
}

describe('simulator: OpenAI wire format', () => {
  it('answers JSON with a reply that shows the context, usage and rate-limit-free headers', async () => {
    const s = await start();
    const { data, response } = await openaiClient(s).chat.completions.create(openaiBody).withResponse();
    const text = data.choices[0]?.message.content ?? '';
    expect(text).toBe(
      '[gpt-4o-mini #1] turn 2: I saw 1 system, 2 user and 1 assistant messages; you said "Still nothing. What now?"',
    );
    expect(data.object).toBe('chat.completion');
    expect(data.choices[0]?.finish_reason).toBe('stop');
    expect(data.usage).toEqual({
      prompt_tokens: inputTokens(conversation),
      completion_tokens: Math.ceil(text.length / 4),
      total_tokens: inputTokens(conversation) + Math.ceil(text.length / 4),
    });
    expect(response.headers.get('x-request-id')).toBe('req_sim_1');
    expect(s.records).toEqual([
      expect.objectContaining({
        id: 1,
        api: 'openai',
        model: 'gpt-4o-mini',
        messages: conversation,
        maxTokens: 200,
        stream: false,
        status: 200,
        response: text,
        authorized: true,
      }),
    ]);
    const record = s.records[0];
    expect(record?.finishedAt).toBeGreaterThanOrEqual(record?.receivedAt ?? Infinity);
  });

  it('streams chat.completion.chunk events ending in [DONE], with usage when asked', async () => {
    const s = await start();
    const stream = await openaiClient(s).chat.completions.create({
      ...openaiBody,
      stream: true,
      stream_options: { include_usage: true },
    });
    let text = '';
    let finish: string | null = null;
    let usage: OpenAI.CompletionUsage | null | undefined;
    let chunks = 0;
    for await (const chunk of stream) {
      chunks += 1;
      expect(chunk.object).toBe('chat.completion.chunk');
      text += chunk.choices[0]?.delta.content ?? '';
      finish = chunk.choices[0]?.finish_reason ?? finish;
      if (chunk.usage) usage = chunk.usage;
    }
    expect(chunks).toBeGreaterThan(3);
    expect(text).toMatch(/^\[gpt-4o-mini #1\] turn 2: .* you said "Still nothing\. What now\?"$/);
    expect(finish).toBe('stop');
    expect(usage?.completion_tokens).toBe(Math.ceil(text.length / 4));
    expect(s.records[0]).toMatchObject({ stream: true, status: 200, response: text });

    const raw = await post(s, '/v1/chat/completions', { ...openaiBody, stream: true });
    expect(raw.headers.get('content-type')).toMatch(/^text\/event-stream/);
    expect(raw.text.startsWith('data: {')).toBe(true);
    expect(raw.text.endsWith('data: [DONE]\n\n')).toBe(true);
    expect(raw.text).not.toContain('"usage"');
  });

  it('stops at max_tokens with finish_reason length', async () => {
    const s = await start();
    const data = await openaiClient(s).chat.completions.create({ ...openaiBody, max_tokens: 5 });
    expect(data.choices[0]?.finish_reason).toBe('length');
    expect(data.choices[0]?.message.content).toHaveLength(20);
    expect(data.usage?.completion_tokens).toBe(5);
  });
});

describe('simulator: Anthropic wire format', () => {
  it('answers JSON; the top-level system becomes a leading system message in the record', async () => {
    const s = await start();
    const { data, response } = await anthropicClient(s).messages.create(anthropicBody).withResponse();
    const block = data.content[0];
    const text = block?.type === 'text' ? block.text : '';
    expect(text).toBe(
      '[claude-test #1] turn 2: I saw 1 system, 2 user and 1 assistant messages; you said "Still nothing. What now?"',
    );
    expect(data.stop_reason).toBe('end_turn');
    expect(data.usage.input_tokens).toBe(inputTokens(conversation));
    expect(data.usage.output_tokens).toBe(Math.ceil(text.length / 4));
    expect(response.headers.get('request-id')).toBe('req_sim_1');
    expect(s.records[0]).toMatchObject({
      api: 'anthropic',
      messages: conversation,
      maxTokens: 200,
      status: 200,
    });
  });

  it('streams message_start … message_stop with text deltas and usage', async () => {
    const s = await start();
    const stream = await anthropicClient(s).messages.create({ ...anthropicBody, stream: true });
    const types: string[] = [];
    let text = '';
    let outputTokens = 0;
    for await (const event of stream) {
      if (types.at(-1) !== event.type) types.push(event.type);
      if (event.type === 'content_block_delta' && event.delta.type === 'text_delta') text += event.delta.text;
      if (event.type === 'message_delta') outputTokens = event.usage.output_tokens;
    }
    expect(types).toEqual([
      'message_start',
      'content_block_start',
      'content_block_delta',
      'content_block_stop',
      'message_delta',
      'message_stop',
    ]);
    expect(text).toMatch(/^\[claude-test #1\] turn 2: /);
    expect(outputTokens).toBe(Math.ceil(text.length / 4));
    expect(s.records[0]).toMatchObject({ stream: true, response: text });
  });

  it('stops at max_tokens with stop_reason max_tokens', async () => {
    const s = await start();
    const data = await anthropicClient(s).messages.create({ ...anthropicBody, max_tokens: 3 });
    expect(data.stop_reason).toBe('max_tokens');
    expect(data.usage.output_tokens).toBe(3);
  });

  it('accepts the key as x-api-key too', async () => {
    const s = await start();
    const raw = await post(s, '/v1/messages', anthropicBody, { authorization: '', 'x-api-key': KEY });
    expect(raw.status).toBe(200);
  });
});

describe('simulator: records and concurrency', () => {
  it('never stores the key, and numbers answers uniquely', async () => {
    const s = await start();
    const client = openaiClient(s);
    await client.chat.completions.create(openaiBody);
    await anthropicClient(s).messages.create(anthropicBody);
    await client.chat.completions.create(openaiBody);
    expect(s.records.map((r) => r.id)).toEqual([1, 2, 3]);
    expect(new Set(s.records.map((r) => r.response)).size).toBe(3);
    expect(JSON.stringify(s.records)).not.toContain(KEY);
    s.reset();
    expect(s.records).toEqual([]);
    await client.chat.completions.create(openaiBody);
    expect(s.records[0]?.id).toBe(1);
  });

  it('counts requests in flight at once', async () => {
    const s = await start({ latencyMs: LATENCY_MS });
    const client = openaiClient(s);
    const pending = Array.from({ length: CONCURRENT_REQUESTS }, () =>
      client.chat.completions.create(openaiBody),
    );
    await expect.poll(() => s.inFlight === CONCURRENT_REQUESTS).toBe(true);
    await Promise.all(pending);
    expect(s.maxInFlight).toBe(CONCURRENT_REQUESTS);
    expect(s.inFlight).toBe(0);
    expect(s.records.every((r) => r.finishedAt - r.receivedAt >= LATENCY_MS - 1)).toBe(true);
  });
});

describe('simulator: authentication', () => {
  it('answers 401 in each format to a wrong key and records it unauthorized', async () => {
    const s = await start();
    const openaiFailure = await openaiClient(s, 'wrong-key')
      .chat.completions.create(openaiBody)
      .catch((e: unknown) => e);
    expect(openaiFailure).toBeInstanceOf(OpenAIErrors.AuthenticationError);
    expect((openaiFailure as OpenAIErrors.APIError).code).toBe('invalid_api_key');
    const anthropicFailure = await anthropicClient(s, 'wrong-key')
      .messages.create(anthropicBody)
      .catch((e: unknown) => e);
    expect(anthropicFailure).toBeInstanceOf(AnthropicErrors.AuthenticationError);
    expect((anthropicFailure as AnthropicErrors.APIError).type).toBe('authentication_error');
    expect(s.records.map((r) => [r.status, r.authorized])).toEqual([
      [401, false],
      [401, false],
    ]);
    expect(JSON.stringify(s.records)).not.toContain('wrong-key');
  });
});

describe('simulator: rate limit', () => {
  it('spends the burst, then answers 429 with retry-after and OpenAI rate-limit headers on every answer', async () => {
    // 6 per minute with 30 s of burst: 3 requests at once, then one every 10 s. OpenAI's headers
    // announce the bucket (3), and its reset tells the period.
    const s = await start({ rateLimit: { requestsPerMinute: 6, burstSeconds: 30 } });
    const remaining: (string | null)[] = [];
    for (let i = 0; i < 3; i += 1) {
      const raw = await post(s, '/v1/chat/completions', openaiBody);
      expect(raw.status).toBe(200);
      expect(raw.headers.get('x-ratelimit-limit-requests')).toBe('3');
      expect(raw.headers.get('x-ratelimit-reset-requests')).toMatch(GO_DURATION);
      remaining.push(raw.headers.get('x-ratelimit-remaining-requests'));
    }
    expect(remaining).toEqual(['2', '1', '0']);
    const refused = await post(s, '/v1/chat/completions', openaiBody);
    expect(refused.status).toBe(429);
    expect(refused.headers.get('retry-after')).toMatch(/^(9|10)$/);
    expect(Number(refused.headers.get('retry-after-ms'))).toBeGreaterThan(9_000);
    expect(Number(refused.headers.get('retry-after-ms'))).toBeLessThanOrEqual(10_000);
    expect(refused.headers.get('x-ratelimit-remaining-requests')).toBe('0');
    expect(refused.headers.get('x-ratelimit-reset-requests')).toMatch(/^(29|30)(\.\d+)?s$/);
    expect(JSON.parse(refused.text)).toMatchObject({
      error: { type: 'requests', code: 'rate_limit_exceeded' },
    });
    expect(s.records.at(-1)?.status).toBe(429);
  });

  it('sends Anthropic rate-limit headers with RFC 3339 resets and refuses with rate_limit_error', async () => {
    const s = await start({
      rateLimit: { requestsPerMinute: 6, tokensPerMinute: 600_000, burstSeconds: 10 },
    });
    const ok = await post(s, '/v1/messages', anthropicBody);
    expect(ok.status).toBe(200);
    for (const name of ['requests', 'tokens', 'input-tokens', 'output-tokens']) {
      expect(ok.headers.get(`anthropic-ratelimit-${name}-limit`)).toMatch(/^\d+$/);
      expect(ok.headers.get(`anthropic-ratelimit-${name}-remaining`)).toMatch(/^\d+$/);
      expect(ok.headers.get(`anthropic-ratelimit-${name}-reset`)).toMatch(RFC3339);
    }
    const refused = await post(s, '/v1/messages', anthropicBody);
    expect(refused.status).toBe(429);
    expect(refused.headers.get('retry-after')).toMatch(/^\d+$/);
    expect(refused.headers.get('anthropic-ratelimit-requests-remaining')).toBe('0');
    expect(JSON.parse(refused.text)).toMatchObject({ type: 'error', error: { type: 'rate_limit_error' } });
  });

  it('refuses on tokens per minute too', async () => {
    // 600 tokens per minute, 1 s of burst: 10 tokens; the first request goes (a full bucket
    // lets one large request through), the next waits for the debt to refill.
    const s = await start({ rateLimit: { tokensPerMinute: 600 } });
    expect((await post(s, '/v1/chat/completions', openaiBody)).status).toBe(200);
    const refused = await post(s, '/v1/chat/completions', openaiBody);
    expect(refused.status).toBe(429);
    expect(JSON.parse(refused.text)).toMatchObject({ error: { type: 'tokens' } });
    expect(refused.headers.get('x-ratelimit-limit-tokens')).toBe('10');
  });

  it('lets the next request through once retry-after-ms has passed (a short minute)', async () => {
    // A 3 s "minute" with 6 requests: one request every 500 ms.
    const s = await start({ rateLimit: { requestsPerMinute: 6, burstSeconds: 10, minuteMs: 3_000 } });
    expect((await post(s, '/v1/chat/completions', openaiBody)).status).toBe(200);
    const refused = await post(s, '/v1/chat/completions', openaiBody);
    expect(refused.status).toBe(429);
    const waitMs = Number(refused.headers.get('retry-after-ms'));
    expect(waitMs).toBeGreaterThan(0);
    expect(waitMs).toBeLessThanOrEqual(500);
    await new Promise((resolve) => setTimeout(resolve, waitMs));
    expect((await post(s, '/v1/chat/completions', openaiBody)).status).toBe(200);
  });
});

describe('simulator: faults', () => {
  const withFault = (fault: FaultRule['fault'], extra: Partial<FaultRule> = {}): SimulatorOptions => ({
    faults: [{ fault, times: 1, ...extra }],
  });

  it('answers a scripted status with a proper error body in each format, once', async () => {
    const s = await start(withFault({ kind: 'status', status: 503 }, { times: 2 }));
    const openaiFailure = await openaiClient(s)
      .chat.completions.create(openaiBody)
      .catch((e: unknown) => e);
    expect(openaiFailure).toBeInstanceOf(OpenAIErrors.InternalServerError);
    expect((openaiFailure as OpenAIErrors.APIError).type).toBe('server_error');
    const anthropicFailure = await post(s, '/v1/messages', anthropicBody);
    expect(anthropicFailure.status).toBe(503);
    expect(JSON.parse(anthropicFailure.text)).toMatchObject({ type: 'error', error: { type: 'api_error' } });
    expect((await post(s, '/v1/messages', anthropicBody)).status).toBe(200);
  });

  it('sends retry-after with a scripted 429', async () => {
    const s = await start(withFault({ kind: 'status', status: 429, retryAfterSeconds: 7 }));
    const raw = await post(s, '/v1/chat/completions', openaiBody);
    expect(raw.status).toBe(429);
    expect(raw.headers.get('retry-after')).toBe('7');
    expect(JSON.parse(raw.text)).toMatchObject({ error: { code: 'rate_limit_exceeded' } });
  });

  it('answers quota exhaustion as each API does', async () => {
    const s = await start({ faults: [{ fault: { kind: 'quota' } }] });
    const openai = await post(s, '/v1/chat/completions', openaiBody);
    expect(openai.status).toBe(429);
    expect(JSON.parse(openai.text)).toMatchObject({
      error: { type: 'insufficient_quota', code: 'insufficient_quota' },
    });
    const anthropic = await post(s, '/v1/messages', anthropicBody);
    expect(anthropic.status).toBe(402);
    expect(JSON.parse(anthropic.text)).toMatchObject({ error: { type: 'billing_error' } });
  });

  it('answers 200 with a body that is not JSON (malformed)', async () => {
    const s = await start(withFault({ kind: 'malformed' }));
    const raw = await post(s, '/v1/chat/completions', openaiBody);
    expect(raw.status).toBe(200);
    expect(() => JSON.parse(raw.text) as unknown).toThrow(SyntaxError);
    expect(s.records[0]).toMatchObject({ status: 200, response: null });
  });

  it('cuts a JSON body and an event stream mid-way (truncated)', async () => {
    const s = await start(withFault({ kind: 'truncated' }, { times: 2 }));
    const raw = await post(s, '/v1/messages', anthropicBody);
    expect(raw.status).toBe(200);
    expect(raw.text.startsWith('{"id":"msg_sim_1"')).toBe(true);
    expect(() => JSON.parse(raw.text) as unknown).toThrow(SyntaxError);
    const stream = await post(s, '/v1/chat/completions', { ...openaiBody, stream: true });
    expect(stream.text.startsWith('data: {')).toBe(true);
    expect(stream.text).not.toContain('[DONE]');
  });

  it('answers 200 without choices or content (empty)', async () => {
    const s = await start({ faults: [{ fault: { kind: 'empty' } }] });
    const openai = await openaiClient(s).chat.completions.create(openaiBody);
    expect(openai.choices).toEqual([]);
    const anthropic = await anthropicClient(s).messages.create(anthropicBody);
    expect(anthropic.content).toEqual([]);
  });

  it('never answers a hung request; the client gives up and the record shows no status', async () => {
    const s = await start(withFault({ kind: 'hang' }));
    const failure = await openaiClient(s, KEY, HANG_TIMEOUT_MS)
      .chat.completions.create(openaiBody)
      .catch((e: unknown) => e);
    expect(failure).toBeInstanceOf(OpenAIErrors.APIConnectionTimeoutError);
    await expect.poll(() => s.inFlight === 0).toBe(true);
    expect(s.records[0]).toMatchObject({ status: 0, response: null });
    expect(s.records[0]?.finishedAt).toBeGreaterThan(0);
  });

  it('destroys the socket (reset)', async () => {
    const s = await start(withFault({ kind: 'reset' }, { api: 'anthropic' }));
    const failure = await anthropicClient(s)
      .messages.create(anthropicBody)
      .catch((e: unknown) => e);
    expect(failure).toBeInstanceOf(AnthropicErrors.APIConnectionError);
    expect(failure).not.toBeInstanceOf(AnthropicErrors.APIConnectionTimeoutError);
  });

  it('applies rules in order, by model and API, and configure() replaces them', async () => {
    const s = await start({
      faults: [
        { fault: { kind: 'status', status: 500 }, model: 'other-model' },
        { fault: { kind: 'status', status: 502 }, api: 'anthropic', times: 1 },
        { fault: { kind: 'status', status: 504 }, times: 1 },
      ],
    });
    expect((await post(s, '/v1/chat/completions', { ...openaiBody, model: 'other-model' })).status).toBe(500);
    expect((await post(s, '/v1/messages', anthropicBody)).status).toBe(502);
    expect((await post(s, '/v1/messages', anthropicBody)).status).toBe(504);
    expect((await post(s, '/v1/messages', anthropicBody)).status).toBe(200);
    expect((await post(s, '/v1/chat/completions', { ...openaiBody, model: 'other-model' })).status).toBe(500);
    s.configure({ faults: [] });
    expect((await post(s, '/v1/chat/completions', { ...openaiBody, model: 'other-model' })).status).toBe(200);
    expect(() => s.configure({ faults: [{ fault: { kind: 'status', status: 200 } }] })).toThrow(RangeError);
  });

  it('ends hung requests when it closes', async () => {
    const s = await start({ faults: [{ fault: { kind: 'hang' } }] });
    const pending = openaiClient(s)
      .chat.completions.create(openaiBody)
      .catch((e: unknown) => e);
    await expect.poll(() => s.inFlight === 1).toBe(true);
    await s.close();
    expect(await pending).toBeInstanceOf(OpenAIErrors.APIConnectionError);
    expect(s.inFlight).toBe(0);
  });
});

describe('simulator: bad requests', () => {
  it.each([
    ['no model', { messages: conversation }, 'model'],
    ['no messages', { model: 'm' }, 'messages'],
    ['an unknown role', { model: 'm', messages: [{ role: 'bot', content: 'hi' }] }, 'messages[0].role'],
    ['a bad max_tokens', { model: 'm', messages: conversation, max_tokens: -1 }, null],
  ])('OpenAI: 400 for %s', async (_name, body, param) => {
    const s = await start();
    const raw = await post(s, '/v1/chat/completions', body);
    expect(raw.status).toBe(400);
    expect(JSON.parse(raw.text)).toMatchObject({ error: { type: 'invalid_request_error', param } });
  });

  it.each([
    ['no max_tokens', { model: 'c', messages: [{ role: 'user', content: 'hi' }] }, /max_tokens/],
    ['a system role in messages', { ...anthropicBody, messages: conversation }, /messages\.0\.role/],
    ['no model', { max_tokens: 10, messages: [{ role: 'user', content: 'hi' }] }, /model/],
  ])('Anthropic: 400 for %s', async (_name, body, message) => {
    const s = await start();
    const raw = await post(s, '/v1/messages', body);
    expect(raw.status).toBe(400);
    const parsed = JSON.parse(raw.text) as { type: string; error: { type: string; message: string } };
    expect(parsed.type).toBe('error');
    expect(parsed.error.type).toBe('invalid_request_error');
    expect(parsed.error.message).toMatch(message);
  });

  it('answers 400 to a body that is not JSON, and 404 to an unknown path', async () => {
    const s = await start();
    expect((await post(s, '/v1/chat/completions', '{"model":')).status).toBe(400);
    const missing = await post(s, '/v1/embeddings', openaiBody);
    expect(missing.status).toBe(404);
    expect(JSON.parse(missing.text)).toMatchObject({ error: { type: 'invalid_request_error' } });
    expect(s.records.map((r) => r.status)).toEqual([400]);
  });
});

describe('simulate command', () => {
  it('starts the simulator and prints the base URLs for each SDK', async () => {
    const lines: string[] = [];
    const s = await runSimulate(
      { port: 0, host: '127.0.0.1', latencyMs: 0, requestsPerMinute: 100 },
      (line) => lines.push(line),
    );
    sim = s;
    const port = new URL(s.url).port;
    expect(lines.join('\n')).toContain(`baseURL: http://127.0.0.1:${port}/v1`);
    expect(lines.join('\n')).toContain(`anthropic: baseURL: http://127.0.0.1:${port}\n`);
    expect(lines.join('\n')).toContain('100 requests/min');
    await expect(
      runSimulate({ port: Number(port), host: '127.0.0.1', latencyMs: 0 }, () => undefined),
    ).rejects.toBeInstanceOf(InputError);
    await expect(runSimulate({ port: 0, host: '127.0.0.1', latencyMs: -1 }, () => undefined)).rejects.toThrow(
      /latencyMs/,
    );
  });

  it("--tokens-window-ms counts tokens over their own window: Groq's requests a day and tokens a minute", async () => {
    const child = await startSimulateCli([
      '--dialect',
      'groq',
      '--requests-per-minute',
      '1',
      '--window-ms',
      String(DAY_MS),
      '--tokens-per-minute',
      '600',
      '--tokens-window-ms',
      String(MINUTE_MS),
    ]);
    try {
      // The limits line comes after the base URLs the start waits for, maybe in a later chunk.
      await expect
        .poll(() => child.output(), { timeout: 10_000 })
        .toContain(`over ${DAY_MS} ms windows, tokens over ${MINUTE_MS} ms windows`);
      const client = new OpenAI({ apiKey: KEY, baseURL: child.baseURL.openai, maxRetries: 0 });
      const { data, response } = await client.chat.completions.create(openaiBody).withResponse();
      const input = data.usage?.prompt_tokens ?? 0;
      expect(input).toBeGreaterThan(0);
      const header = (name: string) => response.headers.get(name);
      // Requests: a day's bucket of 1 440 (1 a minute), announced per day as Groq does.
      expect(header('x-ratelimit-limit-requests')).toBe('1440');
      expect(header('x-ratelimit-remaining-requests')).toBe('1439');
      // Tokens: a minute's bucket of 600 (a day's would hold 864 000), less this request's input and
      // the output it reserved (max_tokens), settled only after the answer.
      expect(header('x-ratelimit-limit-tokens')).toBe('600');
      const remaining = Number(header('x-ratelimit-remaining-tokens'));
      expect(remaining).toBeGreaterThan(0);
      expect(remaining).toBeLessThanOrEqual(600 - input);
    } finally {
      await child.stop();
    }
    // A tokens window without a tokens limit says what is missing.
    await expect(
      runSimulate({ port: 0, host: '127.0.0.1', latencyMs: 0, tokensWindowMs: MINUTE_MS }, () => undefined),
    ).rejects.toThrow(/--tokens-window-ms: .*--tokens-per-minute/);
  });
});
