/** How much work a suite is, and a short description of it for the terminal. */

import { apiKeyEnvOf } from './api-keys.js';
import type { ProviderConfig, Suite } from './types.js';

/** The sizes of a suite's job. */
export interface SuiteCounts {
  readonly models: number;
  readonly sequences: number;
  /** Prompts over all sequences (one run of one model). */
  readonly prompts: number;
  readonly runs: number;
  /** Conversations of the job: models × sequences × runs. */
  readonly conversations: number;
  /** Turns (requests that succeed) of the job: models × prompts × runs. */
  readonly turns: number;
  /** Prompts of the longest sequence: the turns one conversation must take in order. */
  readonly longestSequence: number;
}

/** Counts a suite's models, sequences, conversations and turns. */
export function countTurns(suite: Suite): SuiteCounts {
  const models = suite.models.length;
  const sequences = suite.sequences.length;
  const prompts = suite.sequences.reduce((sum, sequence) => sum + sequence.prompts.length, 0);
  const longestSequence = suite.sequences.reduce(
    (most, sequence) => Math.max(most, sequence.prompts.length),
    0,
  );
  return {
    models,
    sequences,
    prompts,
    runs: suite.runs,
    conversations: models * sequences * suite.runs,
    turns: models * prompts * suite.runs,
    longestSequence,
  };
}

function describeProvider(id: string, provider: ProviderConfig): string {
  const details: string[] = [provider.type];
  if (provider.type === 'simulated') details.push(`${provider.latencyMs} ms`);
  else if (provider.baseURL !== undefined) details.push(provider.baseURL);
  const keyEnv = apiKeyEnvOf(provider);
  if (keyEnv !== undefined) details.push(`key from $${keyEnv}`);
  return `${id} (${details.join(', ')})`;
}

function plural(count: number, word: string): string {
  return `${count} ${word}${count === 1 ? '' : 's'}`;
}

/** A few lines describing a suite: providers, models, sequences, runs and the turns they make. */
export function describeSuite(suite: Suite): string[] {
  const counts = countTurns(suite);
  const providers = Object.entries(suite.providers).map(([id, provider]) => describeProvider(id, provider));
  const models = suite.models.map((model) => `${model.id} (${model.provider}: ${model.model})`);
  const shortest = suite.sequences.reduce((least, s) => Math.min(least, s.prompts.length), Infinity);
  const promptRange =
    shortest === counts.longestSequence ? `${shortest}` : `${shortest}–${counts.longestSequence}`;
  return [
    `suite ${suite.name}`,
    `  providers: ${providers.join(', ')}`,
    `  models:    ${models.join(', ')}`,
    `  sequences: ${counts.sequences} (${promptRange} prompts each, ${plural(counts.prompts, 'prompt')} in all)`,
    `  runs:      ${counts.runs}`,
    `  turns:     ${counts.turns} = ${plural(counts.models, 'model')} × ${plural(counts.prompts, 'prompt')} × ${plural(counts.runs, 'run')}`,
  ];
}
