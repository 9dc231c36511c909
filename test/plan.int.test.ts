import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { formatWallTime } from '../src/planning/format.js';
import { actualsOf, forecastBesideActual } from '../src/planning/outcome.js';
import { renderReport } from '../src/report/html-report.js';
import { silentLogger } from '../src/log/logger.js';
import { systemClock } from '../src/resilience/clock.js';
import { Engine } from '../src/runtime/engine.js';
import { createJob } from '../src/runtime/jobs.js';
import type { Simulator } from '../src/simulator/server.js';
import { runCli } from './helpers/cli.js';
import { suiteFromText, TEST_KEY, TEST_KEY_ENV } from './helpers/job.js';
import { useTestResources } from './helpers/test-resources.js';

/** Latency of every simulated answer, in ms. */
const LATENCY_MS = 100;
const CONCURRENCY = 2;

function suiteText(sim: Simulator, sequences: number, prompts: number, runs: number, judged = false): string {
  const lines = Array.from(
    { length: sequences },
    (_, s) =>
      `  - id: s${s + 1}\n    system: You answer questions about sequence ${s + 1}.\n    prompts: [${Array.from(
        { length: prompts },
        (_, p) => `"Question ${p + 1} of sequence ${s + 1}, please answer it briefly."`,
      ).join(', ')}]`,
  );
  return `name: planned
runs: ${runs}
providers:
  sim:
    type: openai
    baseURL: "${sim.openaiBaseURL}"
    apiKeyEnv: ${TEST_KEY_ENV}
    limits: { maxConcurrency: ${CONCURRENCY} }
models:
  - { id: m, provider: sim, model: planned-model, maxTokens: 200, pricePerMillionTokens: { input: 3, output: 15 } }
${
  judged
    ? `  - { id: j, provider: sim, model: planned-judge, maxTokens: 300, pricePerMillionTokens: { input: 1, output: 5 } }
judge: { model: j }`
    : ''
}
sequences:
${lines.join('\n')}
`;
}

const parse = (text: string) => suiteFromText(text, 'planned.yaml');

