import { describe, expect, it } from 'vitest';
import { fileURLToPath } from 'node:url';
import { ExitCode, InputError } from '../src/errors.js';
import { DEFAULT_BREAKER, DEFAULT_RETRY, MAX_REPORTED_PROBLEMS } from '../src/suite/defaults.js';
import { loadSuite, loadSuiteFile, parseSuite, SuiteError, type LoadedSuite } from '../src/suite/load.js';
import type { Suite } from '../src/suite/types.js';

const FIXTURES = fileURLToPath(new URL('./fixtures/suites/', import.meta.url));

/** Parses `lines` as `fileName`; `files` are the sequences files it may name. */
function parse(lines: readonly string[], fileName = 'suite.yaml', files: Record<string, string> = {}) {
  return parseSuite(lines.join('\n'), fileName, async (relativePath) => {
    const text = files[relativePath];
    if (text === undefined) {
      throw Object.assign(new Error(`ENOENT: no such file or directory, open '${relativePath}'`), {
        code: 'ENOENT',
      });
    }
    return text;
  });
}

async function problemsOf(
  lines: readonly string[],
  fileName?: string,
  files?: Record<string, string>,
): Promise<readonly string[]> {
  let result: LoadedSuite;
  try {
    result = await parse(lines, fileName, files);
  } catch (error) {
    expect(error).toBeInstanceOf(SuiteError);
    expect((error as SuiteError).exitCode).toBe(ExitCode.badInput);
    return (error as SuiteError).problems;
  }
  throw new Error(`expected problems, got a suite: ${JSON.stringify(result.suite)}`);
}

const PROVIDERS = ['providers:', '  sim: { type: simulated }'];
const MODELS = ['models:', '  - { id: m1, provider: sim, model: x }'];
const SEQUENCES = ['sequences:', '  - { id: s1, prompts: [hello] }'];
const VALID = ['name: t', ...PROVIDERS, ...MODELS, ...SEQUENCES];

interface ErrorCase {
  readonly name: string;
  readonly lines: readonly string[];
  readonly fileName?: string;
  readonly files?: Record<string, string>;
  /** Lines that must be among the problems, exactly. */
  readonly expected: readonly string[];
}

