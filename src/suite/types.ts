import type { SharedLimitsConfig } from '../coordination/config.js';
import type { Check, JudgeConfig } from '../scoring/types.js';
import type { BreakerPolicy } from '../resilience/circuit-breaker-core.js';
import type { Limits } from '../resilience/rate-limiter-core.js';
import type { RetryPolicy } from '../resilience/retry-policy.js';
import type { DialectName } from '../resilience/header-dialects.js';

// The policies own their option types; a suite names them.
export type { BreakerPolicy, Limits, RetryPolicy };

/**
 * The validated, resolved form of a suite file. `sequencesFile` has already been
 * read and merged into `sequences`; defaults have been applied. A job stores a
 * frozen copy of this object, so editing the file never changes a running job.
 */

/** A provider's limits as a suite gives them: the rate limits, and a spend cap. */
export interface ProviderLimits extends Limits {
  /** Most this provider may cost the job, in US dollars (every model on it needs prices). */
  readonly maxCostUsd?: number;
}

/** A job's own cap. */
export interface Budget {
  /** Most the whole job may cost, in US dollars (every model needs prices). */
  readonly maxCostUsd: number;
}

interface ProviderCommon {
  readonly limits?: ProviderLimits;
  readonly retry: RetryPolicy;
  readonly breaker: BreakerPolicy;
  /** A coordination store through which other processes share these limits. Default: none. */
  readonly sharedLimits?: SharedLimitsConfig;
}

/** The built-in provider: no network, no key; replies describe the context received. */
export interface SimulatedProviderConfig extends ProviderCommon {
  readonly type: 'simulated';
  /** Latency of every reply in ms. Default 50. */
  readonly latencyMs: number;
}

/** Any OpenAI-compatible chat completions API (OpenAI, vLLM, Ollama, llama.cpp server). */
export interface OpenAIProviderConfig extends ProviderCommon {
  readonly type: 'openai';
  /** API root, e.g. `http://127.0.0.1:8080/v1`. Default: the SDK's (api.openai.com). */
  readonly baseURL?: string;
  /** Name of the environment variable that holds the key. Default `OPENAI_API_KEY`. */
  readonly apiKeyEnv: string;
  /** How its rate-limit headers are written. Default: from `type` and `baseURL` (see `dialectFor`). */
  readonly headers?: DialectName;
}

/** Anthropic's Messages API. */
export interface AnthropicProviderConfig extends ProviderCommon {
  readonly type: 'anthropic';
  /** API root. Default: the SDK's (api.anthropic.com). */
  readonly baseURL?: string;
  /** Name of the environment variable that holds the key. Default `ANTHROPIC_API_KEY`. */
  readonly apiKeyEnv: string;
  /** How its rate-limit headers are written. Default: from `type` and `baseURL` (see `dialectFor`). */
  readonly headers?: DialectName;
}

/** One provider entry of a suite, keyed by its id in `providers`. */
export type ProviderConfig = SimulatedProviderConfig | OpenAIProviderConfig | AnthropicProviderConfig;

/** The provider types a suite may name. */
export const PROVIDER_TYPES = ['simulated', 'openai', 'anthropic'] as const;

/** A model under evaluation: a provider, the provider's model name and request parameters. */
export interface ModelConfig {
  /** Unique within the suite; names the model in results. */
  readonly id: string;
  /** Key into `providers`. */
  readonly provider: string;
  /** The provider's model name, e.g. `gpt-4o-mini`. */
  readonly model: string;
  readonly temperature?: number;
  /** Largest answer in tokens. Default 1024. */
  readonly maxTokens: number;
  /** A system prompt for every conversation of this model (before the sequence's own). */
  readonly system?: string;
  /** Prices in US dollars per million tokens, for the estimated-cost metric. Default: none (no cost shown). */
  readonly pricePerMillionTokens?: TokenPrices;
}

/** Prices of one model, in US dollars per million tokens. */
export interface TokenPrices {
  readonly input: number;
  readonly output: number;
}

/** One ordered list of prompts that form a conversation. */
export interface SequenceConfig {
  /** Unique within the suite. */
  readonly id: string;
  readonly system?: string;
  readonly prompts: readonly string[];
  /** A label from the source set (MT-Bench's `category`), for reports. */
  readonly category?: string;
  /** Reference answers per prompt (MT-Bench's `reference`), for judging. */
  readonly reference?: readonly string[];
  /** Checks per prompt (index as in `prompts`): the prompt's own `expect`, then the sequence's. Absent: none. */
  readonly checks?: readonly (readonly Check[])[];
}

/** A suite's settings: everything but its sequences (a job keeps these in its record, and its sequences apart). */
export interface SuiteSettings {
  readonly name: string;
  /** Repetitions of every sequence. Default 1. */
  readonly runs: number;
  readonly providers: Readonly<Record<string, ProviderConfig>>;
  readonly models: readonly ModelConfig[];
  /** The LLM-as-judge that grades every answer; absent: no judging. */
  readonly judge?: JudgeConfig;
  /** The job's spend cap; absent: none (`run --max-cost` sets it too). */
  readonly budget?: Budget;
}

/** A whole suite, validated and resolved, its sequences in memory (a small suite, or a test's). */
export interface Suite extends SuiteSettings {
  readonly sequences: readonly SequenceConfig[];
}

/** The sizes of a suite's sequences, known without holding them. */
export interface SequenceStats {
  /** Sequences. */
  readonly count: number;
  /** Prompts over all sequences (the turns of one run of one model). */
  readonly prompts: number;
  /** Prompts of the longest sequence. */
  readonly longest: number;
  /** Prompts of the shortest sequence (0 when there is none). */
  readonly shortest: number;
}
