/**
 * JSON Schema (draft-07) for the `json` check, by ajv in strict mode with ajv-formats. A schema
 * ajv would not check fully (an unknown keyword or format, a malformed value, a `$ref` that does
 * not resolve) is refused — reported by `schemaProblems` — rather than silently half-checked.
 */
import { createRequire } from 'node:module';
import type * as AjvModule from 'ajv';
import type { Ajv, AnySchema, ErrorObject, ValidateFunction } from 'ajv';
import type addFormatsPlugin from 'ajv-formats';
import draft07 from 'ajv/dist/refs/json-schema-draft-07.json' with { type: 'json' };

/** The `$schema` values naming the draft troupe checks (a schema may also leave `$schema` out). */
const DRAFT_07_URIS = ['http://json-schema.org/draft-07/schema#', 'http://json-schema.org/draft-07/schema'];

const require = createRequire(import.meta.url);

/** The keywords a schema may use: draft-07's own. */
export const SCHEMA_KEYWORDS: readonly string[] = Object.keys(draft07.properties);

/**
 * Draft-07's meta-schema, made strict: no keyword outside draft-07, no format ajv-formats does not
 * know, no other draft. Its errors carry the schema path of every problem at once, which ajv's own
 * strict mode (a thrown message, one problem at a time) does not.
 */
function strictMetaSchema(formats: readonly string[]): AnySchema {
  return {
    ...draft07,
    $id: 'troupe:strict-draft-07',
    additionalProperties: false,
    properties: { ...draft07.properties, $schema: { enum: DRAFT_07_URIS }, format: { enum: formats } },
  };
}

/** Where a problem sits in a schema: its keys and list indexes from the root. */
export type SchemaPath = readonly (string | number)[];

/** Why a schema cannot be checked, and where. */
export interface SchemaProblem {
  readonly path: SchemaPath;
  /** `unknown JSON Schema keyword …`, `expected …, found …` or ajv's reason. */
  readonly message: string;
  /** True when the problem is the key itself (an unknown keyword), not its value. */
  readonly atKey: boolean;
}

/** The two ajv instances: one checks answers, one checks schemas against the strict meta-schema. */
interface Validators {
  readonly ajv: Ajv;
  readonly checkMeta: ValidateFunction;
}

let validators: Validators | undefined;

/**
 * Loaded and built on first use, not when the module loads: loading ajv and compiling the
 * meta-schema take about 150 ms of CPU, and every process that may run a check loads this module
 * (the daemon and its workers at a restart, before their first request), while few suites have a
 * `json` check. Both packages are CommonJS, so a synchronous require loads them on the spot.
 */
function validatorsNow(): Validators {
  if (validators) return validators;
  const { Ajv } = require('ajv') as typeof AjvModule;
  const addFormats = require('ajv-formats') as typeof addFormatsPlugin.default;
  // Strict, except where draft-07 itself is clear: a `required` name need not be among `properties`,
  // a name may match both `properties` and `patternProperties`, types need not be spelled out.
  // ownProperties: an answer's `{}` does not have the property "toString".
  // addUsedSchema: false: two schemas with the same `$id` in one process must not collide.
  const ajv = addFormats(
    new Ajv({
      strict: true,
      strictRequired: false,
      strictTypes: false,
      strictTuples: false,
      allowMatchingProperties: true,
      ownProperties: true,
      addUsedSchema: false,
    }),
  );
  const metaAjv = addFormats(
    new Ajv({ allErrors: true, strict: true, allowUnionTypes: true, validateSchema: false }),
  );
  validators = { ajv, checkMeta: metaAjv.compile(strictMetaSchema(Object.keys(ajv.formats))) };
  return validators;
}

type Compiled = { readonly problems: SchemaProblem[] } | { readonly validate: ValidateFunction };

/** Distinct schemas kept compiled; the oldest is forgotten past it (a daemon loads many suites). */
const COMPILED_SCHEMAS_MAX = 256;
const compiled = new Map<string, { readonly schema: AnySchema; readonly result: Compiled }>();

