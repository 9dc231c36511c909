import { describe, expect, it } from 'vitest';
import { resolveApiKeys } from '../src/suite/api-keys.js';
import { parseSuite } from '../src/suite/load.js';
import { SuiteError } from '../src/suite/suite-error.js';

const noFiles = async (): Promise<string> => {
  throw new Error('no sequences file in these tests');
};

async function suiteOf(lines: readonly string[]) {
  return (await parseSuite(lines.join('\n'), 'examples/x.yaml', noFiles)).suite;
}

const SUITE = await suiteOf([
  'providers:',
  '  sim: { type: simulated }',
  '  oai: { type: openai }',
  '  claude: { type: anthropic, apiKeyEnv: MY_CLAUDE_KEY }',
  '  spare: { type: openai, apiKeyEnv: SPARE_KEY }',
  'models:',
  '  - { id: a, provider: sim, model: x }',
  '  - { id: b, provider: oai, model: y }',
  '  - { id: c, provider: claude, model: z }',
  'sequences:',
  '  - { id: s, prompts: [hi] }',
]);

describe('resolveApiKeys', () => {
  it('reads the key of every used provider that needs one, from the variable it names', () => {
    const keys = resolveApiKeys(SUITE, { OPENAI_API_KEY: 'sk-1', MY_CLAUDE_KEY: 'sk-2' }, 'examples/x.yaml');
    expect(keys).toEqual(
      new Map([
        ['oai', 'sk-1'],
        ['claude', 'sk-2'],
      ]),
    );
  });

  it('names every provider whose variable is unset or empty, and never a key', () => {
    const error = (() => {
      try {
        resolveApiKeys(
          SUITE,
          { MY_CLAUDE_KEY: '  ', ANTHROPIC_API_KEY: 'sk-secret-value' },
          'examples/x.yaml',
        );
      } catch (e) {
        return e;
      }
      return undefined;
    })();
    expect(error).toBeInstanceOf(SuiteError);
    expect((error as SuiteError).exitCode).toBe(2);
    expect((error as SuiteError).message).toBe(
      [
        'examples/x.yaml: providers.oai.apiKeyEnv: environment variable OPENAI_API_KEY is not set (export it, or name another variable in apiKeyEnv)',
        'examples/x.yaml: providers.claude.apiKeyEnv: environment variable MY_CLAUDE_KEY is empty (export it, or name another variable in apiKeyEnv)',
      ].join('\n'),
    );
    expect((error as SuiteError).message).not.toContain('sk-secret-value');
  });

  it('asks nothing for the simulated provider or for a provider no model uses', async () => {
    const simulatedOnly = await suiteOf([
      'providers:',
      '  sim: { type: simulated }',
      '  spare: { type: anthropic }',
      'models:',
      '  - { id: a, provider: sim, model: x }',
      'sequences:',
      '  - { id: s, prompts: [hi] }',
    ]);
    expect(resolveApiKeys(simulatedOnly, {}, 'examples/x.yaml')).toEqual(new Map());
  });
});
