import { describe, expect, it } from 'vitest';
import { DEFAULT_PLAN_LATENCY_MS, forecastSuite, historyKey } from '../../src/planning/forecast.js';
import { bindingSentence, formatForecast } from '../../src/planning/format.js';
import type { ModelHistory } from '../../src/planning/history.js';
import { parseSuite } from '../../src/suite/load.js';

// Prompts of 8, 4 and 12 ASCII characters: 2, 1 and 3 tokens + 4 framing = 6, 5, 7 tokens each.
// System "You are terse." (14 bytes): 4 + 4 = 8 tokens. Every request: + 3 priming.
const SUITE = `name: small
runs: 2
providers:
  oai:
    type: openai
    apiKeyEnv: SOME_KEY_THAT_IS_NOT_SET
    limits: { requestsPerMinute: 6, tokensPerMinute: 1000, maxConcurrency: 2 }
  sim: { type: simulated, latencyMs: 500 }
models:
  - { id: a, provider: oai, model: gpt-x, maxTokens: 20, pricePerMillionTokens: { input: 2, output: 10 } }
  - { id: b, provider: sim, model: sim-y, maxTokens: 16 }
sequences:
  - id: s1
    system: You are terse.
    prompts: ["12345678", "abcd"]
  - id: s2
    prompts: ["123456789012"]
`;

async function suite() {
  return (await parseSuite(SUITE, 'small.yaml', () => Promise.reject(new Error('none')))).suite;
}

describe('troupe plan: the forecast', () => {
  it('counts turns, accumulating input, output and cost by hand (no history: maxTokens, default latency)', async () => {
    const f = forecastSuite(await suite(), new Map());
    const a = f.models[0];
    // s1 turn 1: 3 + 8 + 6 = 17; turn 2: 3 + 8 + 6 + 5 + (20 + 4) = 46; s2 turn 1: 3 + 7 = 10.
    // Per run 73, two runs: 146. Output: 3 turns × 2 runs × 20.
    expect(a).toMatchObject({
      model: 'a',
      turns: 6,
      inputTokens: 146,
      outputTokens: 120,
      answerTokens: 20,
      answerSource: 'maxTokens',
      latencyMs: DEFAULT_PLAN_LATENCY_MS,
      latencySource: 'default',
      longestConversation: 2,
    });
    // 146 × 2 / 1e6 + 120 × 10 / 1e6 dollars.
    expect(a?.costUsd).toBeCloseTo(0.000292 + 0.0012, 12);
    // b: answers of 16: s1 turn 2 is 3 + 8 + 6 + 5 + 20 = 42; per run 17 + 42 + 10 = 69.
    expect(f.models[1]).toMatchObject({
      inputTokens: 138,
      outputTokens: 96,
      latencyMs: 500,
      latencySource: 'simulated',
      costUsd: null,
    });
    expect(f).toMatchObject({ turns: 12, inputTokens: 284, outputTokens: 216, costIncomplete: true });
    expect(f.costUsd).toBeCloseTo(0.001492, 12);
  });

  it('takes answer length and latency from earlier jobs, never above maxTokens', async () => {
    const history = new Map<string, ModelHistory>([
      [historyKey('openai', 'gpt-x'), { outputTurns: 40, meanOutputTokens: 10, p50LatencyMs: 1500 }],
      [historyKey('simulated', 'sim-y'), { outputTurns: 3, meanOutputTokens: 99, p50LatencyMs: 7 }],
    ]);
    const f = forecastSuite(await suite(), history);
    // a: answers of 10: s1 turn 2 is 3 + 8 + 6 + 5 + 14 = 36; per run 17 + 36 + 10 = 63.
    expect(f.models[0]).toMatchObject({
      inputTokens: 126,
      outputTokens: 60,
      answerTokens: 10,
      answerSource: 'history',
      historyTurns: 40,
      latencyMs: 1500,
      latencySource: 'history',
    });
    // b: the mean 99 is over maxTokens 16: 16. A simulated provider's latency is its own.
    expect(f.models[1]).toMatchObject({ answerTokens: 16, answerSource: 'history', latencyMs: 500 });
  });

  it('bounds the wall time by max(T·L, N/R, tokens/TPM, N·L/C) per provider and names the binding limit', async () => {
    const history = new Map<string, ModelHistory>([
      [historyKey('openai', 'gpt-x'), { outputTurns: 40, meanOutputTokens: 10, p50LatencyMs: 1500 }],
    ]);
    const f = forecastSuite(await suite(), history);
    const oai = f.providers.find((p) => p.provider === 'oai');
    // T·L = 2 × 1.5 s; N/R = 6 / 6 per minute = 60 s; tokens (126 + 60) / 1000 per minute = 11.16 s;
    // N·L/C = 6 × 1.5 s / 2 = 4.5 s.
    expect(oai?.terms).toEqual([
      { limit: 'conversation', ms: 3000 },
      { limit: 'requestsPerMinute', ms: 60_000 },
      { limit: 'tokensPerMinute', ms: 11_160 },
      { limit: 'concurrency', ms: 4500 },
    ]);
    expect(oai).toMatchObject({ boundMs: 60_000, binding: 'requestsPerMinute' });
    // sim: T·L = 2 × 0.5 s; no rate limits; concurrency is the adaptive ceiling 256: 6 × 0.5 s / 256.
    const sim = f.providers.find((p) => p.provider === 'sim');
    expect(sim?.terms).toEqual([
      { limit: 'conversation', ms: 1000 },
      { limit: 'concurrency', ms: 3000 / 256 },
    ]);
    expect(f).toMatchObject({ boundMs: 60_000, binding: { provider: 'oai', limit: 'requestsPerMinute' } });
    expect(bindingSentence(f)).toBe("bound by oai's requests per minute: ≥ 1 min");
  });

  it('prints a table that says where each estimate comes from', async () => {
    const text = formatForecast(forecastSuite(await suite(), new Map()));
    expect(text).toMatch(
      /^a\s+oai\s+6\s+146\s+120\s+\$0\.0015\s+20 \(maxTokens: no earlier answer\)\s+2\.0 s \(default: no earlier job\)$/m,
    );
    expect(text).toMatch(
      /^b\s+sim\s+6\s+138\s+96\s+– \(no prices\)\s+16 \(maxTokens: no earlier answer\)\s+500 ms \(simulated\)$/m,
    );
    expect(text).toMatch(/^TOTAL\s+12\s+284\s+216\s+\$0\.0015 \(without b\)$/m);
    // Tokens (146 + 120) / 1000 per minute = 15.96 s; T·L and N·L/C at the default 2 s.
    expect(text).toMatch(/^oai\s+4\.0 s\s+1 min\s+16\.0 s\s+6\.0 s\s+≥ 1 min \(requests per minute\)$/m);
    expect(text).toContain("least wall time: bound by oai's requests per minute: ≥ 1 min");
    expect(text).toContain('nothing was sent');
  });

  it('leaves out the turns that would be reused', async () => {
    // Run 1 of s1 of model a already answered through turn 1.
    const f = forecastSuite(await suite(), new Map(), (model, sequence, run) =>
      model === 'a' && sequence === 's1' && run === 1 ? 1 : 0,
    );
    // a loses s1/run 1/turn 1 (17 tokens in, 20 out).
    expect(f.models[0]).toMatchObject({ turns: 5, reusedTurns: 1, inputTokens: 129, outputTokens: 100 });
    expect(f.reusedTurns).toBe(1);
    expect(formatForecast(f)).toContain('1 turn reused from earlier jobs');
  });
});
