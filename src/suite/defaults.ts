/**
 * Every default and bound a suite file is resolved with, in one place. The doc comments in
 * `types.ts` state the same values for readers of the resolved `Suite`.
 */

import { DEFAULT_BREAKER_POLICY, DEFAULT_RETRY_POLICY } from '../resilience/defaults.js';
import type { BreakerPolicy, RetryPolicy } from './types.js';

/** Repetitions of every sequence when `runs` is omitted. */
export const DEFAULT_RUNS = 1;

/**
 * Most `runs` a suite may ask for. A million conversations are 1 000 sequences × 1 000 runs (the
 * scale benchmark's shape) or 100 sequences × 10 000; more repetitions of the same prompts add
 * nothing a statistic can use, and a mistyped `runs: 1000000000` must not start a job.
 */
export const MAX_RUNS = 10_000;

/**
 * Most prompts in one sequence (each is a turn of one conversation, sent with all the turns
 * before it): far beyond any model's context window, so only a mistake reaches it.
 */
export const MAX_PROMPTS_PER_SEQUENCE = 1_000;

/**
 * Most turns in one job (models × prompts × runs): a million conversations of 100 turns. At
 * about 1 KB a turn that is 100 GB of store, the most one data directory should be asked to hold.
 */
export const MAX_TURNS_PER_JOB = 100_000_000;

/** Largest answer in tokens when a model omits `maxTokens`. */
export const DEFAULT_MAX_TOKENS = 1024;

/** Reply latency of a `simulated` provider that omits `latencyMs`, in ms. */
export const DEFAULT_SIMULATED_LATENCY_MS = 50;

/** Environment variable read for an `openai` provider's key when `apiKeyEnv` is omitted. */
export const DEFAULT_OPENAI_API_KEY_ENV = 'OPENAI_API_KEY';

/** Environment variable read for an `anthropic` provider's key when `apiKeyEnv` is omitted. */
export const DEFAULT_ANTHROPIC_API_KEY_ENV = 'ANTHROPIC_API_KEY';

/** Retry policy fields a provider's `retry` omits (the resilience defaults). */
export const DEFAULT_RETRY: RetryPolicy = DEFAULT_RETRY_POLICY;

/** Circuit breaker fields a provider's `breaker` omits (the resilience defaults). */
export const DEFAULT_BREAKER: BreakerPolicy = DEFAULT_BREAKER_POLICY;

/** Longest duration a suite may give in ms: Node's timers overflow above 2³¹ − 1 and fire after 1 ms. */
export const MAX_TIMER_MS = 2_147_483_647;

/** Lowest `temperature` a model may ask for. */
export const MIN_TEMPERATURE = 0;

/** Highest `temperature` a model may ask for (OpenAI's bound). */
export const MAX_TEMPERATURE = 2;

/** Highest `temperature` an `anthropic` model may ask for (the Messages API rejects more). */
export const MAX_ANTHROPIC_TEMPERATURE = 1;

/** Longest id (provider, model, sequence) in characters; ids become parts of keys and file names. */
export const MAX_ID_LENGTH = 128;

/** Problems listed in one error before the rest are only counted. */
export const MAX_REPORTED_PROBLEMS = 20;

/**
 * Largest `sequencesFile` in bytes (2 GiB): twenty times a million-conversation MT-Bench-style
 * file, and still one that a store can hold next to its results.
 */
export const MAX_SEQUENCES_FILE_BYTES = 2 * 1024 ** 3;

/** Longest line of a `sequencesFile` in bytes (16 MiB): one sequence, its prompts and references. */
export const MAX_SEQUENCE_LINE_BYTES = 16 * 1024 ** 2;

/**
 * Problems of a sequences file kept, in line order, before the rest are only counted: a file of a
 * million bad lines must not become a million messages in memory.
 */
export const MAX_KEPT_FILE_PROBLEMS = 1000;