const ERROR_CASES: readonly ErrorCase[] = [
  {
    name: 'invalid YAML syntax, with its position',
    lines: ['name: t', 'providers:', '  sim: { type: simulated', ...MODELS],
    expected: [
      'suite.yaml:4:1: invalid YAML: Flow map in block collection must be sufficiently indented and end with a }',
    ],
  },
  {
    name: 'a duplicate YAML key',
    lines: [...VALID, 'name: u'],
    expected: ['suite.yaml:8:1: invalid YAML: Map keys must be unique'],
  },
  {
    name: 'invalid JSON syntax, with its position',
    fileName: 'suite.json',
    lines: ['{"name": "t",', '  "runs": 2,', '}'],
    expected: ['suite.json:3:1: invalid JSON: Expected double-quoted property name in JSON at position 27'],
  },
  {
    name: 'a top level that is not a mapping',
    lines: ['- name: t'],
    expected: ['suite.yaml:1:1: top level: expected a mapping, found a list'],
  },
  {
    name: 'an empty file',
    lines: ['# nothing here'],
    expected: ['suite.yaml: top level: expected a mapping, found an empty value'],
  },
  {
    name: 'an unknown top-level key, with a suggestion',
    lines: [...VALID, 'run: 3'],
    expected: ['suite.yaml:8:1: run: unknown key (did you mean "runs"?)'],
  },
  {
    name: 'an unknown model key, with a suggestion',
    lines: [
      ...VALID.slice(0, 3),
      'models:',
      '  - { id: m1, provider: sim, model: x, maxToken: 256 }',
      ...SEQUENCES,
    ],
    expected: ['suite.yaml:5:40: models[0].maxToken: unknown key (did you mean "maxTokens"?)'],
  },
  {
    name: 'an unknown key with nothing close',
    lines: [
      ...VALID.slice(0, 3),
      'models:',
      '  - { id: m1, provider: sim, model: x, colour: red }',
      ...SEQUENCES,
    ],
    expected: [
      'suite.yaml:5:40: models[0].colour: unknown key (expected one of: id, provider, model, temperature, maxTokens, system, pricePerMillionTokens)',
    ],
  },
  {
    name: 'a key of another provider type',
    lines: [
      'name: t',
      'providers:',
      '  sim: { type: simulated, baseURL: "http://x" }',
      ...MODELS,
      ...SEQUENCES,
    ],
    expected: [
      'suite.yaml:3:27: providers.sim.baseURL: unknown key for a provider of type simulated (expected one of: type, limits, retry, breaker, sharedLimits, latencyMs)',
    ],
  },
  {
    name: 'missing required fields',
    lines: ['name: t', ...PROVIDERS, 'models:', '  - { id: m1, provider: sim }'],
    expected: [
      'suite.yaml:5:5: models[0].model: missing (expected a non-blank string)',
      'suite.yaml:1:1: sequences: missing (expected a non-empty list of sequences, or a sequencesFile)',
    ],
  },
  {
    name: 'missing providers and models',
    lines: ['name: t', ...SEQUENCES],
    expected: [
      'suite.yaml:1:1: providers: missing (expected a mapping of provider ids to providers)',
      'suite.yaml:1:1: models: missing (expected a non-empty list of models)',
    ],
  },
  {
    name: 'a wrong type',
    lines: [
      'name: t',
      'runs: three',
      ...PROVIDERS,
      ...MODELS,
      'sequences:',
      '  - { id: s1, prompts: hello }',
    ],
    expected: [
      'suite.yaml:2:7: runs: expected an integer from 1 to 10 000, found "three"',
      'suite.yaml:8:24: sequences[0].prompts: expected a list of 1 to 1 000 non-blank prompts (strings, or { prompt, expect }), found "hello"',
    ],
  },
  {
    name: 'runs of zero',
    lines: [...VALID, 'runs: 0'],
    expected: ['suite.yaml:8:7: runs: expected an integer from 1 to 10 000, found 0'],
  },
  {
    name: 'runs that is not an integer',
    lines: [...VALID, 'runs: 1.5'],
    expected: ['suite.yaml:8:7: runs: expected an integer from 1 to 10 000, found 1.5'],
  },
  {
    name: 'an empty value',
    lines: [...VALID, 'runs:'],
    expected: ['suite.yaml:8:6: runs: expected an integer from 1 to 10 000, found an empty value'],
  },
  {
    name: 'zero and negative limits',
    lines: [
      'name: t',
      'providers:',
      '  sim:',
      '    type: simulated',
      '    limits: { requestsPerMinute: 0, tokensPerMinute: -5, maxConcurrency: 2 }',
      ...MODELS,
      ...SEQUENCES,
    ],
    expected: [
      'suite.yaml:5:34: providers.sim.limits.requestsPerMinute: expected a positive integer, found 0',
      'suite.yaml:5:54: providers.sim.limits.tokensPerMinute: expected a positive integer, found -5',
    ],
  },
  {
    name: 'a temperature outside 0–2',
    lines: [
      ...PROVIDERS,
      'models:',
      '  - { id: m1, provider: sim, model: x, temperature: 2.5 }',
      ...SEQUENCES,
    ],
    expected: ['suite.yaml:4:53: models[0].temperature: expected a number from 0 to 2, found 2.5'],
  },
  {
    name: 'a negative temperature',
    lines: [
      ...PROVIDERS,
      'models:',
      '  - { id: m1, provider: sim, model: x, temperature: -0.1 }',
      ...SEQUENCES,
    ],
    expected: ['suite.yaml:4:53: models[0].temperature: expected a number from 0 to 2, found -0.1'],
  },
  {
    name: 'a temperature above 1 for anthropic',
    lines: [
      'providers:',
      '  claude: { type: anthropic }',
      'models:',
      '  - { id: m1, provider: claude, model: x, temperature: 1.5 }',
      ...SEQUENCES,
    ],
    expected: [
      'suite.yaml:4:56: models[0].temperature: expected a number from 0 to 1 for an anthropic provider, found 1.5',
    ],
  },
  {
    name: 'an unknown provider type',
    lines: [
      'providers:',
      '  oai: { type: opanai }',
      ...MODELS.slice(0, 1),
      '  - { id: m1, provider: oai, model: x }',
      ...SEQUENCES,
    ],
    expected: [
      'suite.yaml:2:16: providers.oai.type: expected one of: simulated, openai, anthropic, found "opanai" (did you mean "openai"?)',
    ],
  },
  {
    name: 'a model naming an unknown provider',
    lines: [
      'providers:',
      '  sim: { type: simulated }',
      '  oai: { type: openai }',
      '  claude: { type: anthropic }',
      'models:',
      '  - { id: m1, provider: sim, model: x }',
      '  - { id: m2, provider: oai, model: x }',
      '  - { id: m3, provider: oa, model: x }',
      '  - { id: m4, provider: claude, model: x }',
      ...SEQUENCES,
    ],
    expected: [
      'suite.yaml:8:25: models[2].provider: unknown provider "oa" (expected one of: sim, oai, claude; did you mean "oai"?)',
    ],
  },
  {
    name: 'duplicate model ids, even when the entry has other problems',
    lines: [
      ...PROVIDERS,
      'models:',
      '  - { id: m1, provider: sim, model: x }',
      '  - { id: m1, provider: sim, model: "" }',
      ...SEQUENCES,
    ],
    expected: [
      'suite.yaml:5:11: models[1].id: duplicate model id "m1" (first used at models[0].id)',
      'suite.yaml:5:37: models[1].model: expected a non-blank string, found ""',
    ],
  },
  {
    name: 'duplicate sequence ids',
    lines: [...PROVIDERS, ...MODELS, ...SEQUENCES, '  - { id: s1, prompts: [again] }'],
    expected: [
      'suite.yaml:7:11: sequences[1].id: duplicate sequence id "s1" (first used at suite.yaml:6:11, sequences[0].id)',
    ],
  },
  {
    name: 'a sequence id used inline and in the sequences file',
    lines: [...PROVIDERS, ...MODELS, ...SEQUENCES, 'sequencesFile: more.jsonl'],
    files: { 'more.jsonl': '{"id": "s2", "prompts": ["a"]}\n{"id": "s1", "prompts": ["b"]}\n' },
    expected: [
      'more.jsonl:2: id: duplicate sequence id "s1" (first used at suite.yaml:6:11, sequences[0].id)',
    ],
  },
  {
    name: 'an MT-Bench question id used twice in the sequences file',
    lines: [...PROVIDERS, ...MODELS, 'sequencesFile: q.jsonl'],
    files: { 'q.jsonl': '{"question_id": 81, "turns": ["a"]}\n\n{"question_id": 81, "turns": ["b"]}\n' },
    expected: ['q.jsonl:3: question_id: duplicate sequence id "81" (first used at q.jsonl:1, question_id)'],
  },
  {
    name: 'an empty prompts list',
    lines: [...PROVIDERS, ...MODELS, 'sequences:', '  - { id: s1, prompts: [] }'],
    expected: [
      'suite.yaml:6:24: sequences[0].prompts: expected a list of 1 to 1 000 non-blank prompts (strings, or { prompt, expect }), found an empty list',
    ],
  },
  {
    name: 'a blank prompt',
    lines: [
      ...PROVIDERS,
      ...MODELS,
      'sequences:',
      '  - id: s1',
      '    prompts:',
      '      - first',
      '      - "   "',
    ],
    expected: ['suite.yaml:9:9: sequences[0].prompts[1]: expected a non-blank prompt (string), found "   "'],
  },
  {
    name: 'an empty sequences list and no sequences file',
    lines: [...PROVIDERS, ...MODELS, 'sequences: []'],
    expected: ['suite.yaml:5:12: sequences: expected a non-empty list of sequences, found an empty list'],
  },
  {
    name: 'ids with characters outside letters, digits and ._-',
    lines: [
      'providers:',
      '  "my sim": { type: simulated }',
      'models:',
      '  - { id: "m/1", provider: "my sim", model: x }',
      'sequences:',
      '  - { id: "", prompts: [a] }',
      '  - { id: "..", prompts: [a] }',
    ],
    expected: [
      'suite.yaml:2:3: providers["my sim"]: expected an id (letters, digits, ".", "_" or "-", at most 128 characters) as provider id',
      'suite.yaml:4:11: models[0].id: expected an id (letters, digits, ".", "_" or "-", at most 128 characters), found "m/1"',
      'suite.yaml:6:11: sequences[0].id: expected an id (letters, digits, ".", "_" or "-", at most 128 characters), found ""',
      'suite.yaml:7:11: sequences[1].id: expected an id (letters, digits, ".", "_" or "-", at most 128 characters), found ".."',
    ],
  },
  {
    name: 'an unreadable sequences file',
    lines: [...PROVIDERS, ...MODELS, 'sequencesFile: data/missing.jsonl'],
    fileName: 'suites/suite.yaml',
    expected: [
      'suites/suite.yaml:5:16: sequencesFile: cannot read "suites/data/missing.jsonl": no such file (ENOENT)',
    ],
  },
  {
    name: 'malformed lines in the sequences file, with their own path and line',
    lines: [...PROVIDERS, ...MODELS, 'sequencesFile: data/q.jsonl'],
    fileName: 'suites/suite.yaml',
    files: {
      'data/q.jsonl': [
        '{"id": "a", "prompts": ["x"]}',
        '{"id": "b", "prompts": ["x", ""]}',
        '{"id": "c" "prompts": []}',
        '["not", "an", "object"]',
        '{"question_id": 7, "categry": "math", "turns": ["x"]}',
        '{"question_id": 8, "turns": ["x", "y"], "reference": ["1", "2", "3"]}',
        '{"prompts": ["x"]}',
      ].join('\n'),
    },
    expected: [
      'suites/data/q.jsonl:2: prompts[1]: expected a non-blank prompt (string), found ""',
      "suites/data/q.jsonl:3:12: invalid JSON: Expected ',' or '}' after property value in JSON at position 11",
      'suites/data/q.jsonl:4: expected a mapping, found a list',
      'suites/data/q.jsonl:5: categry: unknown key for an MT-Bench question (did you mean "category"?)',
      'suites/data/q.jsonl:6: reference: expected at most one reference answer per prompt (2 in turns), found 3',
      'suites/data/q.jsonl:7: id: missing (expected an id (letters, digits, ".", "_" or "-", at most 128 characters))',
    ],
  },
  {
    name: 'a sequences file without sequences',
    lines: [...PROVIDERS, ...MODELS, 'sequencesFile: empty.jsonl'],
    files: { 'empty.jsonl': '\n\n' },
    expected: [
      'suite.yaml:5:16: sequencesFile: "empty.jsonl" holds no sequences (expected one JSON object a line)',
    ],
  },
  {
    name: 'a retry whose largest delay is below its first',
    lines: [
      'providers:',
      '  sim: { type: simulated, retry: { baseDelayMs: 1000, maxDelayMs: 10, maxAttempts: 0 } }',
      ...MODELS,
      ...SEQUENCES,
    ],
    expected: [
      'suite.yaml:2:67: providers.sim.retry.maxDelayMs: expected at least baseDelayMs (1000), found 10',
      'suite.yaml:2:84: providers.sim.retry.maxAttempts: expected a positive integer, found 0',
    ],
  },
  {
    name: 'a breaker failure ratio outside (0, 1]',
    lines: [
      'providers:',
      '  sim: { type: simulated, breaker: { failureRatio: 1.5 } }',
      ...MODELS,
      ...SEQUENCES,
    ],
    expected: [
      'suite.yaml:2:52: providers.sim.breaker.failureRatio: expected a number greater than 0 and at most 1, found 1.5',
    ],
  },
  {
    name: 'a baseURL that is not an http URL',
    lines: [
      'providers:',
      '  oai: { type: openai, baseURL: "localhost:8080" }',
      ...MODELS.slice(0, 1),
      '  - { id: m1, provider: oai, model: x }',
      ...SEQUENCES,
    ],
    expected: [
      'suite.yaml:2:33: providers.oai.baseURL: expected an http:// or https:// URL, found "localhost:8080"',
    ],
  },
  {
    name: 'a baseURL with credentials, without showing them',
    lines: [
      'providers:',
      '  oai: { type: openai, baseURL: "https://user:s3cret@example.com/v1" }',
      ...MODELS.slice(0, 1),
      '  - { id: m1, provider: oai, model: x }',
      ...SEQUENCES,
    ],
    expected: [
      'suite.yaml:2:33: providers.oai.baseURL: expected an http:// or https:// URL without credentials, found one with "user:password@" (not shown); put the key in the variable apiKeyEnv names',
    ],
  },
  {
    name: 'a timer longer than Node can wait',
    lines: [
      'providers:',
      '  sim: { type: simulated, retry: { timeoutMs: 3000000000, maxPauseMs: 0 }, breaker: { coolDownMs: 2147483648 } }',
      ...MODELS,
      ...SEQUENCES,
    ],
    expected: [
      'suite.yaml:2:47: providers.sim.retry.timeoutMs: expected an integer from 1 to 2147483647 (ms; timers cannot wait longer), found 3000000000',
      'suite.yaml:2:71: providers.sim.retry.maxPauseMs: expected an integer from 1 to 2147483647 (ms; timers cannot wait longer), found 0',
      'suite.yaml:2:99: providers.sim.breaker.coolDownMs: expected an integer from 1 to 2147483647 (ms; timers cannot wait longer), found 2147483648',
    ],
  },
];

