/**
 * Why a job's turns failed, said once per cause: a provider that fails every request fails many
 * turns the same way, and the end of `troupe run` names it once per provider and error code, with
 * the first turn's message and the count, rather than leaving the cause in the store.
 */
import type { TurnRecord } from '../store/records.js';
import { sanitizeForTerminal } from './terminal-text.js';

/** Distinct causes listed at most, in order of their first failed turn; the rest are counted. */
export const MAX_FAILURE_CAUSES_SHOWN = 10;

/** Longest message shown for a cause, in characters (the store keeps the whole message). */
const MAX_CAUSE_MESSAGE_CHARS = 300;

/** One cause of failed turns: a provider and an error code. */
export interface FailureCause {
  /** The suite's id of the provider. */
  readonly provider: string;
  /** The namespaced error code (`troupe:retries-exhausted`, `troupe:unauthorized`, …). */
  readonly code: string;
  /** The message of the first turn that failed so. */
  readonly message: string;
  /** Failed turns with this provider and code. */
  readonly turns: number;
}

/**
 * Tallies the causes of failed turns as they are read (skipped turns only repeat them), in order
 * of first appearance. Holds one entry per provider and error code, however many turns it sees.
 */
export class FailureCauseTally {
  private readonly causes = new Map<
    string,
    { provider: string; code: string; message: string; turns: number }
  >();

  /** `providerOf` maps a model's id to its provider's. */
  constructor(private readonly providerOf: (model: string) => string) {}

  /** Counts `turn` if it failed. */
  add(turn: TurnRecord): void {
    if (turn.status !== 'failed' || turn.error === null) return;
    const provider = this.providerOf(turn.model);
    const key = JSON.stringify([provider, turn.error.code]);
    const cause = this.causes.get(key);
    if (cause) cause.turns += 1;
    else this.causes.set(key, { provider, code: turn.error.code, message: turn.error.message, turns: 1 });
  }

  /** The causes so far. */
  result(): FailureCause[] {
    return [...this.causes.values()].map((cause) => ({ ...cause }));
  }
}

/** Lines for a terminal: a heading and one line per cause (at most `MAX_FAILURE_CAUSES_SHOWN`); none without failures. */
export function formatFailureCauses(causes: readonly FailureCause[], job: string): string[] {
  if (causes.length === 0) return [];
  const lines = ['why turns failed:'];
  for (const cause of causes.slice(0, MAX_FAILURE_CAUSES_SHOWN)) {
    const message =
      cause.message.length > MAX_CAUSE_MESSAGE_CHARS
        ? `${cause.message.slice(0, MAX_CAUSE_MESSAGE_CHARS)}…`
        : cause.message;
    const turns = cause.turns === 1 ? '1 turn' : `${cause.turns} turns`;
    lines.push(sanitizeForTerminal(`  ${cause.provider}: ${turns} ${cause.code}, first: ${message}`));
  }
  const more = causes.length - MAX_FAILURE_CAUSES_SHOWN;
  if (more > 0) lines.push(`  … and ${more} more causes: troupe results ${job} --format jsonl`);
  return lines;
}
