/** How much work a suite is, and a short description of it for the terminal. */

import { apiKeyEnvOf } from './api-keys.js';
import type { ProviderConfig, SequenceStats, Suite, SuiteSettings } from './types.js';

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
  let stats: SequenceStats = { count: 0, prompts: 0, longest: 0, shortest: 0 };
  for (const sequence of suite.sequences) {
    const prompts = sequence.prompts.length;
    stats = {
      count: stats.count + 1,
      prompts: stats.prompts + prompts,
      longest: Math.max(stats.longest, prompts),
      shortest: stats.count === 0 ? prompts : Math.min(stats.shortest, prompts),
    };
  }
  return countOf(suite, stats);
}

/** Counts the models, sequences, conversations and turns of a suite whose sequences are known by `stats`. */
export function countOf(settings: SuiteSettings, stats: SequenceStats): SuiteCounts {
  const models = settings.models.length;
  return {
    models,
    sequences: stats.count,
    prompts: stats.prompts,
    runs: settings.runs,
    conversations: models * stats.count * settings.runs,
    turns: models * stats.prompts * settings.runs,
    longestSequence: stats.longest,
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
export function describeSuite(settings: SuiteSettings, stats: SequenceStats): string[] {
  const counts = countOf(settings, stats);
  const providers = Object.entries(settings.providers).map(([id, provider]) =>
    describeProvider(id, provider),
  );
  const models = settings.models.map((model) => `${model.id} (${model.provider}: ${model.model})`);
  const promptRange =
    stats.shortest === stats.longest ? `${stats.shortest}` : `${stats.shortest}–${stats.longest}`;
  return [
    `suite ${settings.name}`,
    `  providers: ${providers.join(', ')}`,
    `  models:    ${models.join(', ')}`,
    `  sequences: ${counts.sequences} (${promptRange} prompts each, ${plural(counts.prompts, 'prompt')} in all)`,
    `  runs:      ${counts.runs}`,
    `  turns:     ${counts.turns} = ${plural(counts.models, 'model')} × ${plural(counts.prompts, 'prompt')} × ${plural(counts.runs, 'run')}`,
  ];
}