describe('suite problems', () => {
  it.each(ERROR_CASES)('reports $name', async ({ lines, fileName, files, expected }) => {
    const problems = await problemsOf(lines, fileName, files);
    expect(problems).toEqual(expect.arrayContaining([...expected]));
  });

  it('reports every problem in a file, not only the first, in file order', async () => {
    const problems = await problemsOf([
      'runs: 0',
      'providers:',
      '  sim: { type: simulated, latencyMs: -1 }',
      'models:',
      '  - { id: m1, provider: sim, model: x, temperature: 9 }',
      'sequences:',
      '  - { id: s1, prompts: [""] }',
    ]);
    expect(problems).toEqual([
      'suite.yaml:1:7: runs: expected an integer from 1 to 10 000, found 0',
      'suite.yaml:3:38: providers.sim.latencyMs: expected a number ≥ 0, found -1',
      'suite.yaml:5:53: models[0].temperature: expected a number from 0 to 2, found 9',
      'suite.yaml:7:25: sequences[0].prompts[0]: expected a non-blank prompt (string), found ""',
    ]);
  });

  it('lists at most MAX_REPORTED_PROBLEMS in the message and counts the rest', async () => {
    const models = Array.from(
      { length: 25 },
      (_, i) => `  - { id: m${i}, provider: sim, model: x, maxTokens: 0 }`,
    );
    const error = await parse([...PROVIDERS, 'models:', ...models, ...SEQUENCES]).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(InputError);
    const message = (error as SuiteError).message.split('\n');
    expect(message).toHaveLength(MAX_REPORTED_PROBLEMS + 1);
    expect(message[0]).toBe('suite.yaml:4:51: models[0].maxTokens: expected a positive integer, found 0');
    expect(message.at(-1)).toBe('… and 5 more problems');
    expect((error as SuiteError).problems).toHaveLength(25);
  });

  it('never echoes an apiKeyEnv that is not a variable name: it may be the key itself', async () => {
    const problems = await problemsOf([
      'providers:',
      '  oai: { type: openai, apiKeyEnv: "sk-proj-abc123secret" }',
      'models:',
      '  - { id: m1, provider: oai, model: x }',
      ...SEQUENCES,
    ]);
    expect(problems).toEqual([
      'suite.yaml:2:35: providers.oai.apiKeyEnv: expected an environment variable name (letters, digits, "_"), not the key itself, found a string that is not a variable name (not shown)',
    ]);
    expect(problems.join('\n')).not.toContain('abc123secret');
  });

  it('reports an unreadable suite file', async () => {
    const error = await loadSuite(`${FIXTURES}does-not-exist.yaml`).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(SuiteError);
    expect((error as SuiteError).message).toBe(
      `${FIXTURES}does-not-exist.yaml: cannot read the suite file: no such file (ENOENT)`,
    );
  });
});

