/**
 * Scoring: what a suite asks to check about each answer, and what the checks
 * and the judge found. Stored with each turn, summarized per model.
 */
import type { Usage } from '../providers/types.js';

/** One check of an answer, as written in a suite under `expect:`. */
export type Check =
  | { readonly kind: 'contains'; readonly value: string; readonly ignoreCase: boolean }
  | { readonly kind: 'notContains'; readonly value: string; readonly ignoreCase: boolean }
  | { readonly kind: 'regex'; readonly pattern: string; readonly flags: string }
  | { readonly kind: 'equals'; readonly value: string; readonly trim: boolean }
  /** The answer parses as JSON (a fenced ```json block is accepted), and matches `schema` if given. */
  | { readonly kind: 'json'; readonly schema?: unknown }
  | { readonly kind: 'maxLength'; readonly chars: number }
  /**
   * A JS module (path relative to the suite file, resolved to absolute at load) exporting a check
   * function. A job's copy is frozen when the job is created: `path` is then the copy in the data
   * directory and `sha256` its contents' hash, checked before it is imported.
   */
  | { readonly kind: 'script'; readonly path: string; readonly sha256?: string };

/** What one check found. `passed: null` means the check itself failed (e.g. a script threw). */
export interface CheckResult {
  readonly kind: Check['kind'];
  readonly passed: boolean | null;
  /** 0–1 where the check grades (script), else 1 or 0. */
  readonly score: number | null;
  /** Why, in a sentence a person reads in the report. */
  readonly reason: string;
}

/** The suite's LLM-as-judge: which of its models grades, and how. */
export interface JudgeConfig {
  /** A model id of the suite. */
  readonly model: string;
  /** Extra grading instructions, added to the MT-Bench single-answer prompt. */
  readonly rubric?: string;
  /** Attempts to get a well-formed `Rating: [[N]]` before recording the answer as unparsable. Default 3. */
  readonly maxUnparsableRetries: number;
}

/** What the judge said about one turn. */
export interface JudgeResult {
  /** 1–10, or null when the judge never gave a well-formed rating or its calls failed. */
  readonly score: number | null;
  readonly status: 'ok' | 'unparsable' | 'failed';
  /** The judge's own words (its last answer), for the report. */
  readonly explanation: string;
  readonly attempts: number;
  /**
   * Tokens the judge's answered calls were charged, summed over its passes (an unparsable reply is
   * asked again); absent in grades stored before it was recorded.
   */
  readonly usage?: Usage;
}