describe('troupe plan against a job on the simulator', () => {
  const resources = useTestResources();

  /** A simulator answering after `latencyMs`, a fresh store and an engine on it. */
  async function setUp(latencyMs: number) {
    const sim = await resources.simulator({ latencyMs });
    const dir = await resources.tempDir('troupe-plan-');
    const store = await resources.store(dir.path);
    const engine = await Engine.start({
      store,
      log: silentLogger(),
      clock: systemClock,
      env: { [TEST_KEY_ENV]: TEST_KEY },
    });
    return { engine, sim, store, dir };
  }

  it('forecasts tokens within 10 % and the wall time bound, from an earlier job, sending nothing', async () => {
    const { engine, sim, store, dir } = await setUp(LATENCY_MS);
    try {
      // An earlier, smaller job of the same model: its answers and latency are the history.
      const earlier = await createJob(store, await parse(suiteText(sim, 2, 2, 1)), 'earlier.yaml');
      expect(earlier.forecast?.models[0]).toMatchObject({
        answerSource: 'maxTokens',
        latencySource: 'default',
      });
      expect(await engine.runJob(earlier)).toEqual({ state: 'done' });

      // The plan from the command line (another process, the store open here too): no key in its
      // environment, nothing sent.
      const bigger = suiteText(sim, 4, 3, 2);
      const suitePath = join(dir.path, 'bigger.yaml');
      await writeFile(suitePath, bigger);
      const sentBefore = sim.records.length;
      const planned = await runCli(['plan', suitePath, '--data-dir', dir.path, '--format', 'json']);
      expect(planned.stderr).toBe('');
      expect(planned.code).toBe(0);
      expect(sim.records.length).toBe(sentBefore);
      const table = await runCli(['plan', suitePath, '--data-dir', dir.path]);
      expect(table.stdout).toMatch(/mean of 4 earlier answers/);
      expect(table.stdout).toMatch(/p50 of earlier jobs/);
      expect(table.stdout).toMatch(/least wall time: bound by sim's concurrency: ≥ /);

      const job = await createJob(store, await parse(bigger), suitePath);
      const forecast = job.forecast;
      expect(forecast).toEqual(JSON.parse(planned.stdout));
      const model = forecast?.models[0];
      expect(model).toMatchObject({ turns: 24, answerSource: 'history', latencySource: 'history' });
      expect(forecast?.binding).toEqual({ provider: 'sim', limit: 'concurrency' });
      // N·L/C with L the earlier job's median latency.
      expect(forecast?.boundMs).toBeCloseTo((24 * (model?.latencyMs ?? 0)) / CONCURRENCY, 6);

      const started = Date.now();
      expect(await engine.runJob(job)).toEqual({ state: 'done' });
      const wallMs = Date.now() - started;
      const turns = store.turnsOf(job.id);
      expect(turns).toHaveLength(24);
      const input = turns.reduce((sum, t) => sum + (t.usage?.inputTokens ?? 0), 0);
      const output = turns.reduce((sum, t) => sum + (t.usage?.outputTokens ?? 0), 0);
      expect(Math.abs(input - (forecast?.inputTokens ?? 0)) / input).toBeLessThan(0.1);
      expect(Math.abs(output - (forecast?.outputTokens ?? 0)) / output).toBeLessThan(0.1);
      // The bound holds: no request is faster than the simulator's latency, so neither the job nor
      // the forecast (L is the earlier job's median, which a busy machine only lengthens) can go
      // below N·L/C at that latency.
      const floorMs = (24 * LATENCY_MS) / CONCURRENCY;
      expect(wallMs).toBeGreaterThanOrEqual(floorMs);
      expect(forecast?.boundMs).toBeGreaterThanOrEqual(floorMs);

      // The summary, the report and the status show the forecast beside what happened.
      const stored = store.getJob(job.id);
      if (stored === undefined) throw new Error('the job is stored');
      const lines = forecastBesideActual(stored, actualsOf(stored, turns, Date.now()));
      expect(lines[0]).toMatch(
        /^forecast: 24 turns, [\d ]+ input \+ [\d ]+ output tokens, \$0\.\d{4}, bound by sim's concurrency: ≥ /,
      );
      expect(lines[1]).toBe(
        `actual:   24 turns, ${input.toLocaleString('en').replaceAll(',', ' ')} input + ${output} output tokens, ` +
          `$${((input * 3 + output * 15) / 1e6).toFixed(4)}, ${formatWallTime(Date.parse(stored.finishedAt ?? '') - Date.parse(stored.createdAt))}`,
      );
      expect(renderReport({ job: stored, sequences: [], turns })).toContain(
        `<p class="forecast">${lines[1]}</p>`,
      );
    } finally {
      await engine.close();
    }
  });

  it("foresees the judge's grading calls: tokens and cost within 10 % of what was charged", async () => {
    const { engine, sim, store } = await setUp(0);
    try {
      // An earlier judged job: the judge's reply lengths are its history.
      const earlier = await createJob(store, await parse(suiteText(sim, 2, 2, 1, true)), 'earlier.yaml');
      expect(earlier.forecast?.judge).toMatchObject({ calls: 8, answerSource: 'maxTokens' });
      expect(await engine.runJob(earlier)).toEqual({ state: 'done' });

      const job = await createJob(store, await parse(suiteText(sim, 4, 3, 2, true)), 'judged.yaml');
      const forecast = job.forecast;
      // Two models answer 4 × 3 × 2 turns each; the judge grades all 48 answers.
      expect(forecast).toMatchObject({ turns: 48 });
      expect(forecast?.judge).toMatchObject({
        model: 'j',
        calls: 48,
        answerSource: 'history',
        historyGrades: 8,
      });
      const sentBefore = sim.records.length;
      expect(await engine.runJob(job)).toEqual({ state: 'done' });
      const turns = store.turnsOf(job.id);
      expect(turns).toHaveLength(48);
      expect(turns.every((t) => t.judge?.status === 'ok' && t.judge.usage !== undefined)).toBe(true);
      // Every request the simulator answered: 48 turns and 48 grading calls.
      const sent = sim.records.slice(sentBefore);
      expect(sent).toHaveLength(96);

      const judgeInput = turns.reduce((sum, t) => sum + (t.judge?.usage?.inputTokens ?? 0), 0);
      const judgeOutput = turns.reduce((sum, t) => sum + (t.judge?.usage?.outputTokens ?? 0), 0);
      const near = (actual: number, foreseen: number | undefined): void =>
        expect(Math.abs(actual - (foreseen ?? 0)) / actual).toBeLessThan(0.1);
      near(judgeInput, forecast?.judge?.inputTokens);
      near(judgeOutput, forecast?.judge?.outputTokens);

      const stored = store.getJob(job.id);
      if (stored === undefined) throw new Error('the job is stored');
      const actual = actualsOf(stored, turns, Date.now());
      near(actual.inputTokens ?? 0, forecast?.inputTokens);
      near(actual.outputTokens ?? 0, forecast?.outputTokens);
      near(actual.costUsd ?? 0, forecast?.costUsd ?? undefined);
      // The answers' usage and the grades' together.
      const answered = turns.reduce((sum, t) => sum + (t.usage?.inputTokens ?? 0), 0);
      expect(actual.inputTokens).toBe(answered + judgeInput);
      const [forecastLine, actualLine] = forecastBesideActual(stored, actual);
      expect(forecastLine).toMatch(/^forecast: 48 turns \+ 48 judge calls, /);
      expect(actualLine).toMatch(/^actual: {3}48 turns \+ 48 grades, /);
    } finally {
      await engine.close();
    }
  });
});
