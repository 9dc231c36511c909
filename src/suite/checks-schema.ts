/**
 * The schema of the `expect:` of a suite: one check, or a list of them. A check is a
 * mapping with one kind key and its options:
 * `{contains: "x", ignoreCase?}`, `{notContains: "x", ignoreCase?}`,
 * `{regex: "p", flags?}`, `{equals: "x", trim?}`, `{json: true}` or
 * `{json: {schema: {...}}}`, `{maxLength: n}`, `{script: "./check.mjs"}`.
 */
import * as v from 'valibot';
import { SCHEMA_KEYWORDS, schemaProblems } from '../scoring/json-schema.js';
import type { Check } from '../scoring/types.js';
import { closestMatch, describeValue, isMapping, listChoices, type Mapping } from './schema-check.js';
import {
  anyString,
  expectedFound,
  keyed,
  listOf,
  nonBlankString,
  pathTo,
  positiveInteger,
  valueOf,
  type Schema,
} from './schemas.js';

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

type Kind = (typeof CHECK_KINDS)[number];

/** The kinds of check a mapping names (a check names one). */
export function kindsOf(value: Mapping): Kind[] {
  return CHECK_KINDS.filter((kind) => kind in value);
}

/** The flags a `regex` check may use, each at most once. */
const REGEX_FLAGS = 'gimsuy';
const isFlags = (v: unknown): v is string =>
  typeof v === 'string' && [...v].every((flag) => REGEX_FLAGS.includes(flag)) && new Set(v).size === v.length;
const booleanSchema = valueOf('true or false', (v): v is boolean => typeof v === 'boolean');
const anyText = valueOf('a non-empty string', (v): v is string => typeof v === 'string' && v !== '');

function textCheck(kind: 'contains' | 'notContains'): Schema<Check> {
  return v.pipe(
    keyed({ [kind]: anyText, ignoreCase: v.optional(booleanSchema, false) }, `a ${kind} check`),
    v.transform((c) => ({ kind, value: c[kind], ignoreCase: c.ignoreCase }) as Check),
  );
}

/** `json: { schema }`, with a schema the check can evaluate fully. */
const jsonOptions = v.pipe(
  keyed({ schema: valueOf('a JSON Schema (a mapping)', isMapping) }, 'json check options'),
  v.rawCheck(({ dataset, addIssue }) => {
    const { schema } = dataset.value as Mapping;
    if (!isMapping(schema)) return;
    // A keyword the validator does not know would pass every answer unchecked: refuse it here, where it is written.
    for (const problem of schemaProblems(schema)) {
      const keyword = problem.path.at(-1);
      const suggestion =
        problem.atKey && typeof keyword === 'string' ? closestMatch(keyword, SCHEMA_KEYWORDS) : undefined;
      addIssue({
        message:
          suggestion === undefined ? problem.message : `${problem.message} (did you mean "${suggestion}"?)`,
        path: pathTo(['schema', ...problem.path], problem.atKey ? 'key' : 'value'),
      });
    }
  }),
);

const JSON_SPEC = 'true, or { schema: <a JSON Schema> }';

const KINDS: Readonly<Record<Kind, Schema<Check>>> = {
  contains: textCheck('contains'),
  notContains: textCheck('notContains'),
  regex: v.pipe(
    keyed(
      {
        regex: anyText,
        flags: v.optional(
          valueOf(`regex flags: some of ${[...REGEX_FLAGS].join(', ')}, each at most once`, isFlags),
          '',
        ),
      },
      'a regex check',
    ),
    v.rawCheck(({ dataset, addIssue }) => {
      const value = dataset.value as Mapping;
      if (typeof value.regex !== 'string' || value.regex === '') return;
      try {
        new RegExp(value.regex, isFlags(value.flags) ? value.flags : '');
      } catch (error) {
        const reason = error instanceof Error ? error.message : String(error);
        addIssue({
          message: `expected a valid regular expression, found ${describeValue(value.regex)} (${reason})`,
          path: pathTo(['regex']),
        });
      }
    }),
    v.transform((c) => ({ kind: 'regex' as const, pattern: c.regex, flags: c.flags })),
  ),
  equals: v.pipe(
    keyed({ equals: anyString, trim: v.optional(booleanSchema, true) }, 'a equals check'),
    v.transform((c) => ({ kind: 'equals' as const, value: c.equals, trim: c.trim })),
  ),
  json: v.pipe(
    keyed(
      {
        json: v.lazy((spec) =>
          spec === true
            ? v.literal(true)
            : isMapping(spec)
              ? jsonOptions
              : valueOf(JSON_SPEC, (_): _ is never => false),
        ),
      },
      'a json check',
    ),
    v.transform(({ json }): Check =>
      json === true ? { kind: 'json' } : { kind: 'json', schema: json.schema },
    ),
  ),
  maxLength: v.pipe(
    keyed({ maxLength: positiveInteger }, 'a maxLength check'),
    v.transform((c) => ({ kind: 'maxLength' as const, chars: c.maxLength })),
  ),
  // Resolved against the suite file, and checked to be readable, by the loader.
  script: v.pipe(
    keyed({ script: nonBlankString }, 'a script check'),
    v.transform((c) => ({ kind: 'script' as const, path: c.script })),
  ),
};

const CHECK = `a check: a mapping with one of ${CHECK_KINDS.join(', ')}`;

/** One check. */
export const checkSchema: Schema<Check> = v.pipe(
  v.unknown(),
  v.rawCheck(({ dataset: { value }, addIssue }) => {
    const kinds = isMapping(value) ? kindsOf(value) : [];
    if (kinds.length === 1) return;
    addIssue({
      message: !isMapping(value)
        ? expectedFound(CHECK, value)
        : kinds.length === 0
          ? `expected one check kind (${listChoices(CHECK_KINDS)}), found ${describeValue(value)}`
          : `expected one check kind per check, found ${kinds.join(' and ')}`,
    });
  }),
  v.lazy((value) => KINDS[kindsOf(value as Mapping)[0] ?? 'json']),
);

const checksSchema = listOf(checkSchema);
const oneCheck = v.pipe(
  checkSchema,
  v.transform((c) => [c]),
);

/** `expect:`: one check or a list of them. */
export const expectSchema: Schema<Check[]> = v.lazy((value) =>
  Array.isArray(value) ? checksSchema : oneCheck,
);
