import { existsSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli } from './helpers/cli.js';
import { tempDir } from './helpers/temp.js';

const VALID = `name: t
providers:
  sim: { type: simulated, latencyMs: 0 }
  oai: { type: openai, baseURL: "http://127.0.0.1:9/v1", apiKeyEnv: TROUPE_TEST_KEY }
models:
  - { id: a, provider: sim, model: m }
  - { id: b, provider: oai, model: m }
sequences:
  - { id: s1, prompts: ["one", "two"] }
`;

/** Each case: a suite text (or extra files), what the message must name. */
const CASES: readonly {
  name: string;
  suite: string;
  expect: readonly (string | RegExp)[];
  env?: Record<string, string>;
}[] = [
  { name: 'invalid YAML', suite: 'name: [unclosed\n', expect: [/suite\.yaml:\d+:\d+/] },
  {
    name: 'unknown key',
    suite: VALID.replace('name: t', 'name: t\nrunz: 2'),
    expect: ['suite.yaml:2', 'runz', 'runs'],
  },
  {
    name: 'missing field',
    suite: VALID.replace('model: m }\n  - { id: b', '}\n  - { id: b'),
    expect: ['models[0].model'],
  },
  {
    name: 'unknown provider',
    suite: VALID.replace('provider: oai', 'provider: oia'),
    expect: ['models[1].provider', '"oia"', 'oai'],
  },
  { name: 'duplicate ids', suite: VALID.replace('id: b,', 'id: a,'), expect: ['models[1].id', 'duplicate'] },
  { name: 'empty prompts', suite: VALID.replace('["one", "two"]', '[]'), expect: ['sequences[0].prompts'] },
  { name: 'blank prompt', suite: VALID.replace('"two"', '"  "'), expect: ['sequences[0].prompts[1]'] },
  { name: 'missing API key', suite: VALID, env: {}, expect: ['providers.oai.apiKeyEnv', 'TROUPE_TEST_KEY'] },
  {
    name: 'unreadable sequencesFile',
    suite: `${VALID}sequencesFile: missing.jsonl\n`,
    expect: ['sequencesFile', 'missing.jsonl'],
  },
  {
    name: 'malformed sequencesFile line',
    suite: `${VALID}sequencesFile: bad.jsonl\n`,
    expect: ['bad.jsonl:2'],
  },
  {
    name: 'runs beyond the limit',
    suite: VALID.replace('name: t', 'name: t\nruns: 1000000000'),
    expect: ['suite.yaml:2:7: runs: expected an integer from 1 to 10 000, found 1000000000'],
  },
  {
    name: 'a sequence of too many prompts',
    suite: VALID.replace('["one", "two"]', JSON.stringify(manyPrompts(1001))),
    expect: [
      'sequences[0].prompts: expected a list of 1 to 1 000 non-blank prompts',
      'found a list of 1 001',
    ],
  },
  {
    name: 'a job of too many turns',
    suite: `${VALID.replace('name: t', 'name: t\nruns: 10000')}${[1, 2, 3, 4, 5, 6]
      .map((n) => `  - { id: big${n}, prompts: ${JSON.stringify(manyPrompts(1000))} }\n`)
      .join('')}`,
    expect: [
      'suite.yaml:2:7: runs: expected a job of at most 100 000 000 turns, found 120 040 000 (2 models × 6 002 prompts × 10 000 runs)',
    ],
  },
];

function manyPrompts(count: number): string[] {
  return Array.from({ length: count }, (_, i) => `p${i}`);
}

describe('bad input: a clear message naming file and field, exit 2, nothing written', () => {
  let dir: Awaited<ReturnType<typeof tempDir>>;
  beforeAll(async () => {
    dir = await tempDir();
    await writeFile(join(dir.path, 'bad.jsonl'), '{"id":"x","prompts":["p"]}\n{"id":"y","prompts":\n');
  });
  afterAll(async () => dir.cleanup());

  for (const testCase of CASES) {
    it(testCase.name, async () => {
      const suitePath = join(dir.path, 'suite.yaml');
      await writeFile(suitePath, testCase.suite);
      const dataDir = join(dir.path, `data-${testCase.name.replace(/\W+/g, '-')}`);
      for (const command of [
        ['validate', suitePath],
        ['run', suitePath, '--data-dir', dataDir],
      ]) {
        const result = await runCli(command, testCase.env ?? { TROUPE_TEST_KEY: 'k-test' }, dir.path);
        expect(result.code, `${command[0]}: ${result.stderr}`).toBe(2);
        for (const part of testCase.expect) {
          if (typeof part === 'string') expect(result.stderr).toContain(part);
          else expect(result.stderr).toMatch(part);
        }
        expect(result.stderr).not.toContain('internal error');
      }
      expect(existsSync(dataDir), 'the store must not be created').toBe(false);
    });
  }

  it('a wrong flag is exit 2 with the usage hint', async () => {
    const result = await runCli(['run', '--bogus-flag', 'x.yaml']);
    expect(result.code).toBe(2);
    expect(result.stderr).toContain('bogus-flag');
  });

  it('a valid suite validates with exit 0 and a summary', async () => {
    const suitePath = join(dir.path, 'valid.yaml');
    await writeFile(suitePath, VALID);
    const result = await runCli(['validate', suitePath], { TROUPE_TEST_KEY: 'k-secret-value' });
    expect(result.stderr).toBe('');
    expect(result.code).toBe(0);
    expect(result.stdout).toMatch(/turns:\s+4/);
    expect(result.stdout + result.stderr).not.toContain('k-secret-value');
  });
});