describe('suite warnings', () => {
  it('warns about a provider no model uses, without failing', async () => {
    const { suite, warnings } = await parse([
      'name: t',
      'providers:',
      '  sim: { type: simulated }',
      '  spare: { type: openai }',
      ...MODELS,
      ...SEQUENCES,
    ]);
    expect(Object.keys(suite.providers)).toEqual(['sim', 'spare']);
    expect(warnings).toEqual(['suite.yaml:4:3: providers.spare: no model uses this provider']);
  });
});

describe('suite defaults', () => {
  it('fills every default of a minimal suite', async () => {
    const { suite } = await parse(
      [
        'providers:',
        '  sim: { type: simulated }',
        '  oai: { type: openai }',
        '  claude: { type: anthropic }',
        'models:',
        '  - { id: a, provider: sim, model: x }',
        '  - { id: b, provider: oai, model: y }',
        '  - { id: c, provider: claude, model: z }',
        ...SEQUENCES,
      ],
      'examples/minimal.yaml',
    );
    const expected: Suite = {
      name: 'minimal',
      runs: 1,
      providers: {
        sim: { type: 'simulated', latencyMs: 50, retry: DEFAULT_RETRY, breaker: DEFAULT_BREAKER },
        oai: { type: 'openai', apiKeyEnv: 'OPENAI_API_KEY', retry: DEFAULT_RETRY, breaker: DEFAULT_BREAKER },
        claude: {
          type: 'anthropic',
          apiKeyEnv: 'ANTHROPIC_API_KEY',
          retry: DEFAULT_RETRY,
          breaker: DEFAULT_BREAKER,
        },
      },
      models: [
        { id: 'a', provider: 'sim', model: 'x', maxTokens: 1024 },
        { id: 'b', provider: 'oai', model: 'y', maxTokens: 1024 },
        { id: 'c', provider: 'claude', model: 'z', maxTokens: 1024 },
      ],
      sequences: [{ id: 's1', prompts: ['hello'] }],
    };
    expect(suite).toStrictEqual(expected);
    expect(DEFAULT_RETRY).toEqual({
      maxAttempts: 6,
      baseDelayMs: 500,
      maxDelayMs: 30_000,
      timeoutMs: 120_000,
      maxPauseMs: 900_000,
    });
    expect(DEFAULT_BREAKER).toEqual({
      consecutiveFailures: 5,
      failureRatio: 0.5,
      windowMs: 30_000,
      minRequests: 10,
      coolDownMs: 5_000,
      maxCoolDownMs: 120_000,
      probesToClose: 2,
    });
  });

  it('completes a partial retry and breaker with the defaults', async () => {
    const { suite } = await parse([
      'providers:',
      '  sim: { type: simulated, retry: { maxAttempts: 2 }, breaker: { probesToClose: 1 } }',
      ...MODELS,
      ...SEQUENCES,
    ]);
    expect(suite.providers.sim?.retry).toEqual({ ...DEFAULT_RETRY, maxAttempts: 2 });
    expect(suite.providers.sim?.breaker).toEqual({ ...DEFAULT_BREAKER, probesToClose: 1 });
  });
});

