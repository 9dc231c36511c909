/**
 * The suite's schemas are valibot schemas whose every message is already in the suite's words
 * (`expected …, found …`, `missing (expected …)`, `unknown key (did you mean "…"?)`); `readWith`
 * turns their issues into the `Checker`'s problems, at field paths the loader places at file:line:col.
 */

import * as v from 'valibot';
import {
  closestMatch,
  groupThousands,
  describeValue,
  isMapping,
  listChoices,
  type Checker,
  type FieldPath,
  type Mapping,
} from './schema-check.js';

/** A schema of unknown input whose output is a `T`. */
export type Schema<T> = v.GenericSchema<unknown, T>;

// What each schema accepts, in words, for a missing field's message.
const EXPECTED = new WeakMap<object, string>();

/** What `schema` accepts, in words: `a positive integer`. */
export function expectedOf(schema: object): string {
  return EXPECTED.get(schema) ?? 'a value';
}

/** `schema`, remembered to accept what `expected` says. */
export function described<S extends object>(schema: S, expected: string): S {
  EXPECTED.set(schema, expected);
  return schema;
}

/** `expected …, found …`, with an optional `(hint)`. */
export function expectedFound(expected: string, found: unknown, hint?: string): string {
  return `expected ${expected}, found ${describeValue(found)}${hint === undefined ? '' : ` (${hint})`}`;
}

/** A value in which `problem` finds nothing wrong; what it finds is the message. */
export function accepting<T>(expected: string, problem: (value: unknown) => string | undefined): Schema<T> {
  const schema = v.custom<T>(
    (value) => problem(value) === undefined,
    (issue) => problem(issue.input) ?? '',
  );
  return described(schema, expected);
}

/** A value `accept` accepts; anything else is `expected …, found …`. */
export function valueOf<T>(expected: string, accept: (value: unknown) => value is T): Schema<T> {
  return accepting(expected, (value) => (accept(value) ? undefined : expectedFound(expected, value)));
}

/**
 * A mapping of `entries` (absent optional ones stay absent, or take their default). A missing
 * required field is `missing (expected …)`; a key not `known` (by default the entries' keys) is
 * reported at the key, with the closest known key as a suggestion; `what` names the thing.
 */
export function mapping<const E extends v.ObjectEntries>(
  entries: E,
  what?: string,
  known?: readonly string[],
) {
  return v.pipe(
    valueOf(what === undefined ? 'a mapping' : `a mapping (${what})`, isMapping),
    keyed(entries, what, known),
  );
}

/** Like `mapping`, for a value known to be a mapping: a `v.variant` option. */
export function keyed<const E extends v.ObjectEntries>(
  entries: E,
  what?: string,
  known: readonly string[] = Object.keys(entries),
) {
  const object = v.looseObject(entries, (issue) => {
    const key = String(issue.path?.at(-1)?.key);
    return `missing (expected ${expectedOf(entries[key] ?? {})})`;
  });
  return v.pipe(
    object,
    v.rawCheck<v.InferOutput<typeof object>>(({ dataset, addIssue }) => {
      const input = dataset.value as Mapping;
      for (const key of Object.keys(input)) {
        if (known.includes(key)) continue;
        const suggestion = closestMatch(key, known);
        const hint =
          suggestion === undefined
            ? `expected one of: ${listChoices(known)}`
            : `did you mean "${suggestion}"?`;
        addIssue({
          message: `unknown key${what === undefined ? '' : ` for ${what}`} (${hint})`,
          expected: KNOWN_KEY,
          path: pathTo([key], 'key'),
        });
      }
    }),
  );
}

// Marks the issue of an unknown key.
const KNOWN_KEY = 'a known key';

/** The path of an issue `keys` down from where it is raised; `origin: 'key'` puts it at the last key. */
export function pathTo(
  keys: readonly [string | number, ...(string | number)[]],
  origin: 'key' | 'value' = 'value',
) {
  return keys.map((key, index) => ({
    type: 'unknown' as const,
    origin: index === keys.length - 1 ? origin : ('value' as const),
    input: undefined,
    key,
    value: undefined,
  })) as [v.IssuePathItem, ...v.IssuePathItem[]];
}

/**
 * A rule over the fields `fields` of a mapping, checked once each of them is valid: `problem`
 * says what is wrong, reported at the field `at`.
 */
export function crossCheck(
  fields: readonly [string, ...string[]],
  at: string,
  problem: (input: Mapping) => string | undefined,
): v.GenericValidation {
  type Paths = [[string], ...[string][]];
  const check = v.partialCheck<Mapping, Paths, Mapping, v.ErrorMessage<v.PartialCheckIssue<Mapping>>>(
    fields.map((field) => [field]) as Paths,
    (input) => problem(input) === undefined,
    (issue) => problem(issue.input as Mapping) ?? '',
  );
  return v.forward<Mapping, v.PartialCheckIssue<Mapping>, [string]>(check, [at]);
}

/** Checks that the number `field` is at least `floor`, another field of the same mapping. */
export function atLeast(field: string, floor: string): v.GenericValidation {
  return crossCheck([field, floor], field, (input) =>
    (input[field] as number) >= (input[floor] as number)
      ? undefined
      : `expected at least ${floor} (${input[floor]}), found ${input[field]}`,
  );
}