/** Compiles `schema` once per distinct text: checks call this for every answer. */
function compile(schema: unknown): Compiled {
  const text = JSON.stringify(schema) ?? 'null';
  const known = compiled.get(text);
  if (known !== undefined) return known.result;
  // ajv keeps every schema object it compiled: it is handed one object per distinct text.
  const own = JSON.parse(text) as AnySchema;
  const result = compileFresh(own);
  if (compiled.size >= COMPILED_SCHEMAS_MAX) {
    const [oldestText, oldest] = compiled.entries().next().value as [string, { schema: AnySchema }];
    compiled.delete(oldestText);
    validatorsNow().ajv.removeSchema(oldest.schema);
  }
  compiled.set(text, { schema: own, result });
  return result;
}

function compileFresh(schema: AnySchema): Compiled {
  const { ajv, checkMeta } = validatorsNow();
  if (!checkMeta(schema)) return { problems: metaProblems(schema, checkMeta.errors ?? []) };
  try {
    return { validate: ajv.compile(schema) };
  } catch (error) {
    // What the meta-schema cannot see: a `$ref` that does not resolve, a pattern that does not compile.
    const message = error instanceof Error ? error.message : String(error);
    return { problems: [{ path: [], message, atKey: false }] };
  }
}

/**
 * Every reason `schema` cannot be checked: keywords outside draft-07 (at their key), unknown
 * formats and malformed values (at the value), unresolvable references (at the root). Empty
 * when `validateJson` checks it fully.
 */
export function schemaProblems(schema: unknown): SchemaProblem[] {
  const result = compile(schema);
  return 'problems' in result ? result.problems : [];
}

/**
 * The first way `value` breaks `schema`, as `/items/0 must be string` (the path is a JSON
 * Pointer into `value`); undefined when it conforms. A schema with problems matches nothing:
 * call `schemaProblems` first.
 */
export function validateJson(value: unknown, schema: unknown): string | undefined {
  const result = compile(schema);
  if ('problems' in result) return `${pointer([])} the schema cannot be checked`;
  if (result.validate(value)) return undefined;
  const errors = result.validate.errors ?? [];
  const last = errors.at(-1);
  if (last === undefined) return `${pointer([])} does not match`;
  // Without allErrors ajv stops at the first failing keyword: errors before it are the reasons
  // its subschemas (anyOf, oneOf, if/then…) failed.
  const reasons = errors.slice(0, -1).map(describeDataError);
  return reasons.length === 0
    ? describeDataError(last)
    : `${describeDataError(last)} (${reasons.join('; ')})`;
}

/** Formats a schema or value path as a JSON Pointer (RFC 6901): `/properties/a~1b`; the root is `/`. */
export function pointer(path: SchemaPath): string {
  if (path.length === 0) return '/';
  return path.map((segment) => `/${String(segment).replaceAll('~', '~0').replaceAll('/', '~1')}`).join('');
}

function describeDataError(error: ErrorObject): string {
  const at = error.instancePath === '' ? '/' : error.instancePath;
  const params = error.params as Record<string, unknown>;
  switch (error.keyword) {
    case 'type':
      return `${at} must be ${String(params.type).split(',').join(' or ')}`;
    case 'enum':
      return `${at} must be one of ${listValues(params.allowedValues)}`;
    case 'const':
      return `${at} must be ${JSON.stringify(params.allowedValue)}`;
    case 'required':
      return `${at} must have property ${JSON.stringify(params.missingProperty)}`;
    case 'additionalProperties':
      return `${at} must not have property ${JSON.stringify(params.additionalProperty)}`;
    case 'false schema':
      return `${at} is not allowed`;
    case 'oneOf':
      return Array.isArray(params.passingSchemas)
        ? `${at} must match exactly one schema of oneOf (matches ${params.passingSchemas.length})`
        : `${at} must match exactly one schema of oneOf (matches 0)`;
    default:
      return `${at} ${error.message ?? `fails ${error.keyword}`}`;
  }
}