describe('suite formats', () => {
  it('gives equal suites from YAML and JSON, with both sequences-file line formats', async () => {
    const fromYaml = await loadSuiteFile(`${FIXTURES}both-formats.yaml`);
    const fromJson = await loadSuiteFile(`${FIXTURES}both-formats.json`);
    expect(fromJson).toStrictEqual(fromYaml);
    expect(fromYaml.warnings).toEqual([]);
    expect(fromYaml.suite.sequences).toStrictEqual([
      { id: 'inline', system: 'You count.', prompts: ['One.', 'Two.'] },
      { id: 'native', system: 'You are terse.', prompts: ['Name a colour.', 'Name another one.'] },
      { id: '81', prompts: ['Write a line.', 'Rewrite it.'], category: 'writing' },
      {
        id: '101',
        prompts: ['Who is second?', 'And last?'],
        category: 'reasoning',
        reference: ['You are second.', ''],
      },
    ]);
    expect(fromYaml.suite.providers.oai).toStrictEqual({
      type: 'openai',
      baseURL: 'http://127.0.0.1:8080/v1',
      apiKeyEnv: 'OPENAI_API_KEY',
      limits: { requestsPerMinute: 60, maxConcurrency: 2 },
      retry: { ...DEFAULT_RETRY, maxAttempts: 3 },
      breaker: { ...DEFAULT_BREAKER, coolDownMs: 1000 },
    });
  });

  it('holds a .json file to JSON even where YAML would accept it', async () => {
    const problems = await problemsOf(['{"name": "t", # a comment', '}'], 'suite.json');
    expect(problems).toHaveLength(1);
    expect(problems[0]).toMatch(/^suite\.json:1:1[45]: invalid JSON: /);
  });
});

describe('model prices', () => {
  const base = `name: p
providers:
  sim: { type: simulated }
models:
  - { id: m, provider: sim, model: x, PRICES }
sequences:
  - { id: s, prompts: ["a"] }
`;
  const parse = (prices: string) =>
    parseSuite(base.replace('PRICES', prices), 'p.yaml', () => Promise.reject(new Error('none')));

  it('accepts input and output prices per million tokens', async () => {
    const { suite } = await parse('pricePerMillionTokens: { input: 0.15, output: 0.6 }');
    expect(suite.models[0]?.pricePerMillionTokens).toEqual({ input: 0.15, output: 0.6 });
  });

  it('names a missing or negative price', async () => {
    await expect(parse('pricePerMillionTokens: { input: 0.15 }')).rejects.toThrow(
      /models\[0\]\.pricePerMillionTokens\.output/,
    );
    await expect(parse('pricePerMillionTokens: { input: -1, output: 1 }')).rejects.toThrow(
      /models\[0\]\.pricePerMillionTokens\.input/,
    );
  });
});

/** A suite whose one sequence has `sequence` lines (indented as its entry's fields) after its id. */
function scoredSuite(sequence: readonly string[], extra: readonly string[] = []): string[] {
  return [...PROVIDERS, ...MODELS, 'sequences:', '  - id: s1', ...sequence, ...extra];
}

const CHECK_KINDS = 'contains, notContains, regex, equals, json, maxLength, script';

