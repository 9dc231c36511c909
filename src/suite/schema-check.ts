/**
 * The problems of a document read from YAML or JSON, and the words they are written in: each
 * wrong value is recorded as a `Problem` at its field path, so one pass reports every mistake.
 */

/** Where a field sits in a document: mapping keys and list indexes from the top. */
export type FieldPath = readonly (string | number)[];

/** What a problem points at: the field's value, or its key (e.g. an unknown key). */
export type ProblemTarget = 'value' | 'key';

/** One thing wrong with a document, not yet tied to a file position. */
export interface Problem {
  readonly path: FieldPath;
  /** What was expected and what was found, e.g. `expected a positive integer, found 0`. */
  readonly message: string;
  readonly target: ProblemTarget;
}

/** A file a document names (a script check's module), to be checked once reading is done. */
export interface FileReference {
  /** The field that names it. */
  readonly path: FieldPath;
  /** The path as written (relative to the suite file, or absolute). */
  readonly file: string;
}

/**
 * Collects the problems of one document, and the files it names: readers are
 * synchronous, so the loader checks those files afterwards and places its findings
 * at the fields that named them.
 */
export class Checker {
  /** Problems in the order they were found. */
  readonly problems: Problem[] = [];
  /** Files the document names, in the order they were read. */
  readonly files: FileReference[] = [];

  /** Records a problem at `path`. */
  report(path: FieldPath, message: string, target: ProblemTarget = 'value'): void {
    this.problems.push({ path, message, target });
  }
}

/** A plain mapping (YAML mapping, JSON object) as read from a document. */
export type Mapping = Readonly<Record<string, unknown>>;

// Ids may hold `-`; a key with `.`, a space or a quote is bracketed so the path stays unambiguous.
const PLAIN_KEY = /^[A-Za-z0-9_-]+$/;

/** Formats a path for a message: `models[2].provider`, `providers.oai.limits`, `providers["a.b"]`. */
export function formatPath(path: FieldPath): string {
  let out = '';
  for (const segment of path) {
    if (typeof segment === 'number') out += `[${segment}]`;
    else if (PLAIN_KEY.test(segment)) out += out === '' ? segment : `.${segment}`;
    else out += `[${JSON.stringify(segment)}]`;
  }
  return out;
}

const MAX_SHOWN_STRING_LENGTH = 60;

/** Describes a found value for a message, shortening long strings: `"gpt-4o"`, `0`, `a list`. */
export function describeValue(value: unknown): string {
  if (value === undefined) return 'nothing';
  if (value === null) return 'an empty value';
  if (typeof value === 'string') {
    const shown =
      value.length > MAX_SHOWN_STRING_LENGTH ? `${value.slice(0, MAX_SHOWN_STRING_LENGTH)}…` : value;
    return JSON.stringify(shown);
  }
  if (typeof value === 'number' || typeof value === 'boolean') return String(value);
  if (Array.isArray(value)) return value.length === 0 ? 'an empty list' : 'a list';
  if (typeof value === 'object') return 'a mapping';
  return typeof value;
}

function editDistance(a: string, b: string): number {
  let previous = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const current = [i];
    for (let j = 1; j <= b.length; j++) {
      const substitution = (previous[j - 1] ?? 0) + (a[i - 1] === b[j - 1] ? 0 : 1);
      current.push(Math.min((previous[j] ?? 0) + 1, (current[j - 1] ?? 0) + 1, substitution));
    }
    previous = current;
  }
  return previous[b.length] ?? 0;
}

/** A typo this far from a known word (in edits per character) still earns a suggestion. */
const SUGGESTION_EDITS_PER_CHARACTER = 1 / 3;

/** The candidate a mistyped `word` most likely meant, if any is close enough (case-insensitive). */
export function closestMatch(word: string, candidates: readonly string[]): string | undefined {
  const allowed = Math.max(1, Math.floor(word.length * SUGGESTION_EDITS_PER_CHARACTER));
  let best: string | undefined;
  let bestDistance = Infinity;
  for (const candidate of candidates) {
    const distance = editDistance(word.toLowerCase(), candidate.toLowerCase());
    if (distance <= allowed && distance < bestDistance) {
      best = candidate;
      bestDistance = distance;
    }
  }
  return best;
}

/** Lists choices for a message: `sim, oai, claude`. */
export function listChoices(choices: readonly string[]): string {
  return choices.join(', ');
}

/** True for a plain mapping (not a list, not null). */
export function isMapping(value: unknown): value is Mapping {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** True when `mapping` has `key` as its own key (never inherited). */
export function hasKey(mapping: Mapping, key: string): boolean {
  return Object.prototype.hasOwnProperty.call(mapping, key);
}

/** `1000000` → `1 000 000`, as limits are written in messages and the README. */
export function groupThousands(n: number): string {
  return String(n).replace(/\B(?=(\d{3})+(?!\d))/g, ' ');
}
