import { describe, expect, it } from 'vitest';
import { DEFAULT_PLAN_LATENCY_MS, forecastSuite } from '../../src/planning/forecast.js';
import { historyKey } from '../../src/planning/history.js';
import { bindingSentence, formatForecast } from '../../src/planning/format.js';
import type { ModelHistory } from '../../src/planning/history.js';
import { systemPromptOf } from '../../src/conversation/context.js';
import type { ChatMessage } from '../../src/providers/types.js';
import { estimateInputTokens } from '../../src/resilience/token-estimate.js';
import { buildJudgeMessages } from '../../src/scoring/judge-prompt.js';
import { parseSuite } from '../../src/suite/load.js';
import type { ModelConfig } from '../../src/suite/types.js';

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
    expect(text).toMatch(/^oai\s+4\.0 s\s+1 min\s+16\.0 s\s+6\.0 s\s+≥ 1 min, by requests per minute$/m);
    expect(text).toContain("least wall time: bound by oai's requests per minute: ≥ 1 min");
    expect(text).toContain('nothing was sent');
  });

  it('leaves out the turns that would be reused', async () => {
    // Run 1 of s1 of model a already answered through turn 1.
    const f = forecastSuite(await suite(), new Map(), (model, sequence, run) =>
      model === 'a' && sequence === 's1' && run === 1 ? { turns: 1, graded: 0 } : { turns: 0, graded: 0 },
    );
    // a loses s1/run 1/turn 1 (17 tokens in, 20 out).
    expect(f.models[0]).toMatchObject({ turns: 5, reusedTurns: 1, inputTokens: 129, outputTokens: 100 });
    expect(f.reusedTurns).toBe(1);
    expect(formatForecast(f)).toContain('1 turn reused from earlier jobs');
  });

  it('foresees one grading call per answer, its prompt as the judge will be sent it', async () => {
    const judged = `name: judged
runs: 2
providers:
  oai:
    type: openai
    apiKeyEnv: SOME_KEY_THAT_IS_NOT_SET
    limits: { requestsPerMinute: 6 }
models:
  - { id: a, provider: oai, model: gpt-x, maxTokens: 20, system: Be brief., pricePerMillionTokens: { input: 2, output: 10 } }
  - { id: j, provider: oai, model: judge-x, maxTokens: 50, pricePerMillionTokens: { input: 1, output: 4 } }
judge: { model: j, rubric: Prefer correct answers. }
sequences:
  - id: s1
    system: You are terse.
    prompts: ["12345678", "abcd"]
    reference: ["the first", "the second"]
  - id: s2
    prompts: ["123456789012"]
`;
    const suite = (await parseSuite(judged, 'judged.yaml', () => Promise.reject(new Error('none')))).suite;
    // The reference figure: the judge's real prompt for each answer, answers of A tokens being
    // 4·A ASCII characters, counted by the one input-token rule.
    const judgeInput = (model: ModelConfig, answerTokens: number): number => {
      const answer = 'x'.repeat(answerTokens * 4);
      let total = 0;
      for (const sequence of suite.sequences) {
        const system = systemPromptOf(model, sequence);
        const conversation: ChatMessage[] = system === undefined ? [] : [{ role: 'system', content: system }];
        sequence.prompts.forEach((prompt, k) => {
          conversation.push({ role: 'user', content: prompt });
          total += estimateInputTokens(
            buildJudgeMessages({
              conversation,
              answer,
              reference: sequence.reference?.[k],
              rubric: 'Prefer correct answers.',
            }),
          );
          conversation.push({ role: 'assistant', content: answer });
        });
      }
      return total * suite.runs;
    };
    const [a, j] = suite.models;
    if (a === undefined || j === undefined) throw new Error('two models');
    const f = forecastSuite(suite, new Map());
    // Every answer of both models (3 turns × 2 runs each) is graded once.
    expect(f.judge).toMatchObject({
      model: 'j',
      provider: 'oai',
      calls: 12,
      inputTokens: judgeInput(a, 20) + judgeInput(j, 50),
      outputTokens: 12 * 50,
      answerTokens: 50,
      answerSource: 'maxTokens',
    });
    expect(f.judge?.costUsd).toBeCloseTo(((f.judge?.inputTokens ?? 0) * 1 + 600 * 4) / 1e6, 12);
    const answers = f.models.reduce((sum, m) => sum + m.inputTokens, 0);
    expect(f.inputTokens).toBe(answers + (f.judge?.inputTokens ?? 0));
    expect(f.costUsd).toBeCloseTo(
      (f.models[0]?.costUsd ?? 0) + (f.models[1]?.costUsd ?? 0) + (f.judge?.costUsd ?? 0),
      12,
    );
    // The provider's requests: 12 turns and 12 grading calls, at 6 a minute.
    expect(f.providers[0]).toMatchObject({ turns: 12, judgeCalls: 12, binding: 'requestsPerMinute' });
    expect(f.providers[0]?.boundMs).toBe(4 * 60_000);

    // Earlier grades give the judge's reply length.
    const history = new Map<string, ModelHistory>([
      [
        historyKey('openai', 'judge-x'),
        {
          outputTurns: 0,
          meanOutputTokens: 0,
          p50LatencyMs: undefined,
          judgeGrades: 30,
          meanJudgeOutputTokens: 12,
        },
      ],
    ]);
    expect(forecastSuite(suite, history).judge).toMatchObject({
      outputTokens: 12 * 12,
      answerTokens: 12,
      answerSource: 'history',
      historyGrades: 30,
    });

    // Copied turns with their grade are not graded again; copied without one, they are.
    const copied = forecastSuite(suite, new Map(), (model, sequence, run) =>
      sequence === 's1' && run === 1 ? { turns: 2, graded: model === 'a' ? 2 : 0 } : { turns: 0, graded: 0 },
    );
    expect(copied.turns).toBe(8);
    expect(copied.judge?.calls).toBe(10);

    const text = formatForecast(f);
    expect(text).toMatch(
      /^j \(grading\)\s+oai\s+12\s+[\d ]+\s+600\s+\$0\.\d{4}\s+50 \(maxTokens: no earlier grade\)/m,
    );
    expect(text).toMatch(/^TOTAL\s+24\s/m);
    expect(text).toContain('grading: one call to j per answer, 12 in all');
  });
});