const JSON_FORMATS =
  '"date", "time", "date-time", "iso-time", "iso-date-time", "duration", "uri", "uri-reference", "uri-template", "url", "email", "hostname", "ipv4", "ipv6", "regex", "uuid", "json-pointer", "json-pointer-uri-fragment", "relative-json-pointer", "byte", "int32", "int64", "float", "double", "password", "binary"';

const CHECK_ERROR_CASES: readonly ErrorCase[] = [
  {
    name: 'a prompt mapping without its prompt',
    lines: scoredSuite(['    prompts: [{ expect: { contains: a } }]']),
    expected: [
      'suite.yaml:7:15: sequences[0].prompts[0].prompt: missing (expected a non-blank prompt (string))',
    ],
  },
  {
    name: 'an unknown key in a prompt mapping',
    lines: scoredSuite(['    prompts: [{ prompt: hi, expects: { contains: a } }]']),
    expected: [
      'suite.yaml:7:29: sequences[0].prompts[0].expects: unknown key for a prompt with checks (did you mean "expect"?)',
    ],
  },
  {
    name: 'a blank prompt in a prompt mapping',
    lines: scoredSuite(['    prompts:', '      - { prompt: " ", expect: { contains: a } }']),
    expected: [
      'suite.yaml:8:19: sequences[0].prompts[0].prompt: expected a non-blank prompt (string), found " "',
    ],
  },
  {
    name: 'an expect that is not a check',
    lines: scoredSuite(['    prompts: [hi]', '    expect: contains']),
    expected: [
      `suite.yaml:8:13: sequences[0].expect: expected a check: a mapping with one of ${CHECK_KINDS}, found "contains"`,
    ],
  },
  {
    name: 'an unknown check kind',
    lines: scoredSuite(['    prompts: [hi]', '    expect: { contain: a }']),
    expected: [
      `suite.yaml:8:13: sequences[0].expect: expected one check kind (${CHECK_KINDS}), found a mapping`,
    ],
  },
  {
    name: 'two kinds in one check, in a list',
    lines: scoredSuite(['    prompts: [hi]', '    expect: [{ maxLength: 9 }, { contains: a, regex: b }]']),
    expected: [
      'suite.yaml:8:32: sequences[0].expect[1]: expected one check kind per check, found contains and regex',
    ],
  },
  {
    name: 'a misspelt option, with a suggestion',
    lines: scoredSuite(['    prompts: [hi]', '    expect: { contains: a, ignorecase: true }']),
    expected: [
      'suite.yaml:8:28: sequences[0].expect.ignorecase: unknown key for a contains check (did you mean "ignoreCase"?)',
    ],
  },
  {
    name: 'an option of another kind',
    lines: scoredSuite(['    prompts: [hi]', '    expect: { equals: a, flags: i }']),
    expected: [
      'suite.yaml:8:26: sequences[0].expect.flags: unknown key for a equals check (expected one of: equals, trim)',
    ],
  },
  {
    name: 'an empty contains and a non-boolean ignoreCase',
    lines: scoredSuite([
      '    prompts:',
      '      - { prompt: hi, expect: { notContains: "", ignoreCase: "yes" } }',
    ]),
    expected: [
      'suite.yaml:8:46: sequences[0].prompts[0].expect.notContains: expected a non-empty string, found ""',
      'suite.yaml:8:62: sequences[0].prompts[0].expect.ignoreCase: expected true or false, found "yes"',
    ],
  },
  {
    name: 'a regex that does not compile',
    lines: scoredSuite(['    prompts: [hi]', '    expect: { regex: "(" }']),
    expected: [
      'suite.yaml:8:22: sequences[0].expect.regex: expected a valid regular expression, found "(" (Invalid regular expression: /(/: Unterminated group)',
    ],
  },
  {
    name: 'regex flags outside gimsuy, or repeated',
    lines: scoredSuite([
      '    prompts: [hi]',
      '    expect: [{ regex: a, flags: q }, { regex: a, flags: ii }]',
    ]),
    expected: [
      'suite.yaml:8:33: sequences[0].expect[0].flags: expected regex flags: some of g, i, m, s, u, y, each at most once, found "q"',
      'suite.yaml:8:57: sequences[0].expect[1].flags: expected regex flags: some of g, i, m, s, u, y, each at most once, found "ii"',
    ],
  },
  {
    name: 'an equals that is not a string, and a trim that is not a boolean',
    lines: scoredSuite(['    prompts: [hi]', '    expect: { equals: 42, trim: 1 }']),
    expected: [
      'suite.yaml:8:23: sequences[0].expect.equals: expected a string, found 42',
      'suite.yaml:8:33: sequences[0].expect.trim: expected true or false, found 1',
    ],
  },
  {
    name: 'a json check that is neither true nor a schema',
    lines: scoredSuite([
      '    prompts: [hi]',
      '    expect: [{ json: false }, { json: { shema: {} } }, { json: { schema: [] } }]',
    ]),
    expected: [
      'suite.yaml:8:22: sequences[0].expect[0].json: expected true, or { schema: <a JSON Schema> }, found false',
      'suite.yaml:8:39: sequences[0].expect[1].json.schema: missing (expected a JSON Schema (a mapping))',
      'suite.yaml:8:41: sequences[0].expect[1].json.shema: unknown key for json check options (did you mean "schema"?)',
      'suite.yaml:8:74: sequences[0].expect[2].json.schema: expected a JSON Schema (a mapping), found an empty list',
    ],
  },
  {
    name: 'a JSON Schema keyword outside draft-07, at any depth, an unknown format and a malformed type',
    lines: scoredSuite([
      '    prompts: [hi]',
      '    expect:',
      '      json:',
      '        schema:',
      '          type: obj',
      '          properties:',
      '            email: { type: string, format: emial, maxLenght: 80 }',
      '          items: [{ type: string }]',
      '          $reff: "#/x"',
    ]),
    expected: [
      'suite.yaml:11:17: sequences[0].expect.json.schema.type: expected one of "array", "boolean", "integer", "null", "number", "object", "string" or a list, found "obj"',
      `suite.yaml:13:44: sequences[0].expect.json.schema.properties.email.format: expected one of ${JSON_FORMATS}, found "emial"`,
      'suite.yaml:13:51: sequences[0].expect.json.schema.properties.email.maxLenght: unknown keyword of JSON Schema draft-07 (did you mean "maxLength"?)',
      'suite.yaml:15:11: sequences[0].expect.json.schema["$reff"]: unknown keyword of JSON Schema draft-07 (did you mean "$ref"?)',
    ],
  },
  {
    name: 'a JSON Schema reference that does not resolve',
    lines: scoredSuite([
      '    prompts: [hi]',
      '    expect: { json: { schema: { properties: { a: { $ref: "#/definitions/a" } } } } }',
    ]),
    expected: [
      "suite.yaml:8:31: sequences[0].expect.json.schema: can't resolve reference #/definitions/a from id #",
    ],
  },
  {
    name: 'a maxLength that is not a positive integer',
    lines: scoredSuite([
      '    prompts: [hi]',
      '    expect: [{ maxLength: 0 }, { maxLength: 2.5 }, { maxLength: "100" }]',
    ]),
    expected: [
      'suite.yaml:8:27: sequences[0].expect[0].maxLength: expected a positive integer, found 0',
      'suite.yaml:8:45: sequences[0].expect[1].maxLength: expected a positive integer, found 2.5',
      'suite.yaml:8:65: sequences[0].expect[2].maxLength: expected a positive integer, found "100"',
    ],
  },
  {
    name: 'a blank script path',
    lines: scoredSuite(['    prompts: [hi]', '    expect: { script: "" }']),
    expected: ['suite.yaml:8:23: sequences[0].expect.script: expected a non-blank string, found ""'],
  },
  {
    name: 'a check in a sequences file line, placed at its line and path',
    lines: [...PROVIDERS, ...MODELS, 'sequencesFile: q.jsonl'],
    files: {
      'q.jsonl': [
        '{"id": "a", "prompts": ["x"], "expect": {"contains": "x"}}',
        '{"id": "b", "prompts": [{"prompt": "x", "expect": {"regex": "("}}]}',
        '{"id": "c", "prompts": ["x"], "expect": [{"maxLength": -1}]}',
        '{"question_id": 9, "turns": ["x"], "expect": {"contains": "x"}}',
      ].join('\n'),
    },
    expected: [
      'q.jsonl:2: prompts[0].expect.regex: expected a valid regular expression, found "(" (Invalid regular expression: /(/: Unterminated group)',
      'q.jsonl:3: expect[0].maxLength: expected a positive integer, found -1',
      'q.jsonl:4: expect: unknown key for an MT-Bench question (expected one of: question_id, category, turns, reference)',
    ],
  },
  {
    name: 'a judge that is not a mapping',
    lines: [...VALID, 'judge: m1'],
    expected: ['suite.yaml:8:8: judge: expected a mapping, found "m1"'],
  },
  {
    name: 'a judge without a model, with an unknown key',
    lines: [...VALID, 'judge: { rubrik: Be fair. }'],
    expected: [
      'suite.yaml:8:8: judge.model: missing (expected a non-blank string)',
      'suite.yaml:8:10: judge.rubrik: unknown key (did you mean "rubric"?)',
    ],
  },
  {
    name: 'a judge model that is not a model of the suite, naming the known ones',
    lines: [
      ...PROVIDERS,
      'models:',
      '  - { id: gpt, provider: sim, model: x }',
      '  - { id: claude, provider: sim, model: y }',
      ...SEQUENCES,
      'judge:',
      '  model: claud',
    ],
    expected: [
      'suite.yaml:9:10: judge.model: unknown model "claud" (expected a model id of this suite: gpt, claude; did you mean "claude"?)',
    ],
  },
  {
    name: 'a judge model with nothing close',
    lines: [...VALID, 'judge: { model: referee }'],
    expected: [
      'suite.yaml:8:17: judge.model: unknown model "referee" (expected a model id of this suite: m1)',
    ],
  },
  {
    name: 'a judge with a blank rubric and a bad retry count',
    lines: [...VALID, 'judge:', '  model: m1', '  rubric: ""', '  maxUnparsableRetries: -1'],
    expected: [
      'suite.yaml:10:11: judge.rubric: expected a non-blank string, found ""',
      'suite.yaml:11:25: judge.maxUnparsableRetries: expected an integer ≥ 0, found -1',
    ],
  },
];

