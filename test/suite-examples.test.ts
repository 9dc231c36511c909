import { existsSync, readdirSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { runValidate } from '../src/cli/commands/validate.js';
import { InputError } from '../src/errors.js';
import { apiKeyEnvOf, resolveApiKeys } from '../src/suite/api-keys.js';
import { loadSuite, loadSuiteFile } from '../src/suite/load.js';
import { countTurns } from '../src/suite/summary.js';
import { CHECK_KINDS } from '../src/suite/checks-schema.js';
import { runChecks } from '../src/scoring/checks.js';

const EXAMPLES = fileURLToPath(new URL('../examples/', import.meta.url));
const SUITE_FILES = readdirSync(EXAMPLES).filter((name) => /\.(ya?ml|json)$/.test(name));

describe('examples', () => {
  it('has the example suites', () => {
    expect(SUITE_FILES).toEqual(
      expect.arrayContaining([
        'quickstart.yaml',
        'mt-bench.yaml',
        'openai-and-anthropic.yaml',
        'local-openai-compatible.yaml',
        'rehearse-with-simulator.yaml',
        'scored.yaml',
        'mt-bench-judged.yaml',
      ]),
    );
  });

  it.each(SUITE_FILES)('%s loads without problems or warnings, and its keys resolve', async (name) => {
    const { suite, warnings } = await loadSuiteFile(`${EXAMPLES}${name}`);
    expect(warnings).toEqual([]);
    // Dummy values for every variable the suite names, so that only the names are checked.
    const env = Object.fromEntries(
      Object.values(suite.providers).flatMap((provider) => {
        const variable = apiKeyEnvOf(provider);
        return variable === undefined ? [] : [[variable, 'dummy-key']];
      }),
    );
    const keys = resolveApiKeys(suite, env, name);
    expect([...keys.keys()].sort()).toEqual(
      Object.keys(suite.providers)
        .filter((id) => apiKeyEnvOf(suite.providers[id]!) !== undefined)
        .sort(),
    );
  });

  it('quickstart: three models on simulated providers, multi-turn sequences, 3 runs', async () => {
    const suite = await loadSuite(`${EXAMPLES}quickstart.yaml`);
    expect(suite.models).toHaveLength(3);
    expect(Object.values(suite.providers).every((p) => p.type === 'simulated')).toBe(true);
    expect(suite.runs).toBe(3);
    expect(suite.sequences.length).toBeGreaterThanOrEqual(4);
    expect(suite.sequences.every((s) => s.prompts.length >= 3 && s.prompts.length <= 4)).toBe(true);
  });

  it('mt-bench: 80 sequences of 2 prompts, ids from question_id, categories and references kept', async () => {
    const suite = await loadSuite(`${EXAMPLES}mt-bench.yaml`);
    expect(suite.sequences).toHaveLength(80);
    expect(suite.sequences.every((s) => s.prompts.length === 2)).toBe(true);
    expect(suite.sequences[0]?.id).toBe('81');
    expect(suite.sequences.at(-1)?.id).toBe('160');
    expect(suite.sequences.every((s) => typeof s.category === 'string')).toBe(true);
    const withReference = suite.sequences.filter((s) => s.reference !== undefined);
    expect(withReference.length).toBeGreaterThan(0);
    expect(withReference.every((s) => s.reference?.length === 2)).toBe(true);
    expect(countTurns(suite)).toMatchObject({
      sequences: 80,
      prompts: 160,
      turns: 160 * suite.models.length,
    });
  });
});

describe('scored examples', () => {
  it('scored: every kind of check, the script resolved beside the suite, and a judge of the suite', async () => {
    const suite = await loadSuite(`${EXAMPLES}scored.yaml`);
    const checks = suite.sequences.flatMap((s) => (s.checks ?? []).flat());
    expect(new Set(checks.map((c) => c.kind))).toEqual(new Set(CHECK_KINDS));
    const script = checks.find((c) => c.kind === 'script');
    expect(script).toEqual({ kind: 'script', path: `${EXAMPLES}checks/polite.mjs` });
    expect(existsSync(script?.kind === 'script' ? script.path : '')).toBe(true);
    expect(suite.sequences.every((s) => s.checks?.length === s.prompts.length)).toBe(true);
    expect(suite.judge).toEqual({
      model: 'judge',
      rubric: 'Prefer short, correct answers.',
      maxUnparsableRetries: 3,
    });
    expect(suite.models.map((m) => m.id)).toContain(suite.judge?.model);
  });

  it('scored: its script check runs on an answer', async () => {
    const suite = await loadSuite(`${EXAMPLES}scored.yaml`);
    const script = suite.sequences.flatMap((s) => (s.checks ?? []).flat()).filter((c) => c.kind === 'script');
    const question = [{ role: 'user' as const, content: 'Answer politely.' }];
    expect(await runChecks(script, 'Thanks for waiting.', question)).toEqual([
      { kind: 'script', passed: true, score: 1, reason: 'says please or thanks' },
    ]);
  });

  it('mt-bench-judged: the 80 questions with their references, judged by a model of the suite', async () => {
    const suite = await loadSuite(`${EXAMPLES}mt-bench-judged.yaml`);
    expect(suite.sequences).toHaveLength(80);
    expect(suite.sequences.some((s) => s.reference !== undefined)).toBe(true);
    expect(suite.judge).toEqual({ model: 'judge', maxUnparsableRetries: 3 });
    expect(suite.models.map((m) => m.id)).toContain('judge');
  });
});

describe('countTurns', () => {
  it('counts models × prompts × runs', async () => {
    const suite = await loadSuite(`${EXAMPLES}quickstart.yaml`);
    const prompts = suite.sequences.reduce((sum, s) => sum + s.prompts.length, 0);
    expect(countTurns(suite)).toEqual({
      models: 3,
      sequences: suite.sequences.length,
      prompts,
      runs: 3,
      conversations: 3 * suite.sequences.length * 3,
      turns: 3 * prompts * 3,
      longestSequence: 4,
    });
  });
});

describe('runValidate', () => {
  afterEach(() => {
    vi.unstubAllEnvs();
  });

  it('prints a summary of a valid suite', async () => {
    const lines: string[] = [];
    await runValidate({ suite: `${EXAMPLES}quickstart.yaml` }, (line) => lines.push(line));
    expect(lines[0]).toBe('suite quickstart');
    expect(lines.join('\n')).toMatch(
      /providers: fast-sim \(simulated, 40 ms\), slow-sim \(simulated, 150 ms\)/,
    );
    expect(lines.join('\n')).toMatch(/turns: +\d+ = 3 models × \d+ prompts × 3 runs/);
    expect(lines.at(-1)).toBe(`${EXAMPLES}quickstart.yaml: ok`);
  });

  it('throws an InputError when a key is missing, naming the variable', async () => {
    vi.stubEnv('OPENAI_API_KEY', '');
    vi.stubEnv('ANTHROPIC_API_KEY', 'set');
    const error = await runValidate({ suite: `${EXAMPLES}openai-and-anthropic.yaml` }, () => undefined).catch(
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(InputError);
    expect((error as InputError).message).toContain(
      'providers.openai.apiKeyEnv: environment variable OPENAI_API_KEY is empty',
    );
  });

  it('throws an InputError listing the problems of an invalid suite', async () => {
    const error = await runValidate({ suite: `${EXAMPLES}no-such-suite.yaml` }, () => undefined).catch(
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(InputError);
    expect((error as InputError).exitCode).toBe(2);
  });

  it('prints warnings before the summary', async () => {
    const lines: string[] = [];
    await runValidate(
      { suite: fileURLToPath(new URL('./fixtures/suites/unused-provider.yaml', import.meta.url)) },
      (l) => lines.push(l),
    );
    expect(lines[0]).toMatch(
      /^warning: .*unused-provider\.yaml:4:3: providers\.spare: no model uses this provider$/,
    );
  });
});
