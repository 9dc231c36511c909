/**
 * One provider's trouble stays its own: `troupe run` (real CLI, real SDKs, real store) against
 * `troupe simulate` children, where one provider or one model fails and another is healthy.
 * - A provider unavailable past `retry.maxPauseMs` pauses only its own turns: the other
 *   provider's conversations go on to the end, the run exits 1 with "resume with …", and the
 *   resume finishes the paused ones once the provider is back.
 * - A model the server does not know (404 "model not found") beside a healthy one on the same
 *   provider: that model's turns stop at once with one message, the other model's all succeed.
 */
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { TurnRecord } from '../src/store/records.js';
import { runCli } from './helpers/cli.js';
import type { CliResult } from './helpers/cli.js';
import { servedByStatus, startSimulateCli } from './helpers/simulate-cli.js';
import type { Sdk, SimulatorChild } from './helpers/simulate-cli.js';
import { tempDir } from './helpers/temp.js';

const KEY_ENV = { SIMULATOR_API_KEY: 'sk-test-isolation-0123456789' };
const MODEL_NAME: Record<Sdk, string> = { openai: 'gpt-4o-mini', anthropic: 'claude-3-5-haiku-latest' };

interface ProviderShape {
  readonly sdk: Sdk;
  readonly baseURL: string;
  readonly retry?: Record<string, number>;
  readonly breaker?: Record<string, number>;
  readonly limits?: Record<string, number>;
}

interface ModelShape {
  readonly id: string;
  readonly provider: string;
  readonly model: string;
}

/** A suite of `sequences` × `prompts` × `runs` per model; sequence i's prompt k is `s<i> p<k>`. */
function suiteText(
  providers: Record<string, ProviderShape>,
  models: readonly ModelShape[],
  size: { sequences: number; prompts: number; runs: number },
): string {
  return JSON.stringify({
    name: 'isolation',
    runs: size.runs,
    providers: Object.fromEntries(
      Object.entries(providers).map(([id, p]) => [
        id,
        {
          type: p.sdk,
          baseURL: p.baseURL,
          apiKeyEnv: 'SIMULATOR_API_KEY',
          ...(p.retry && { retry: p.retry }),
          ...(p.breaker && { breaker: p.breaker }),
          ...(p.limits && { limits: p.limits }),
        },
      ]),
    ),
    models: models.map((m) => ({ ...m, maxTokens: 32 })),
    sequences: Array.from({ length: size.sequences }, (_, i) => ({
      id: `s${i}`,
      prompts: Array.from({ length: size.prompts }, (_, k) => `s${i} p${k + 1}`),
    })),
  });
}

function jobIdOf(result: CliResult): string {
  const id = /^job (\S+):/m.exec(result.stdout)?.[1];
  if (id === undefined) throw new Error(`no job id in: ${result.stdout}\n${result.stderr}`);
  return id;
}