/** Reads `value` at `path` with `schema`: every issue becomes a problem of `check`; `undefined` if there was one. */
export function readWith<T>(
  check: Checker,
  schema: Schema<T>,
  value: unknown,
  path: FieldPath,
): T | undefined {
  const result = v.safeParse(schema, value);
  for (const issue of inReadingOrder(result.issues ?? [])) {
    check.report(
      [...path, ...keysOf(issue)],
      issue.message,
      issue.path?.at(-1)?.origin === 'key' ? 'key' : 'value',
    );
  }
  return result.success ? result.output : undefined;
}

type Issue = v.BaseIssue<unknown>;

function keysOf(issue: Issue): (string | number)[] {
  return (issue.path ?? []).map((item) => item.key as string | number);
}

/** valibot checks a mapping's keys after its fields; a reader of the file meets an unknown key first. */
function inReadingOrder(issues: readonly Issue[]): Issue[] {
  const ordered: Issue[] = [];
  const unknownKeyIn = (issue: Issue): string | undefined =>
    issue.expected === KNOWN_KEY ? JSON.stringify(keysOf(issue).slice(0, -1)) : undefined;
  for (const issue of issues) {
    const parent = unknownKeyIn(issue);
    const inside = (other: Issue): boolean =>
      unknownKeyIn(other) !== parent && JSON.stringify(keysOf(other)).startsWith(parent?.slice(0, -1) ?? '');
    const at = parent === undefined ? -1 : ordered.findIndex(inside);
    ordered.splice(at === -1 ? ordered.length : at, 0, issue);
  }
  return ordered;
}

/** Reads one value of type `T`, or reports why it cannot and returns `undefined`. */
export interface Reader<T> {
  /** What a valid value looks like, for messages: `a positive integer`. */
  readonly expected: string;
  read(check: Checker, value: unknown, path: FieldPath): T | undefined;
}

/** A schema as a `Reader`. */
export function asReader<T>(schema: Schema<T>): Reader<T> {
  return { expected: expectedOf(schema), read: (check, value, path) => readWith(check, schema, value, path) };
}

/** Any string, even empty. */
export const anyString = valueOf('a string', (v): v is string => typeof v === 'string');

/** A string with at least one non-space character. */
export const nonBlankString = valueOf(
  'a non-blank string',
  (v): v is string => typeof v === 'string' && v.trim() !== '',
);

/** An integer ≥ 1. */
export const positiveInteger = valueOf(
  'a positive integer',
  (v): v is number => Number.isSafeInteger(v) && (v as number) >= 1,
);

/** An integer ≥ 0. */
export const nonNegativeInteger = valueOf(
  'an integer ≥ 0',
  (v): v is number => Number.isSafeInteger(v) && (v as number) >= 0,
);

/** A finite number ≥ 0. */
export const nonNegativeNumber = valueOf(
  'a number ≥ 0',
  (v): v is number => typeof v === 'number' && Number.isFinite(v) && v >= 0,
);

/** An integer from `min` to `max`, both included; the bounds are written with grouped digits. */
export function integerInRange(min: number, max: number): Schema<number> {
  return valueOf(
    `an integer from ${groupThousands(min)} to ${groupThousands(max)}`,
    (v): v is number => Number.isSafeInteger(v) && (v as number) >= min && (v as number) <= max,
  );
}

/** A finite number in `[min, max]`, or `(min, max]` when `minExclusive`. */
export function numberInRange(min: number, max: number, minExclusive = false): Schema<number> {
  return valueOf(
    minExclusive ? `a number greater than ${min} and at most ${max}` : `a number from ${min} to ${max}`,
    (v): v is number =>
      typeof v === 'number' && Number.isFinite(v) && (minExclusive ? v > min : v >= min) && v <= max,
  );
}

/** One of a fixed set of strings; a near miss earns a suggestion. */
export function oneOf<T extends string>(choices: readonly T[]): Schema<T> {
  const expected = `one of: ${listChoices(choices)}`;
  return accepting<T>(expected, (value) => {
    if (typeof value === 'string' && (choices as readonly string[]).includes(value)) return undefined;
    const suggestion = typeof value === 'string' ? closestMatch(value, choices) : undefined;
    return expectedFound(
      expected,
      value,
      suggestion === undefined ? undefined : `did you mean "${suggestion}"?`,
    );
  });
}

/**
 * A list whose every item `item` accepts; each bad item is reported at its index. With
 * `nonEmpty`, an empty list is a problem too; with `maxItems`, a longer one (its items unread).
 */
export function listOf<T>(
  item: Schema<T>,
  options: { nonEmpty?: boolean; of?: string; maxItems?: number } = {},
): Schema<T[]> {
  const of = options.of ?? expectedOf(item);
  const max = options.maxItems === undefined ? undefined : groupThousands(options.maxItems);
  const expected =
    max === undefined
      ? `${options.nonEmpty === true ? 'a non-empty list' : 'a list'} of ${of}`
      : `a list of ${options.nonEmpty === true ? '1 to' : 'at most'} ${max} ${of}`;
  const list = accepting<unknown[]>(expected, (value) => {
    if (!Array.isArray(value) || (options.nonEmpty === true && value.length === 0)) {
      return expectedFound(expected, value);
    }
    if (options.maxItems !== undefined && value.length > options.maxItems) {
      return `expected ${expected}, found a list of ${groupThousands(value.length)}`;
    }
    return undefined;
  });
  return described(v.pipe(list, v.array(item)), expected);
}
