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
      'suite.yaml:3:27: providers.sim.baseURL: unknown key for a provider of type simulated (expected one of: type, limits, retry, breaker, latencyMs)',
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
      'suite.yaml:2:7: runs: expected a positive integer, found "three"',
      'suite.yaml:8:24: sequences[0].prompts: expected a non-empty list of non-blank prompts (strings, or { prompt, expect }), found "hello"',
    ],
  },
  {
    name: 'runs of zero',
    lines: [...VALID, 'runs: 0'],
    expected: ['suite.yaml:8:7: runs: expected a positive integer, found 0'],
  },
  {
    name: 'runs that is not an integer',
    lines: [...VALID, 'runs: 1.5'],
    expected: ['suite.yaml:8:7: runs: expected a positive integer, found 1.5'],
  },
  {
    name: 'an empty value',
    lines: [...VALID, 'runs:'],
    expected: ['suite.yaml:8:6: runs: expected a positive integer, found an empty value'],
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
      'suite.yaml:6:24: sequences[0].prompts: expected a non-empty list of non-blank prompts (strings, or { prompt, expect }), found an empty list',
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
      'suite.yaml:1:7: runs: expected a positive integer, found 0',
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

describe('checks and the judge in a suite', () => {
  const base = (extra: string, prompts = '["one", "two"]') => `name: s
providers:
  sim: { type: simulated }
models:
  - { id: m, provider: sim, model: x }
sequences:
  - id: q
    prompts: ${prompts}
${extra}`;
  const parse = (text: string) => parseSuite(text, 'scored.yaml', () => Promise.reject(new Error('none')));

  it('gives every prompt its own checks, then the sequence’s', async () => {
    const { suite } = await parse(
      base(
        '    expect: { maxLength: 100 }\n',
        '[{ prompt: "one", expect: [{ contains: "a", ignoreCase: true }, { regex: "^x", flags: "i" }] }, "two"]',
      ),
    );
    expect(suite.sequences[0]?.prompts).toEqual(['one', 'two']);
    expect(suite.sequences[0]?.checks).toEqual([
      [
        { kind: 'contains', value: 'a', ignoreCase: true },
        { kind: 'regex', pattern: '^x', flags: 'i' },
        { kind: 'maxLength', chars: 100 },
      ],
      [{ kind: 'maxLength', chars: 100 }],
    ]);
  });

  it('leaves checks out when no prompt asks for any', async () => {
    const { suite } = await parse(base(''));
    expect(suite.sequences[0]).not.toHaveProperty('checks');
  });

  it.each([
    [
      'an unknown check kind',
      '    expect: { contain: "a" }\n',
      /sequences\[0\]\.expect: expected one check kind/,
    ],
    ['two kinds in one check', '    expect: { contains: "a", regex: "b" }\n', /found contains and regex/],
    [
      'a bad option',
      '    expect: { contains: "a", ignorecase: true }\n',
      /sequences\[0\]\.expect\.ignorecase: .*did you mean "ignoreCase"/,
    ],
    [
      'a regex that does not compile',
      '    expect: { regex: "(" }\n',
      /sequences\[0\]\.expect\.regex: expected a valid regular expression/,
    ],
    [
      'bad regex flags',
      '    expect: { regex: "a", flags: "q" }\n',
      /sequences\[0\]\.expect\.flags: expected regex flags/,
    ],
    [
      'a json check without a schema object',
      '    expect: { json: 3 }\n',
      /sequences\[0\]\.expect\.json: expected true, or \{ schema/,
    ],
    ['a missing script', '    expect: { script: ./nope.mjs }\n', /script check "\.\/nope\.mjs": cannot read/],
  ])('reports %s', async (_name, extra, message) => {
    await expect(parse(base(extra))).rejects.toThrow(message);
  });

  it('reads the judge with its defaults, and names an unknown judge model', async () => {
    const { suite } = await parse(base('judge: { model: m }\n'));
    expect(suite.judge).toEqual({ model: 'm', maxUnparsableRetries: 3 });
    await expect(parse(base('judge: { model: n }\n'))).rejects.toThrow(
      /scored\.yaml:\d+:\d+: judge\.model: unknown model "n" \(expected a model id of this suite: m/,
    );
  });
});
