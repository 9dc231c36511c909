import type { Simulator } from '../../src/simulator/server.js';
import { parseSuite } from '../../src/suite/load.js';
import type { Suite } from '../../src/suite/types.js';

/** Shape of a generated test suite. */
export interface SuiteShape {
  readonly models: number;
  readonly sequences: number;
  readonly prompts: number;
  readonly runs: number;
  /** Extra YAML lines under the openai provider (limits, retry, breaker), indented by the caller's needs. */
  readonly providerExtra?: string;
  /** Extra fields in every model's flow mapping, e.g. `pricePerMillionTokens: { input: 1, output: 2 }`. */
  readonly modelExtra?: string;
}

/** Env variable the generated suites read their (fake) key from. */
export const TEST_KEY_ENV = 'TROUPE_TEST_KEY';
/** A recognizable fake key: tests assert it never shows up in output. */
export const TEST_KEY = 'sk-troupe-test-FAKEKEY-0123456789';

/** A suite of `shape` on the simulator's OpenAI API. */
export async function simulatorSuite(sim: Simulator, shape: SuiteShape): Promise<Suite> {
  const models = Array.from(
    { length: shape.models },
    (_, i) =>
      `  - { id: m${i + 1}, provider: sim, model: model-${i + 1}, maxTokens: 100${shape.modelExtra ? `, ${shape.modelExtra}` : ''} }`,
  );
  const sequences = Array.from(
    { length: shape.sequences },
    (_, s) =>
      `  - id: s${s + 1}\n    system: System of s${s + 1}.\n    prompts: [${Array.from({ length: shape.prompts }, (_, p) => `"s${s + 1} prompt ${p + 1}"`).join(', ')}]`,
  );
  const text = `name: generated
runs: ${shape.runs}
providers:
  sim:
    type: openai
    baseURL: "${sim.openaiBaseURL}"
    apiKeyEnv: ${TEST_KEY_ENV}
${shape.providerExtra ?? ''}
models:
${models.join('\n')}
sequences:
${sequences.join('\n')}
`;
  return suiteFromText(text);
}

/** One provider of a `providersSuite`: its API on one simulator, its models and extra YAML. */
export interface ProviderShape {
  /** The provider's id in the suite; models are `<id>-m1`… on model names `<id>-model-1`…. */
  readonly id: string;
  readonly type: 'openai' | 'anthropic';
  readonly sim: Simulator;
  readonly models: number;
  /** Extra YAML lines under the provider (limits, retry, breaker), indented by four spaces. */
  readonly extra?: string;
}

/** A suite with several providers, each on its own simulator (so each is its own account). */
export async function providersSuite(
  providers: readonly ProviderShape[],
  shape: { readonly sequences: number; readonly prompts: number; readonly runs: number },
): Promise<Suite> {
  const providerLines = providers.map((p) => {
    const baseURL = p.type === 'openai' ? p.sim.openaiBaseURL : p.sim.anthropicBaseURL;
    return `  ${p.id}:\n    type: ${p.type}\n    baseURL: "${baseURL}"\n    apiKeyEnv: ${TEST_KEY_ENV}\n${p.extra ?? ''}`;
  });
  const models = providers.flatMap((p) =>
    Array.from(
      { length: p.models },
      (_, i) =>
        `  - { id: ${p.id}-m${i + 1}, provider: ${p.id}, model: ${p.id}-model-${i + 1}, maxTokens: 100 }`,
    ),
  );
  const sequences = Array.from(
    { length: shape.sequences },
    (_, s) =>
      `  - id: s${s + 1}\n    prompts: [${Array.from({ length: shape.prompts }, (_, p) => `"s${s + 1} prompt ${p + 1}"`).join(', ')}]`,
  );
  const text = `name: generated
runs: ${shape.runs}
providers:
${providerLines.join('\n')}
models:
${models.join('\n')}
sequences:
${sequences.join('\n')}
`;
  return suiteFromText(text);
}

/** The suite a YAML text describes, read as if from `fileName` (it may name no sequences file). */
export async function suiteFromText(text: string, fileName = 'generated.yaml'): Promise<Suite> {
  const loaded = await parseSuite(text, fileName, () => Promise.reject(new Error('no sequences file')));
  return loaded.suite;
}
