import { describe, expect, it } from 'vitest';
import { schemaProblems, validateJson } from '../../src/scoring/json-schema.js';

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
    ['annotations', { $schema: 'x', title: 't', description: 'd', default: 1, examples: [1] }, 1],
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
    ['a minimum', { minimum: 1 }, 0, '/ must be ≥ 1'],
    ['a maximum', { properties: { n: { maximum: 3 } } }, { n: 4 }, '/n must be ≤ 3'],
    ['a minLength', { minLength: 3 }, 'ab', '/ must have at least 3 characters'],
    ['a maxLength', { maxLength: 1 }, '😀😀', '/ must have at most 1 characters'],
    ['minItems', { minItems: 2 }, [1], '/ must have at least 2 items'],
    ['maxItems', { maxItems: 0 }, [1], '/ must have at most 0 items'],
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
      '/ must match a schema of anyOf (/ must be string; / must be number)',
    ],
    [
      'oneOf matching two',
      { oneOf: [{ type: 'number' }, { type: 'integer' }] },
      2,
      '/ must match exactly one schema of oneOf (matches 2)',
    ],
    ['allOf', { allOf: [{ type: 'number' }, { minimum: 3 }] }, 2, '/ must be ≥ 3'],
  ])('refuses: %s', (_name, schema, value, problem) => {
    expect(schemaProblems(schema)).toEqual([]);
    expect(validateJson(value, schema)).toBe(problem);
  });
});

describe('schemaProblems', () => {
  it('names every keyword it does not check, at any depth, at its key', () => {
    const problems = schemaProblems({
      type: 'object',
      pattern: '^a',
      properties: { email: { type: 'string', format: 'email' } },
      items: { $ref: '#/x' },
      anyOf: [{ not: {} }],
      additionalProperties: { patternProperties: {} },
    });
    expect(problems.map((p) => [p.path, p.atKey])).toEqual([
      [['pattern'], true],
      [['properties', 'email', 'format'], true],
      [['items', '$ref'], true],
      [['anyOf', 0, 'not'], true],
      [['additionalProperties', 'patternProperties'], true],
    ]);
    expect(problems[0]?.message).toMatch(/^unsupported JSON Schema keyword \(troupe checks type, properties/);
  });

  it('refuses malformed values of the keywords it checks', () => {
    const problems = schemaProblems({
      type: 'strng',
      required: 'name',
      properties: [],
      items: [{ type: 'string' }],
      enum: [],
      minimum: '1',
      maxLength: -1,
      oneOf: {},
      allOf: [3],
    });
    expect(problems.map((p) => `${p.path.join('.')}: ${p.message}`)).toEqual([
      'type: expected a type (null, boolean, object, array, number, integer, string) or a list of them, found "strng"',
      'required: expected a list of property names, found "name"',
      'properties: expected a mapping of property names to schemas, found an empty list',
      'items: unsupported: items as a list (tuple form); give one schema for every item',
      'enum: expected a non-empty list of values, found an empty list',
      'minimum: expected a number, found "1"',
      'maxLength: expected an integer ≥ 0, found -1',
      'oneOf: expected a non-empty list of schemas, found a mapping',
      'allOf.0: expected a schema (a mapping, or true or false), found 3',
    ]);
  });

  it('accepts true and false as whole schemas', () => {
    expect(schemaProblems(true)).toEqual([]);
    expect(validateJson(1, false)).toBe('/ is not allowed');
  });
});
