/**
 * A small JSON Schema validator for the `json` check, covering the keywords
 * evaluation answers commonly need: type, properties, required,
 * additionalProperties, items, enum, const, minimum/maximum, minLength/maxLength,
 * minItems/maxItems, anyOf/oneOf/allOf, plus boolean schemas. A schema using any
 * other keyword (or a known one with a malformed value) is refused — reported by
 * `schemaProblems` — rather than silently half-checked.
 */

/** Keywords that only annotate a schema; they never change whether a value matches. */
const ANNOTATIONS = ['$schema', '$id', '$comment', 'title', 'description', 'default', 'examples'] as const;

/** Keywords this validator checks. */
export const SUPPORTED_KEYWORDS = [
  'type',
  'properties',
  'required',
  'additionalProperties',
  'items',
  'enum',
  'const',
  'minimum',
  'maximum',
  'minLength',
  'maxLength',
  'minItems',
  'maxItems',
  'anyOf',
  'oneOf',
  'allOf',
] as const;

/** The JSON types a `type` keyword may name. */
export const JSON_TYPES = ['null', 'boolean', 'object', 'array', 'number', 'integer', 'string'] as const;

const KNOWN = new Set<string>([...ANNOTATIONS, ...SUPPORTED_KEYWORDS]);
const COUNT_KEYWORDS = ['minLength', 'maxLength', 'minItems', 'maxItems'] as const;
const BOUND_KEYWORDS = ['minimum', 'maximum'] as const;
const COMBINATORS = ['anyOf', 'oneOf', 'allOf'] as const;

/** Where a problem sits in a schema: its keys and list indexes from the root. */
export type SchemaPath = readonly (string | number)[];

/** Why a schema cannot be checked, and where. */
export interface SchemaProblem {
  readonly path: SchemaPath;
  /** `unsupported keyword …` or `expected …, found …`. */
  readonly message: string;
  /** True when the problem is the key itself (an unsupported keyword), not its value. */
  readonly atKey: boolean;
}

type Schema = Readonly<Record<string, unknown>>;