describe('checks and the judge in a suite', () => {
  it.each(CHECK_ERROR_CASES)('reports $name', async ({ lines, fileName, files, expected }) => {
    const problems = await problemsOf(lines, fileName, files);
    expect(problems).toEqual([...expected]);
  });

  it('reports a script check whose module cannot be read, where it is named, with the resolved path', async () => {
    const fileName = `${FIXTURES}suite.yaml`;
    const problems = await problemsOf(
      scoredSuite(
        ['    prompts:', '      - { prompt: hi, expect: { script: ./nope.mjs } }', '      - bye'],
        ['    expect: [{ script: ./checks }]', 'sequencesFile: q.jsonl'],
      ),
      fileName,
      {
        'q.jsonl':
          '{"id": "a", "prompts": ["x"]}\n{"id": "b", "prompts": ["x"], "expect": {"script": "gone.mjs"}}\n',
      },
    );
    expect(problems).toEqual([
      `${fileName}:8:41: sequences[0].prompts[0].expect.script: expected a readable JS module (its path relative to the suite file), found "./nope.mjs": cannot read ${FIXTURES}nope.mjs: no such file (ENOENT)`,
      `${fileName}:10:24: sequences[0].expect[0].script: expected a readable JS module (its path relative to the suite file), found "./checks": cannot read ${FIXTURES}checks: it is not a file`,
      `${FIXTURES}q.jsonl:2: expect.script: expected a readable JS module (its path relative to the suite file), found "gone.mjs": cannot read ${FIXTURES}gone.mjs: no such file (ENOENT)`,
    ]);
  });

  it('gives every prompt its own checks, then the sequence’s, with the options’ defaults', async () => {
    const { suite } = await parse(
      scoredSuite([
        '    prompts:',
        '      - { prompt: one, expect: [{ contains: a, ignoreCase: true }, { regex: "^x" }] }',
        '      - two',
        '      - { prompt: three, expect: { equals: " yes " } }',
        '    expect: { maxLength: 100 }',
      ]),
    );
    expect(suite.sequences[0]?.prompts).toEqual(['one', 'two', 'three']);
    expect(suite.sequences[0]?.checks).toEqual([
      [
        { kind: 'contains', value: 'a', ignoreCase: true },
        { kind: 'regex', pattern: '^x', flags: '' },
        { kind: 'maxLength', chars: 100 },
      ],
      [{ kind: 'maxLength', chars: 100 }],
      [
        { kind: 'equals', value: ' yes ', trim: true },
        { kind: 'maxLength', chars: 100 },
      ],
    ]);
  });

  it('leaves checks out of a sequence where no prompt asks for any', async () => {
    const { suite } = await parse(
      scoredSuite(['    prompts: [one, { prompt: two }]'], ['  - { id: s2, prompts: [three], expect: [] }']),
    );
    expect(suite.sequences[0]).toStrictEqual({ id: 's1', prompts: ['one', 'two'] });
    expect(suite.sequences[1]).toStrictEqual({ id: 's2', prompts: ['three'] });
  });

  it('reads the same checks and judge from YAML and JSON, the sequences file included', async () => {
    const fromYaml = await loadSuiteFile(`${FIXTURES}scored.yaml`);
    const fromJson = await loadSuiteFile(`${FIXTURES}scored.json`);
    expect(fromJson).toStrictEqual(fromYaml);
    expect(fromYaml.warnings).toEqual([]);
    const { sequences, judge } = fromYaml.suite;
    expect(judge).toStrictEqual({ model: 'judge', maxUnparsableRetries: 3 });
    expect(sequences).toStrictEqual([
      { id: 'plain', prompts: ['Hello.'] },
      {
        id: 'checked',
        prompts: ['Say yes.', 'Give JSON.', 'Any answer.'],
        checks: [
          [
            { kind: 'equals', value: 'yes', trim: false },
            { kind: 'maxLength', chars: 500 },
            { kind: 'notContains', value: 'As an AI', ignoreCase: true },
          ],
          [
            {
              kind: 'json',
              schema: { type: 'object', required: ['name'], properties: { name: { type: 'string' } } },
            },
            { kind: 'maxLength', chars: 500 },
            { kind: 'notContains', value: 'As an AI', ignoreCase: true },
          ],
          [
            { kind: 'maxLength', chars: 500 },
            { kind: 'notContains', value: 'As an AI', ignoreCase: true },
          ],
        ],
      },
      {
        id: 'polite',
        prompts: ['Ask nicely.'],
        // The script's path is made absolute, relative to the suite file.
        checks: [
          [
            { kind: 'script', path: `${FIXTURES}checks/polite.mjs` },
            { kind: 'regex', pattern: 'please', flags: 'i' },
            { kind: 'contains', value: 'you', ignoreCase: false },
          ],
        ],
      },
      {
        id: '101',
        prompts: ['Who is second?', 'And last?'],
        category: 'reasoning',
        reference: ['You are second.', ''],
      },
    ]);
  });

  it('reads the judge with its defaults, or as written', async () => {
    const { suite } = await parse([...VALID, 'judge: { model: m1 }']);
    expect(suite.judge).toStrictEqual({ model: 'm1', maxUnparsableRetries: 3 });
    const written = await parse([
      ...VALID,
      'judge:',
      '  model: m1',
      '  rubric: Prefer short answers.',
      '  maxUnparsableRetries: 0',
    ]);
    expect(written.suite.judge).toStrictEqual({
      model: 'm1',
      rubric: 'Prefer short answers.',
      maxUnparsableRetries: 0,
    });
    expect((await parse(VALID)).suite).not.toHaveProperty('judge');
  });
});