describe('one provider or model failing beside a healthy one (real CLI, real SDKs)', () => {
  let dir: Awaited<ReturnType<typeof tempDir>>;
  const sims: SimulatorChild[] = [];

  beforeEach(async () => {
    dir = await tempDir();
  });
  afterEach(async () => {
    await Promise.all(sims.splice(0).map((sim) => sim.stop()));
    await dir.cleanup();
  });

  const started = async (...args: Parameters<typeof startSimulateCli>): Promise<SimulatorChild> => {
    const sim = await startSimulateCli(...args);
    sims.push(sim);
    return sim;
  };
  const stopped = async (sim: SimulatorChild): Promise<string> => {
    sims.splice(sims.indexOf(sim), 1);
    return sim.stop();
  };
  const dataDir = () => join(dir.path, 'data');
  const turnsOf = async (job: string): Promise<TurnRecord[]> => {
    const out = await runCli(['results', job, '--data-dir', dataDir(), '--format', 'jsonl']);
    expect(out.code).toBe(0);
    return out.stdout
      .split('\n')
      .filter((line) => line.length > 0)
      .map((line) => JSON.parse(line) as TurnRecord);
  };

  it.each([{ workers: 0 }, { workers: 2 }])(
    'a provider unavailable past retry.maxPauseMs pauses only its own turns ($workers workers); the other provider finishes, and --resume finishes the rest, each turn once',
    async ({ workers }) => {
      // good: openai, 150 ms, 2 at once: its 48 turns take about 4 s. bad: anthropic, 500 for everything,
      // given up on 1 s after its breaker opened — well before good is done.
      const good = await started([], 0, 150);
      let bad = await started(['--fault', 'status:500']);
      const size = { sequences: 12, prompts: 2, runs: 2 };
      const path = join(dir.path, 'suite.json');
      const maxPauseMs = 1_000;
      await writeFile(
        path,
        suiteText(
          {
            good: { sdk: 'openai', baseURL: good.baseURL.openai, limits: { maxConcurrency: 2 } },
            bad: {
              sdk: 'anthropic',
              baseURL: bad.baseURL.anthropic,
              // Attempts and deadlines far beyond the pause cap: only giving up on the provider stops its turns.
              retry: { maxAttempts: 6, timeoutMs: 60_000, maxPauseMs },
              breaker: { consecutiveFailures: 2, coolDownMs: 60_000, maxCoolDownMs: 60_000 },
            },
          },
          [
            { id: 'mg', provider: 'good', model: MODEL_NAME.openai },
            { id: 'mb', provider: 'bad', model: MODEL_NAME.anthropic },
          ],
          size,
        ),
      );
      const result = await runCli(
        ['run', path, '--data-dir', dataDir(), '--workers', String(workers)],
        KEY_ENV,
      );
      expect(result.code, result.stdout + result.stderr).toBe(1);
      const job = jobIdOf(result);
      const paused =
        /paused, its unanswered turns kept: bad has been unavailable since (\S+) \(circuit (?:open|half-open)\), longer than retry\.maxPauseMs \(1000 ms\)/.exec(
          result.stdout,
        );
      expect(paused, result.stdout).not.toBeNull();
      expect(result.stdout).toContain(`resume with troupe run --resume ${job}`);
      const turns = await turnsOf(job);
      const perModel = size.sequences * size.prompts * size.runs;
      const goodTurns = turns.filter((t) => t.model === 'mg');
      expect(goodTurns).toHaveLength(perModel);
      expect(goodTurns.every((t) => t.status === 'ok')).toBe(true);
      // Nothing of the paused provider was given up as failed: its turns wait for the resume.
      expect(turns.filter((t) => t.model === 'mb')).toEqual([]);
      // good went on after bad was given up on (the job did not end with it).
      const gaveUpAt = Date.parse(paused![1]!) + maxPauseMs;
      expect(Math.max(...goodTurns.map((t) => Date.parse(t.finishedAt)))).toBeGreaterThan(gaveUpAt);

      // bad is back, where it was: the resume finishes its turns.
      const port = Number(new URL(bad.baseURL.anthropic).port);
      await stopped(bad);
      bad = await started([], port);
      const resumed = await runCli(
        ['run', '--resume', job, '--data-dir', dataDir(), '--workers', String(workers)],
        KEY_ENV,
      );
      expect(resumed.code, resumed.stdout + resumed.stderr).toBe(0);
      const all = await turnsOf(job);
      expect(all).toHaveLength(2 * perModel);
      expect(all.every((t) => t.status === 'ok')).toBe(true);
      // Each turn once: no (model, sequence, run, turn) recorded twice.
      expect(new Set(all.map((t) => `${t.model}/${t.sequence}/${t.run}/${t.turn}`)).size).toBe(2 * perModel);
      // good was not asked again: its turns were committed before the pause; bad, back, was asked
      // each of its turns once.
      expect(servedByStatus(await stopped(good)).total).toBe(perModel);
      expect(servedByStatus(await stopped(bad)).total).toBe(perModel);
    },
  );

  it.each([
    { sdk: 'openai' as const, workers: 0 },
    { sdk: 'anthropic' as const, workers: 1 },
  ])(
    'a model the server does not know beside a healthy one ($sdk, $workers workers): its turns stop at once with one message, the other model finishes',
    async ({ sdk, workers }) => {
      const known = MODEL_NAME[sdk];
      const sim = await started(['--models', known], 0, 20);
      const size = { sequences: 10, prompts: 2, runs: 2 };
      const maxConcurrency = 2;
      const path = join(dir.path, 'suite.json');
      await writeFile(
        path,
        suiteText(
          { sim: { sdk, baseURL: sim.baseURL[sdk], limits: { maxConcurrency } } },
          [
            { id: 'right', provider: 'sim', model: known },
            { id: 'wrong', provider: 'sim', model: `${known}-no-such-model` },
          ],
          size,
        ),
      );
      const result = await runCli(
        ['run', path, '--data-dir', dataDir(), '--workers', String(workers)],
        KEY_ENV,
      );
      expect(result.code, result.stdout + result.stderr).toBe(1);
      const job = jobIdOf(result);
      const runsPerModel = size.sequences * size.runs;
      // One message on the terminal, naming the model, not one per conversation.
      expect(result.stderr.match(/sim refused model wrong/g), result.stderr).toHaveLength(1);
      expect(result.stdout).toMatch(
        new RegExp(`sim: ${runsPerModel} turns troupe:client-error, first: HTTP 404`),
      );
      const turns = await turnsOf(job);
      const right = turns.filter((t) => t.model === 'right');
      const wrong = turns.filter((t) => t.model === 'wrong');
      expect(right).toHaveLength(runsPerModel * size.prompts);
      expect(right.every((t) => t.status === 'ok')).toBe(true);
      expect(wrong.filter((t) => t.status === 'failed')).toHaveLength(runsPerModel);
      expect(wrong.filter((t) => t.status === 'skipped')).toHaveLength(runsPerModel);
      for (const turn of wrong.filter((t) => t.status === 'failed')) {
        expect(turn.turn).toBe(1);
        expect(turn.error?.message).toMatch(/404/);
      }
      // The server saw the wrong model only in the requests already out when the first 404 came.
      const served = servedByStatus(await stopped(sim));
      expect(served.byStatus.get(404) ?? 0).toBeGreaterThanOrEqual(1);
      expect(served.byStatus.get(404) ?? 0).toBeLessThanOrEqual(maxConcurrency);
      expect(served.byStatus.get(200)).toBe(runsPerModel * size.prompts);
    },
  );
});
