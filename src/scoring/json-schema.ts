/**
 * A small JSON Schema validator for the `json` check: the keywords evaluation
 * answers commonly need. A schema using any other keyword is refused (the check
 * reports it) rather than silently half-checked.
 */

const SUPPORTED = new Set([
  '$schema',
  'title',
  'description',
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
]);

type Schema = Record<string, unknown>;

/** Keywords of `schema` (at any depth) that this validator does not implement. */
export function unsupportedKeywords(schema: unknown): string[] {
  const found = new Set<string>();
  const visit = (node: unknown): void => {
    if (typeof node !== 'object' || node === null || Array.isArray(node)) return;
    for (const [key, value] of Object.entries(node)) {
      if (!SUPPORTED.has(key)) found.add(key);
      if (key === 'properties' && typeof value === 'object' && value !== null)
        Object.values(value).forEach(visit);
      else if (key === 'items' || key === 'additionalProperties') visit(value);
      else if ((key === 'anyOf' || key === 'oneOf' || key === 'allOf') && Array.isArray(value))
        value.forEach(visit);
    }
  };
  visit(schema);
  return [...found];
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

/** The first way `value` breaks `schema`, as `/path must …`; undefined when it conforms. */
export function validateJson(value: unknown, schema: unknown, path = ''): string | undefined {
  if (typeof schema !== 'object' || schema === null) return undefined;
  const s = schema as Schema;
  const at = path === '' ? '/' : path;
  if (s.type !== undefined && !matchesType(value, s.type)) return `${at} must be ${JSON.stringify(s.type)}`;
  if (Array.isArray(s.enum) && !s.enum.some((option) => JSON.stringify(option) === JSON.stringify(value))) {
    return `${at} must be one of ${JSON.stringify(s.enum)}`;
  }
  if ('const' in s && JSON.stringify(s.const) !== JSON.stringify(value))
    return `${at} must be ${JSON.stringify(s.const)}`;
  if (typeof value === 'number') {
    if (typeof s.minimum === 'number' && value < s.minimum) return `${at} must be ≥ ${s.minimum}`;
    if (typeof s.maximum === 'number' && value > s.maximum) return `${at} must be ≤ ${s.maximum}`;
  }
  if (typeof value === 'string') {
    if (typeof s.minLength === 'number' && value.length < s.minLength)
      return `${at} must have at least ${s.minLength} characters`;
    if (typeof s.maxLength === 'number' && value.length > s.maxLength)
      return `${at} must have at most ${s.maxLength} characters`;
  }
  if (Array.isArray(value)) {
    if (typeof s.minItems === 'number' && value.length < s.minItems)
      return `${at} must have at least ${s.minItems} items`;
    if (typeof s.maxItems === 'number' && value.length > s.maxItems)
      return `${at} must have at most ${s.maxItems} items`;
    if (s.items !== undefined) {
      for (const [index, item] of value.entries()) {
        const problem = validateJson(item, s.items, `${path}/${index}`);
        if (problem) return problem;
      }
    }
  }
  if (typeOf(value) === 'object') {
    const object = value as Record<string, unknown>;
    for (const key of Array.isArray(s.required) ? (s.required as string[]) : []) {
      if (!(key in object)) return `${at} must have property "${key}"`;
    }
    const properties = (s.properties ?? {}) as Record<string, unknown>;
    for (const [key, child] of Object.entries(object)) {
      if (key in properties) {
        const problem = validateJson(child, properties[key], `${path}/${key}`);
        if (problem) return problem;
      } else if (s.additionalProperties === false) {
        return `${at} must not have property "${key}"`;
      } else if (typeof s.additionalProperties === 'object') {
        const problem = validateJson(child, s.additionalProperties, `${path}/${key}`);
        if (problem) return problem;
      }
    }
  }
  if (Array.isArray(s.allOf)) {
    for (const sub of s.allOf) {
      const problem = validateJson(value, sub, path);
      if (problem) return problem;
    }
  }
  if (Array.isArray(s.anyOf) && !s.anyOf.some((sub) => validateJson(value, sub, path) === undefined)) {
    return `${at} must match one of anyOf`;
  }
  if (
    Array.isArray(s.oneOf) &&
    s.oneOf.filter((sub) => validateJson(value, sub, path) === undefined).length !== 1
  ) {
    return `${at} must match exactly one of oneOf`;
  }
  return undefined;
}
