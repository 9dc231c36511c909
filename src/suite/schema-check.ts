/**
 * A tiny typed validator for plain values read from YAML or JSON. Readers never throw: each
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

  /** Notes that the field at `path` names `file`. */
  refer(path: FieldPath, file: string): void {
    this.files.push({ path, file });
  }

  /** Records a problem at `path`. */
  report(path: FieldPath, message: string, target: ProblemTarget = 'value'): void {
    this.problems.push({ path, message, target });
  }

  /** Records `expected …, found …` at `path`. */
  expected(path: FieldPath, expected: string, found: unknown, hint?: string): void {
    const suffix = hint === undefined ? '' : ` (${hint})`;
    this.report(path, `expected ${expected}, found ${describeValue(found)}${suffix}`);
  }
}

/** Reads one value of type `T`, or reports why it cannot and returns `undefined`. */
export interface Reader<T> {
  /** What a valid value looks like, for messages: `a positive integer`. */
  readonly expected: string;
  read(check: Checker, value: unknown, path: FieldPath): T | undefined;
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

/**
 * Reads a mapping whose keys must all be in `known`. An unknown key is reported at the key,
 * with the closest known key as a suggestion; `what` names the thing in that message
 * (`a simulated provider`) when the known keys depend on it.
 */
export function readMapping(
  check: Checker,
  value: unknown,
  path: FieldPath,
  known: readonly string[],
  what?: string,
): Mapping | undefined {
  if (!isMapping(value)) {
    check.expected(path, what === undefined ? 'a mapping' : `a mapping (${what})`, value);
    return undefined;
  }
  for (const key of Object.keys(value)) {
    if (known.includes(key)) continue;
    const suggestion = closestMatch(key, known);
    const unknown = what === undefined ? 'unknown key' : `unknown key for ${what}`;
    const hint =
      suggestion === undefined ? `expected one of: ${listChoices(known)}` : `did you mean "${suggestion}"?`;
    check.report([...path, key], `${unknown} (${hint})`, 'key');
  }
  return value;
}

/** True for a plain mapping (not a list, not null). */
export function isMapping(value: unknown): value is Mapping {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** True when `mapping` has `key` as its own key (never inherited). */
export function hasKey(mapping: Mapping, key: string): boolean {
  return Object.prototype.hasOwnProperty.call(mapping, key);
}

/** Reads an optional field: absent gives `undefined` without a problem. */
export function optionalField<T>(
  check: Checker,
  mapping: Mapping,
  key: string,
  path: FieldPath,
  reader: Reader<T>,
): T | undefined {
  if (!hasKey(mapping, key)) return undefined;
  return reader.read(check, mapping[key], [...path, key]);
}

/** Reads a required field: absent is reported as missing, with what was expected. */
export function requiredField<T>(
  check: Checker,
  mapping: Mapping,
  key: string,
  path: FieldPath,
  reader: Reader<T>,
): T | undefined {
  if (!hasKey(mapping, key)) {
    check.report([...path, key], `missing (expected ${reader.expected})`);
    return undefined;
  }
  return reader.read(check, mapping[key], [...path, key]);
}

/** Builds a reader from a type guard and the expectation it checks. */
export function readerOf<T>(expected: string, accept: (value: unknown) => value is T): Reader<T> {
  return {
    expected,
    read(check, value, path) {
      if (accept(value)) return value;
      check.expected(path, expected, value);
      return undefined;
    },
  };
}

/** Any string, even empty. */
export const anyString: Reader<string> = readerOf('a string', (v): v is string => typeof v === 'string');

/** A string with at least one non-space character. */
export const nonBlankString: Reader<string> = readerOf(
  'a non-blank string',
  (v): v is string => typeof v === 'string' && v.trim() !== '',
);

/** An integer ≥ 1. */
export const positiveInteger: Reader<number> = readerOf(
  'a positive integer',
  (v): v is number => Number.isSafeInteger(v) && (v as number) >= 1,
);

/** An integer from `min` to `max`, both included; the bounds are written with grouped digits. */
export function integerInRange(min: number, max: number): Reader<number> {
  return readerOf(
    `an integer from ${groupThousands(min)} to ${groupThousands(max)}`,
    (v): v is number => Number.isSafeInteger(v) && (v as number) >= min && (v as number) <= max,
  );
}

/** `1000000` → `1 000 000`, as limits are written in messages and the README. */
export function groupThousands(n: number): string {
  return String(n).replace(/\B(?=(\d{3})+(?!\d))/g, ' ');
}

/** An integer ≥ 0. */
export const nonNegativeInteger: Reader<number> = readerOf(
  'an integer ≥ 0',
  (v): v is number => Number.isSafeInteger(v) && (v as number) >= 0,
);

/** A finite number ≥ 0. */
export const nonNegativeNumber: Reader<number> = readerOf(
  'a number ≥ 0',
  (v): v is number => typeof v === 'number' && Number.isFinite(v) && v >= 0,
);

/** A finite number in `[min, max]`, or `(min, max]` when `minExclusive`. */
export function numberInRange(min: number, max: number, minExclusive = false): Reader<number> {
  const expected = minExclusive
    ? `a number greater than ${min} and at most ${max}`
    : `a number from ${min} to ${max}`;
  return readerOf(
    expected,
    (v): v is number =>
      typeof v === 'number' && Number.isFinite(v) && (minExclusive ? v > min : v >= min) && v <= max,
  );
}

/** One of a fixed set of strings; a near miss earns a suggestion. */
export function oneOf<T extends string>(choices: readonly T[]): Reader<T> {
  const expected = `one of: ${listChoices(choices)}`;
  return {
    expected,
    read(check, value, path) {
      if (typeof value === 'string' && (choices as readonly string[]).includes(value)) return value as T;
      const suggestion = typeof value === 'string' ? closestMatch(value, choices) : undefined;
      check.expected(
        path,
        expected,
        value,
        suggestion === undefined ? undefined : `did you mean "${suggestion}"?`,
      );
      return undefined;
    },
  };
}

/**
 * A list whose every item `item` accepts; each bad item is reported at its index. With
 * `nonEmpty`, an empty list is a problem too. Returns `undefined` if any item was bad.
 */
export function listOf<T>(
  item: Reader<T>,
  options: { nonEmpty?: boolean; of?: string; maxItems?: number } = {},
): Reader<T[]> {
  const of = options.of ?? item.expected;
  const max = options.maxItems === undefined ? undefined : groupThousands(options.maxItems);
  const expected =
    max === undefined
      ? `${options.nonEmpty === true ? 'a non-empty list' : 'a list'} of ${of}`
      : `a list of ${options.nonEmpty === true ? '1 to' : 'at most'} ${max} ${of}`;
  return {
    expected,
    read(check, value, path) {
      if (!Array.isArray(value) || (options.nonEmpty === true && value.length === 0)) {
        check.expected(path, expected, value);
        return undefined;
      }
      if (options.maxItems !== undefined && value.length > options.maxItems) {
        check.report(path, `expected ${expected}, found a list of ${groupThousands(value.length)}`);
        return undefined;
      }
      const items: T[] = [];
      let allRead = true;
      value.forEach((entry: unknown, index) => {
        const read = item.read(check, entry, [...path, index]);
        if (read === undefined) allRead = false;
        else items.push(read);
      });
      return allRead ? items : undefined;
    },
  };
}
