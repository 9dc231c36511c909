import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';

import { describe, expect, it } from 'vitest';

import { schemaProblems, validateJson } from '../../src/scoring/json-schema.js';

const require = createRequire(import.meta.url);

/** One schema of the official JSON-Schema test suite and the values it must accept or refuse. */
interface OfficialGroup {
  readonly description: string;
  readonly schema: unknown;
  readonly tests: readonly {
    readonly description: string;
    readonly data: unknown;
    readonly valid: boolean;
  }[];
}

describe('validateJson', () => {
  it.each<[string, unknown, unknown]>([
    ['a type', { type: 'string' }, 'x'],
    ['an integer as a number', { type: 'number' }, 3],
    ['1.0 as an integer', { type: 'integer' }, 1.0],
    ['one of several types', { type: ['string', 'null'] }, null],
    ['an enum, objects compared by value', { enum: [{ a: 1, b: 2 }] }, { b: 2, a: 1 }],
    ['a const', { const: [1, 'x'] }, [1, 'x']],
    ['bounds', { minimum: 1, maximum: 3 }, 3],
    ['string lengths in characters', { minLength: 2, maxLength: 2 }, '😀😀'],
    ['item counts', { minItems: 1, maxItems: 2 }, [1, 2]],
    ['bounds ignore other types', { minimum: 5, minLength: 9 }, true],
    [
      'nested objects',
      {
        type: 'object',
        required: ['name', 'tags'],
        additionalProperties: false,
        properties: { name: { type: 'string' }, tags: { type: 'array', items: { enum: ['a', 'b'] } } },
      },
      { name: 'x', tags: ['a', 'b', 'a'] },
    ],
    ['additionalProperties as a schema', { additionalProperties: { type: 'number' } }, { a: 1, b: 2 }],
    ['anyOf', { anyOf: [{ type: 'string' }, { type: 'number' }] }, 2],
    ['oneOf', { oneOf: [{ type: 'integer' }, { type: 'string' }] }, 2],
    ['allOf', { allOf: [{ type: 'number' }, { minimum: 0 }] }, 2],
    ['boolean schemas', { properties: { a: true } }, { a: 'anything' }],
    [
      'annotations',
      {
        $schema: 'http://json-schema.org/draft-07/schema#',
        title: 't',
        description: 'd',
        default: 1,
        examples: [1],
      },
      1,
    ],
  ])('accepts: %s', (_name, schema, value) => {
    expect(schemaProblems(schema)).toEqual([]);
    expect(validateJson(value, schema)).toBeUndefined();
  });

  it.each<[string, unknown, unknown, string]>([
    ['the root type', { type: 'object' }, [], '/ must be object'],
    ['a number as an integer', { type: 'integer' }, 1.5, '/ must be integer'],
    ['one of several types', { type: ['string', 'null'] }, 1, '/ must be string or null'],
    ['an item type', { items: { type: 'string' } }, ['a', 1], '/1 must be string'],
    [
      'a nested item type',
      { properties: { items: { items: { type: 'string' } } } },
      { items: [1] },
      '/items/0 must be string',
    ],
    ['an enum', { enum: ['a', 'b'] }, 'c', '/ must be one of "a", "b"'],
    ['a const', { const: { a: 1 } }, { a: 2 }, '/ must be {"a":1}'],
    ['a minimum', { minimum: 1 }, 0, '/ must be >= 1'],
    ['a maximum', { properties: { n: { maximum: 3 } } }, { n: 4 }, '/n must be <= 3'],
    ['a minLength', { minLength: 3 }, 'ab', '/ must NOT have fewer than 3 characters'],
    ['a maxLength', { maxLength: 1 }, '😀😀', '/ must NOT have more than 1 characters'],
    ['minItems', { minItems: 2 }, [1], '/ must NOT have fewer than 2 items'],
    ['maxItems', { maxItems: 0 }, [1], '/ must NOT have more than 0 items'],
    ['a required property', { required: ['name'] }, { other: 1 }, '/ must have property "name"'],
    [
      'an inherited name is not a property',
      { required: ['toString'] },
      {},
      '/ must have property "toString"',
    ],
    [
      'additionalProperties: false',
      { properties: { a: {} }, additionalProperties: false },
      { a: 1, b: 2 },
      '/ must not have property "b"',
    ],
    [
      'additionalProperties: false, against an inherited name',
      { properties: {}, additionalProperties: false },
      { constructor: 1 },
      '/ must not have property "constructor"',
    ],
    [
      'additionalProperties as a schema',
      { additionalProperties: { type: 'number' } },
      { a: 'x' },
      '/a must be number',
    ],
    ['a false schema', { properties: { secret: false } }, { secret: 1 }, '/secret is not allowed'],
    [
      'anyOf',
      { anyOf: [{ type: 'string' }, { type: 'number' }] },
      null,
      '/ must match a schema in anyOf (/ must be string; / must be number)',
    ],
    [
      'oneOf matching two',
      { oneOf: [{ type: 'number' }, { type: 'integer' }] },
      2,
      '/ must match exactly one schema of oneOf (matches 2)',
    ],
    ['allOf', { allOf: [{ type: 'number' }, { minimum: 3 }] }, 2, '/ must be >= 3'],
    [
      'oneOf matching none',
      { oneOf: [{ type: 'string' }, { type: 'null' }] },
      1,
      '/ must match exactly one schema of oneOf (matches 0) (/ must be string; / must be null)',
    ],
    ['a pattern', { pattern: '^[a-z]+$' }, 'A1', '/ must match pattern "^[a-z]+$"'],
    [
      'a format',
      { properties: { email: { format: 'email' } } },
      { email: 'x' },
      '/email must match format "email"',
    ],
    ['a tuple', { items: [{ type: 'string' }, { type: 'number' }] }, ['a', 'b'], '/1 must be number'],
    [
      'a reference',
      { definitions: { id: { type: 'integer' } }, properties: { id: { $ref: '#/definitions/id' } } },
      { id: 'x' },
      '/id must be integer',
    ],
    [
      'a property whose name holds / and ~, as a JSON Pointer escapes them',
      { properties: { 'a/b~c': { type: 'number' } } },
      { 'a/b~c': 'x' },
      '/a~1b~0c must be number',
    ],
  ])('refuses: %s', (_name, schema, value, problem) => {
    expect(schemaProblems(schema)).toEqual([]);
    expect(validateJson(value, schema)).toBe(problem);
  });
});

