/**
 * Builds the text of a suite (JSON, which troupe reads like YAML) for a workload, and parses it
 * with troupe's own loader, so a benchmark runs exactly what a user's suite file would.
 */
import { parseSuite } from '../../src/suite/load.js';
import type { SharedLimitsConfig } from '../../src/coordination/config.js';
import type { Limits, Suite } from '../../src/suite/types.js';
import type { DialectName } from '../../src/resilience/header-dialects.js';
import type { BreakerPolicy } from '../../src/resilience/circuit-breaker-core.js';
import type { RetryPolicy } from '../../src/resilience/retry-policy.js';

/** The environment variables the generated suites read their (fake) keys from. */
export const BENCH_KEY_ENV = { openai: 'TROUPE_BENCH_OPENAI_KEY', anthropic: 'TROUPE_BENCH_ANTHROPIC_KEY' };

/** An environment holding the fake keys (the simulator accepts any). */
export function benchEnv(): NodeJS.ProcessEnv {
  return {
    [BENCH_KEY_ENV.openai]: 'sk-bench-openai-000',
    [BENCH_KEY_ENV.anthropic]: 'sk-ant-bench-000',
  };
}

/** One provider of a generated suite. */
export interface ProviderSpec {
  readonly id: string;
  readonly type: 'openai' | 'anthropic';
  readonly baseURL: string;
  readonly limits?: Limits;
  /** A coordination store through which processes share the limits. */
  readonly sharedLimits?: SharedLimitsConfig;
  /** How the provider writes its rate-limit headers. Default: from the type and base URL. */
  readonly headers?: DialectName;
  /** Retry policy and circuit breaker settings, as a suite writes them. Default: troupe's. */
  readonly retry?: Partial<RetryPolicy>;
  readonly breaker?: Partial<BreakerPolicy>;
}

/** One model of a generated suite. */
export interface ModelSpec {
  readonly id: string;
  readonly provider: string;
  readonly model: string;
  readonly maxTokens: number;
  readonly temperature?: number;
  readonly system?: string;
}

/** One sequence of a generated suite. */
export interface SequenceSpec {
  readonly id: string;
  readonly system?: string;
  readonly prompts: readonly string[];
}

/** A whole generated suite. */
export interface SuiteSpec {
  readonly name: string;
  readonly runs: number;
  readonly providers: readonly ProviderSpec[];
  readonly models: readonly ModelSpec[];
  readonly sequences: readonly SequenceSpec[];
}

/** The suite file's text (JSON). */
export function suiteText(spec: SuiteSpec): string {
  const providers = Object.fromEntries(
    spec.providers.map((p) => [
      p.id,
      {
        type: p.type,
        baseURL: p.baseURL,
        apiKeyEnv: BENCH_KEY_ENV[p.type],
        ...(p.limits !== undefined && { limits: p.limits }),
        ...(p.sharedLimits !== undefined && { sharedLimits: p.sharedLimits }),
        ...(p.headers !== undefined && { headers: p.headers }),
        ...(p.retry !== undefined && { retry: p.retry }),
        ...(p.breaker !== undefined && { breaker: p.breaker }),
      },
    ]),
  );
  const document = {
    name: spec.name,
    runs: spec.runs,
    providers,
    models: spec.models,
    sequences: spec.sequences,
  };
  return `${JSON.stringify(document, null, 2)}\n`;
}

/** Parses the generated suite with troupe's loader (all validation included). */
export async function buildSuite(spec: SuiteSpec): Promise<Suite> {
  const loaded = await parseSuite(suiteText(spec), `${spec.name}.json`, () =>
    Promise.reject(new Error('generated suites have no sequences file')),
  );
  return loaded.suite;
}

/**
 * `count` sequences of `prompts` prompts each, ids `<prefix>1`…; every other sequence has a
 * system prompt. The prompts are a sentence or two, like an evaluation's.
 */
export function sequences(prefix: string, count: number, prompts: number): SequenceSpec[] {
  return Array.from({ length: count }, (_, s) => {
    const id = `${prefix}${s + 1}`;
    return {
      id,
      ...(s % 2 === 0 && { system: `You are assistant ${id}. Answer briefly and precisely.` }),
      prompts: Array.from(
        { length: prompts },
        (_, p) =>
          `${id}, question ${p + 1}: explain step ${p + 1} of the procedure, and how it relates to your previous answer.`,
      ),
    };
  });
}

/** `count` simulated models `m1`… (`gpt-sim-1`…) on `provider`. */
export function simModels(count: number, provider: string, maxTokens: number): ModelSpec[] {
  return Array.from({ length: count }, (_, i) => ({
    id: `m${i + 1}`,
    provider,
    model: `gpt-sim-${i + 1}`,
    maxTokens,
  }));
}

/** Turns of a suite: models × Σ prompts × runs. */
export function turnsOf(suite: Suite): number {
  const perRun = suite.sequences.reduce((sum, sequence) => sum + sequence.prompts.length, 0);
  return suite.models.length * perRun * suite.runs;
}

/** Turns of the suite's longest conversation. */
export function maxTurnsOf(suite: Suite): number {
  return Math.max(0, ...suite.sequences.map((sequence) => sequence.prompts.length));
}