/** Decodes a JSON Pointer into `root` into keys and list indexes. */
function pathOf(root: unknown, jsonPointer: string): (string | number)[] {
  const path: (string | number)[] = [];
  let node = root;
  for (const raw of jsonPointer.split('/').slice(1)) {
    const key = raw.replaceAll('~1', '/').replaceAll('~0', '~');
    const segment = Array.isArray(node) ? Number(key) : key;
    path.push(segment);
    node = (node as Record<string | number, unknown> | undefined)?.[segment];
  }
  return path;
}

function valueAt(root: unknown, path: SchemaPath): unknown {
  return path.reduce<unknown>((node, segment) => (node as Record<string | number, unknown>)[segment], root);
}

/** The strict meta-schema's errors as one problem per place. */
function metaProblems(schema: unknown, errors: readonly ErrorObject[]): SchemaProblem[] {
  const problems: SchemaProblem[] = [];
  const expectedAt = new Map<string, string[]>();
  for (const error of errors) {
    const params = error.params as Record<string, unknown>;
    if (error.keyword === 'additionalProperties') {
      problems.push({
        path: [...pathOf(schema, error.instancePath), String(params.additionalProperty)],
        message: 'unknown keyword of JSON Schema draft-07',
        atKey: true,
      });
      continue;
    }
    // anyOf and allOf in the meta-schema only gather their branches' own errors.
    if (error.keyword === 'anyOf' || error.keyword === 'allOf') continue;
    const expected = expectedAt.get(error.instancePath) ?? [];
    const wanted = expectation(error);
    if (!expected.includes(wanted)) expected.push(wanted);
    expectedAt.set(error.instancePath, expected);
  }
  const places = [...expectedAt.keys(), ...problems.map((problem) => pointer(problem.path))];
  for (const [instancePath, expected] of expectedAt) {
    // A schema (say `items: { fromat: … }`) is also checked against the meta-schema's other
    // branch (a list of schemas); the error deeper down is the one that says what is wrong.
    if (places.some((place) => place.startsWith(`${instancePath}/`))) continue;
    const path = pathOf(schema, instancePath);
    problems.push({
      path,
      message: `expected ${expected.join(' or ')}, found ${describe(valueAt(schema, path))}`,
      atKey: false,
    });
  }
  return problems;
}

const TYPE_NAMES: Readonly<Record<string, string>> = {
  object: 'a mapping',
  array: 'a list',
  string: 'a string',
  number: 'a number',
  integer: 'an integer',
  boolean: 'true or false',
  null: 'null',
};

/** What a meta-schema error asked for, in the suite reader's words. */
function expectation(error: ErrorObject): string {
  const params = error.params as Record<string, unknown>;
  switch (error.keyword) {
    case 'type':
      return String(params.type)
        .split(',')
        .map((type) => TYPE_NAMES[type] ?? type)
        .join(' or ');
    case 'enum':
      return `one of ${listValues(params.allowedValues)}`;
    case 'minimum':
      return `a number ≥ ${String(params.limit)}`;
    case 'minItems':
      return params.limit === 1 ? 'a non-empty list' : `a list of at least ${String(params.limit)} items`;
    case 'uniqueItems':
      return 'a list without duplicates';
    case 'format':
      return `a valid ${String(params.format)}`;
    default:
      return `a value that ${error.message ?? `passes ${error.keyword}`}`;
  }
}

function listValues(values: unknown): string {
  return Array.isArray(values) ? values.map((value) => JSON.stringify(value)).join(', ') : String(values);
}

/** Describes a found value: `"x"`, `3`, `a list`, `a mapping`. */
function describe(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return value.length === 0 ? 'an empty list' : 'a list';
  if (typeof value === 'object') return 'a mapping';
  return JSON.stringify(value) ?? typeof value;
}