describe('schemaProblems', () => {
  it('names every keyword outside draft-07, at any depth, at its key', () => {
    const problems = schemaProblems({
      type: 'object',
      requried: ['a'],
      properties: { email: { type: 'string', fromat: 'email' } },
      items: { $rfe: '#/x' },
      anyOf: [{ nto: {} }],
    });
    expect(problems.every((p) => p.atKey && p.message === 'unknown keyword of JSON Schema draft-07')).toBe(
      true,
    );
    expect(problems.map((p) => p.path.join('.')).sort()).toEqual([
      'anyOf.0.nto',
      'items.$rfe',
      'properties.email.fromat',
      'requried',
    ]);
  });

  it('refuses malformed values of the keywords, an unknown format and another draft', () => {
    const problems = schemaProblems({
      $schema: 'https://json-schema.org/draft/2020-12/schema',
      type: 'strng',
      required: 'name',
      properties: [],
      enum: [],
      minimum: '1',
      maxLength: -1,
      pattern: '(',
      oneOf: {},
      allOf: [3],
      items: { format: 'emial' },
    });
    expect(problems.map((p) => `${p.path.join('.')}: ${p.message}`).sort()).toEqual([
      '$schema: expected one of "http://json-schema.org/draft-07/schema#", "http://json-schema.org/draft-07/schema", found "https://json-schema.org/draft/2020-12/schema"',
      'allOf.0: expected a mapping or true or false, found 3',
      'enum: expected a non-empty list, found an empty list',
      expect.stringMatching(/^items\.format: expected one of "date", .*"email".*, found "emial"$/),
      'maxLength: expected a number ≥ 0, found -1',
      'minimum: expected a number, found "1"',
      'oneOf: expected a list, found a mapping',
      'pattern: expected a valid regex, found "("',
      'properties: expected a mapping, found an empty list',
      'required: expected a list, found "name"',
      'type: expected one of "array", "boolean", "integer", "null", "number", "object", "string" or a list, found "strng"',
    ]);
  });

  it('refuses a reference that does not resolve, at the root', () => {
    expect(schemaProblems({ properties: { a: { $ref: '#/definitions/missing' } } })).toEqual([
      { path: [], message: expect.stringContaining('#/definitions/missing') as unknown, atKey: false },
    ]);
  });

  it('accepts true and false as whole schemas', () => {
    expect(schemaProblems(true)).toEqual([]);
    expect(validateJson(1, false)).toBe('/ is not allowed');
  });
});

/**
 * A sample of the official JSON-Schema test suite: its draft-4 cases for the keywords whose
 * meaning draft-07 kept (draft-4's boolean exclusiveMinimum, `id` and remote references are left out).
 */
describe('the JSON-Schema test suite (draft-4 cases draft-07 kept)', () => {
  const SAMPLE = [
    'additionalItems',
    'additionalProperties',
    'allOf',
    'anyOf',
    'dependencies',
    'enum',
    'items',
    'maxItems',
    'maxLength',
    'maxProperties',
    'minItems',
    'minLength',
    'minProperties',
    'multipleOf',
    'not',
    'oneOf',
    'pattern',
    'patternProperties',
    'properties',
    'required',
    'type',
    'uniqueItems',
  ];
  /** Schemas with a keyword that has no effect there: troupe refuses them rather than ignore it. */
  const IGNORED_KEYWORD = new Set([
    'additionalItems: items is schema, no additionalItems',
    'additionalItems: additionalItems as false without items',
  ]);
  const cases = SAMPLE.flatMap((keyword) => {
    const file = require.resolve(`json-schema-test-suite/tests/draft4/${keyword}.json`);
    const groups = JSON.parse(readFileSync(file, 'utf8')) as OfficialGroup[];
    return groups
      .filter((group) => !IGNORED_KEYWORD.has(`${keyword}: ${group.description}`))
      .flatMap((group) =>
        group.tests.map(
          (test) => [`${keyword}: ${group.description}: ${test.description}`, group.schema, test] as const,
        ),
      );
  });

  it.each(cases)('%s', (_name, schema, { data, valid }) => {
    expect(schemaProblems(schema)).toEqual([]);
    expect(validateJson(data, schema) === undefined).toBe(valid);
  });
});