function isObject(value: unknown): value is Schema {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function hasOwn(object: object, key: string): boolean {
  return Object.prototype.hasOwnProperty.call(object, key);
}

function isCount(value: unknown): boolean {
  return Number.isSafeInteger(value) && (value as number) >= 0;
}

/** Describes a found value: `"x"`, `3`, `a list`, `a mapping`. */
function describe(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return value.length === 0 ? 'an empty list' : 'a list';
  if (typeof value === 'object') return 'a mapping';
  return JSON.stringify(value) ?? typeof value;
}

/**
 * Every reason `schema` cannot be checked: keywords this validator does not implement
 * (e.g. `pattern`, `$ref`, tuple `items`), and known keywords with malformed values.
 * Empty when `validateJson` checks it fully.
 */
export function schemaProblems(schema: unknown): SchemaProblem[] {
  const problems: SchemaProblem[] = [];
  const wrong = (path: SchemaPath, expected: string, found: unknown): void => {
    problems.push({ path, message: `expected ${expected}, found ${describe(found)}`, atKey: false });
  };
  const visit = (node: unknown, path: SchemaPath): void => {
    if (typeof node === 'boolean') return;
    if (!isObject(node)) {
      wrong(path, 'a schema (a mapping, or true or false)', node);
      return;
    }
    for (const [key, value] of Object.entries(node)) {
      const at = [...path, key];
      if (!KNOWN.has(key)) {
        problems.push({
          path: at,
          message: `unsupported JSON Schema keyword (troupe checks ${SUPPORTED_KEYWORDS.join(', ')})`,
          atKey: true,
        });
      } else if (key === 'type') {
        const types = Array.isArray(value) ? value : [value];
        const valid = types.length > 0 && types.every((t) => (JSON_TYPES as readonly unknown[]).includes(t));
        if (!valid) wrong(at, `a type (${JSON_TYPES.join(', ')}) or a list of them`, value);
      } else if (key === 'properties') {
        if (!isObject(value)) wrong(at, 'a mapping of property names to schemas', value);
        else for (const [name, child] of Object.entries(value)) visit(child, [...at, name]);
      } else if (key === 'required') {
        if (!Array.isArray(value) || !value.every((name) => typeof name === 'string')) {
          wrong(at, 'a list of property names', value);
        }
      } else if (key === 'additionalProperties') {
        visit(value, at);
      } else if (key === 'items') {
        if (Array.isArray(value)) {
          problems.push({
            path: at,
            message: 'unsupported: items as a list (tuple form); give one schema for every item',
            atKey: false,
          });
        } else visit(value, at);
      } else if (key === 'enum') {
        if (!Array.isArray(value) || value.length === 0) wrong(at, 'a non-empty list of values', value);
      } else if ((BOUND_KEYWORDS as readonly string[]).includes(key)) {
        if (typeof value !== 'number' || !Number.isFinite(value)) wrong(at, 'a number', value);
      } else if ((COUNT_KEYWORDS as readonly string[]).includes(key)) {
        if (!isCount(value)) wrong(at, 'an integer ≥ 0', value);
      } else if ((COMBINATORS as readonly string[]).includes(key)) {
        if (!Array.isArray(value) || value.length === 0) wrong(at, 'a non-empty list of schemas', value);
        else value.forEach((child: unknown, index) => visit(child, [...at, index]));
      }
    }
  };
  visit(schema, []);
  return problems;
}

/** Formats a schema or value path as a JSON Pointer: `/properties/name`; the root is `/`. */
export function pointer(path: SchemaPath): string {
  return path.length === 0 ? '/' : path.map((segment) => `/${segment}`).join('');
}

function typeOf(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'array';
  if (typeof value === 'number') return Number.isInteger(value) ? 'integer' : 'number';
  return typeof value;
}

function matchesType(value: unknown, type: unknown): boolean {
  const types = Array.isArray(type) ? type : [type];
  const actual = typeOf(value);
  return types.some((t) => t === actual || (t === 'number' && actual === 'integer'));
}

/** Structural equality of JSON values (key order does not matter), for `enum` and `const`. */
function jsonEqual(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (Array.isArray(a) || Array.isArray(b)) {
    return (
      Array.isArray(a) && Array.isArray(b) && a.length === b.length && a.every((x, i) => jsonEqual(x, b[i]))
    );
  }
  if (!isObject(a) || !isObject(b)) return false;
  const keys = Object.keys(a);
  return (
    keys.length === Object.keys(b).length && keys.every((key) => hasOwn(b, key) && jsonEqual(a[key], b[key]))
  );
}

/** JSON Schema counts characters (code points), not UTF-16 units. */
function characters(text: string): number {
  return [...text].length;
}

function typeNames(type: unknown): string {
  return (Array.isArray(type) ? type : [type]).map(String).join(' or ');
}

function oneOfValues(values: readonly unknown[]): string {
  return values.map((value) => JSON.stringify(value)).join(', ');
}

/**
 * The first way `value` breaks `schema`, as `/items/0 must be string` (the path is a JSON
 * Pointer into `value`); undefined when it conforms. Keywords `schemaProblems` would refuse
 * are not checked here: call it first.
 */
export function validateJson(value: unknown, schema: unknown, path: SchemaPath = []): string | undefined {
  const at = pointer(path);
  if (schema === true) return undefined;
  if (schema === false) return `${at} is not allowed`;
  if (!isObject(schema)) return undefined;
  const s = schema;
  if (s.type !== undefined && !matchesType(value, s.type)) return `${at} must be ${typeNames(s.type)}`;
  if (Array.isArray(s.enum) && !s.enum.some((option) => jsonEqual(option, value))) {
    return `${at} must be one of ${oneOfValues(s.enum)}`;
  }
  if (hasOwn(s, 'const') && !jsonEqual(s.const, value)) return `${at} must be ${JSON.stringify(s.const)}`;
  if (typeof value === 'number') {
    if (typeof s.minimum === 'number' && value < s.minimum) return `${at} must be ≥ ${s.minimum}`;
    if (typeof s.maximum === 'number' && value > s.maximum) return `${at} must be ≤ ${s.maximum}`;
  }
  if (typeof value === 'string') {
    if (typeof s.minLength === 'number' && characters(value) < s.minLength) {
      return `${at} must have at least ${s.minLength} characters`;
    }
    if (typeof s.maxLength === 'number' && characters(value) > s.maxLength) {
      return `${at} must have at most ${s.maxLength} characters`;
    }
  }
  if (Array.isArray(value)) {
    if (typeof s.minItems === 'number' && value.length < s.minItems) {
      return `${at} must have at least ${s.minItems} items`;
    }
    if (typeof s.maxItems === 'number' && value.length > s.maxItems) {
      return `${at} must have at most ${s.maxItems} items`;
    }
    if (s.items !== undefined) {
      for (const [index, item] of value.entries()) {
        const problem = validateJson(item, s.items, [...path, index]);
        if (problem !== undefined) return problem;
      }
    }
  }
  if (isObject(value)) {
    const problem = objectProblem(value, s, path);
    if (problem !== undefined) return problem;
  }
  return combinatorProblem(value, s, path);
}

function objectProblem(value: Schema, s: Schema, path: SchemaPath): string | undefined {
  const at = pointer(path);
  for (const key of Array.isArray(s.required) ? (s.required as unknown[]) : []) {
    if (typeof key === 'string' && !hasOwn(value, key)) return `${at} must have property "${key}"`;
  }
  const properties = isObject(s.properties) ? s.properties : {};
  for (const [key, child] of Object.entries(value)) {
    if (hasOwn(properties, key)) {
      const problem = validateJson(child, properties[key], [...path, key]);
      if (problem !== undefined) return problem;
    } else if (s.additionalProperties === false) {
      return `${at} must not have property "${key}"`;
    } else if (s.additionalProperties !== undefined) {
      const problem = validateJson(child, s.additionalProperties, [...path, key]);
      if (problem !== undefined) return problem;
    }
  }
  return undefined;
}

function combinatorProblem(value: unknown, s: Schema, path: SchemaPath): string | undefined {
  const at = pointer(path);
  if (Array.isArray(s.allOf)) {
    for (const sub of s.allOf) {
      const problem = validateJson(value, sub, path);
      if (problem !== undefined) return problem;
    }
  }
  if (Array.isArray(s.anyOf)) {
    const problems = s.anyOf.map((sub) => validateJson(value, sub, path));
    if (problems.every((problem) => problem !== undefined)) {
      return `${at} must match a schema of anyOf (${problems.join('; ')})`;
    }
  }
  if (Array.isArray(s.oneOf)) {
    const matching = s.oneOf.filter((sub) => validateJson(value, sub, path) === undefined).length;
    if (matching !== 1) return `${at} must match exactly one schema of oneOf (matches ${matching})`;
  }
  return undefined;
}
