/**
 * Reads the `expect:` of a suite: one check, or a list of them. A check is a
 * mapping with one kind key and its options:
 * `{contains: "x", ignoreCase?}`, `{notContains: "x", ignoreCase?}`,
 * `{regex: "p", flags?}`, `{equals: "x", trim?}`, `{json: true}` or
 * `{json: {schema: {...}}}`, `{maxLength: n}`, `{script: "./check.mjs"}`.
 */
import { SCHEMA_KEYWORDS, schemaProblems } from '../scoring/json-schema.js';
import type { Check } from '../scoring/types.js';
import {
  closestMatch,
  describeValue,
  isMapping,
  listChoices,
  type Checker,
  type FieldPath,
} from './schema-check.js';
import { listOfReaders, optionalField, readMapping, requiredField, type Reader } from './legacy-readers.js';
import { anyString, nonBlankString, positiveInteger, readWith, valueOf } from './schemas.js';

/** The kinds of check, each the key that names it. */
export const CHECK_KINDS = [
  'contains',
  'notContains',
  'regex',
  'equals',
  'json',
  'maxLength',
  'script',
] as const;

/** Options each kind accepts beside its own key. */
const OPTIONS: Readonly<Record<(typeof CHECK_KINDS)[number], readonly string[]>> = {
  contains: ['ignoreCase'],
  notContains: ['ignoreCase'],
  regex: ['flags'],
  equals: ['trim'],
  json: [],
  maxLength: [],
  script: [],
};

/** The flags a `regex` check may use, each at most once. */
const REGEX_FLAGS = 'gimsuy';
const booleanReader = valueOf('true or false', (v): v is boolean => typeof v === 'boolean');
const anyText = valueOf('a non-empty string', (v): v is string => typeof v === 'string' && v !== '');
const flagsReader = valueOf(
  `regex flags: some of ${[...REGEX_FLAGS].join(', ')}, each at most once`,
  (v): v is string =>
    typeof v === 'string' &&
    [...v].every((flag) => REGEX_FLAGS.includes(flag)) &&
    new Set(v).size === v.length,
);
const schemaObjectReader = valueOf('a JSON Schema (a mapping)', isMapping);

/** The keys of the `json` check's options. */
const JSON_OPTION_KEYS = ['schema'] as const;

/** One check. */
export const checkReader: Reader<Check> = {
  expected: `a check: a mapping with one of ${CHECK_KINDS.join(', ')}`,
  read(check, value, path) {
    if (!isMapping(value)) {
      check.expected(path, this.expected, value);
      return undefined;
    }
    const kinds = CHECK_KINDS.filter((kind) => kind in value);
    if (kinds.length !== 1) {
      check.report(
        path,
        kinds.length === 0
          ? `expected one check kind (${listChoices(CHECK_KINDS)}), found ${describeValue(value)}`
          : `expected one check kind per check, found ${kinds.join(' and ')}`,
      );
      return undefined;
    }
    const kind = kinds[0] as (typeof CHECK_KINDS)[number];
    readMapping(check, value, path, [kind, ...OPTIONS[kind]], `a ${kind} check`);
    return readKind(check, kind, value, path);
  },
};

function readKind(
  check: Checker,
  kind: (typeof CHECK_KINDS)[number],
  value: Readonly<Record<string, unknown>>,
  path: FieldPath,
): Check | undefined {
  const at = [...path, kind];
  switch (kind) {
    case 'contains':
    case 'notContains': {
      const text = readWith(check, anyText, value[kind], at);
      const ignoreCase = optionalField(check, value, 'ignoreCase', path, booleanReader) ?? false;
      return text === undefined ? undefined : { kind, value: text, ignoreCase };
    }
    case 'regex': {
      const pattern = readWith(check, anyText, value.regex, at);
      const flags = optionalField(check, value, 'flags', path, flagsReader) ?? '';
      if (pattern === undefined) return undefined;
      try {
        new RegExp(pattern, flags);
      } catch (error) {
        check.report(
          at,
          `expected a valid regular expression, found ${describeValue(pattern)} (${error instanceof Error ? error.message : String(error)})`,
        );
        return undefined;
      }
      return { kind, pattern, flags };
    }
    case 'equals': {
      const text = readWith(check, anyString, value.equals, at);
      const trim = optionalField(check, value, 'trim', path, booleanReader) ?? true;
      return text === undefined ? undefined : { kind, value: text, trim };
    }
    case 'json':
      return readJsonCheck(check, value.json, at);
    case 'maxLength': {
      const chars = readWith(check, positiveInteger, value.maxLength, at);
      return chars === undefined ? undefined : { kind, chars };
    }
    case 'script': {
      const scriptPath = readWith(check, nonBlankString, value.script, at);
      if (scriptPath === undefined) return undefined;
      // Resolved against the suite file, and checked to be readable, by the loader.
      check.refer(at, scriptPath);
      return { kind, path: scriptPath };
    }
    default: {
      const unknown: never = kind;
      return unknown;
    }
  }
}

/** `json: true`, or `json: { schema }` with a schema the check can evaluate fully. */
function readJsonCheck(check: Checker, spec: unknown, path: FieldPath): Check | undefined {
  if (spec === true) return { kind: 'json' };
  if (!isMapping(spec)) {
    check.expected(path, 'true, or { schema: <a JSON Schema> }', spec);
    return undefined;
  }
  const before = check.problems.length;
  const options = readMapping(check, spec, path, JSON_OPTION_KEYS, 'json check options');
  if (options === undefined) return undefined;
  const schema = requiredField(check, options, 'schema', path, schemaObjectReader);
  if (schema === undefined) return undefined;
  // A keyword the validator does not know would pass every answer unchecked: refuse it here, where it is written.
  for (const problem of schemaProblems(schema)) {
    const keyword = problem.path.at(-1);
    const suggestion =
      problem.atKey && typeof keyword === 'string' ? closestMatch(keyword, SCHEMA_KEYWORDS) : undefined;
    const message =
      suggestion === undefined ? problem.message : `${problem.message} (did you mean "${suggestion}"?)`;
    check.report([...path, 'schema', ...problem.path], message, problem.atKey ? 'key' : 'value');
  }
  return check.problems.length > before ? undefined : { kind: 'json', schema };
}

const checksReader = listOfReaders(checkReader);

/** `expect:`: one check or a list of them. */
export const expectReader: Reader<Check[]> = {
  expected: 'a check or a list of checks',
  read(check, value, path) {
    if (Array.isArray(value)) return checksReader.read(check, value, path);
    const one = checkReader.read(check, value, path);
    return one === undefined ? undefined : [one];
  },
};
