import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runChecks } from '../../src/scoring/checks.js';
import type { Check } from '../../src/scoring/types.js';

const conversation = [{ role: 'user' as const, content: 'Give me JSON about a cat.' }];
const one = async (check: Check, answer: string) => (await runChecks([check], answer, conversation))[0];

describe('answer checks', () => {
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'troupe-checks-'));
    await writeFile(
      join(dir, 'polite.mjs'),
      'export default (answer) => ({ pass: /please/i.test(answer), reason: "politeness" });',
    );
    await writeFile(
      join(dir, 'score.mjs'),
      'export function check(answer, { prompt }) { return prompt.includes("cat") ? 0.75 : 0; }',
    );
    await writeFile(join(dir, 'throws.mjs'), 'export default () => { throw new Error("boom"); };');
    await writeFile(join(dir, 'bad.mjs'), 'export default () => "yes";');
  });
  afterAll(async () => rm(dir, { recursive: true, force: true }));

  it.each<[string, Check, string, boolean, RegExp]>([
    ['contains', { kind: 'contains', value: 'cat', ignoreCase: false }, 'a cat', true, /contains "cat"/],
    [
      'contains, missing',
      { kind: 'contains', value: 'Cat', ignoreCase: false },
      'a cat',
      false,
      /missing "Cat"/,
    ],
    [
      'contains, ignoring case',
      { kind: 'contains', value: 'Cat', ignoreCase: true },
      'a cat',
      true,
      /contains/,
    ],
    [
      'notContains',
      { kind: 'notContains', value: 'dog', ignoreCase: false },
      'a cat',
      true,
      /does not contain/,
    ],
    [
      'notContains, present',
      { kind: 'notContains', value: 'cat', ignoreCase: false },
      'a cat',
      false,
      /must not/,
    ],
    ['regex', { kind: 'regex', pattern: '^a\\s+c', flags: '' }, 'a cat', true, /matches \/\^a/],
    ['regex, no match', { kind: 'regex', pattern: 'dog', flags: 'i' }, 'a cat', false, /does not match/],
    ['equals, trimmed', { kind: 'equals', value: 'yes', trim: true }, ' yes\n', true, /equals/],
    ['equals, different', { kind: 'equals', value: 'yes', trim: true }, 'no', false, /is "no", not "yes"/],
    ['maxLength', { kind: 'maxLength', chars: 5 }, 'short', true, /5 characters/],
    ['maxLength, over', { kind: 'maxLength', chars: 3 }, 'longer', false, /over the limit of 3/],
    ['json', { kind: 'json' }, '{"name": "Tom"}', true, /valid JSON/],
    ['json in a fenced block', { kind: 'json' }, 'Here:\n```json\n{"a": 1}\n```', true, /valid JSON/],
    ['json, invalid', { kind: 'json' }, 'not json', false, /is not valid JSON/],
    [
      'json with a schema',
      {
        kind: 'json',
        schema: { type: 'object', required: ['name'], properties: { name: { type: 'string' } } },
      },
      '{"name": "Tom"}',
      true,
      /matching the schema/,
    ],
    [
      'json against a schema, wrong',
      { kind: 'json', schema: { type: 'object', properties: { legs: { type: 'integer', maximum: 4 } } } },
      '{"legs": 5}',
      false,
      /\/legs must be ≤ 4/,
    ],
  ])('%s', async (_name, check, answer, passed, reason) => {
    const result = await one(check, answer);
    expect(result?.passed).toBe(passed);
    expect(result?.reason).toMatch(reason);
  });

  it('a schema keyword troupe does not check is an error of the check, not a silent pass', async () => {
    const result = await one({ kind: 'json', schema: { type: 'string', pattern: '^a' } }, '"abc"');
    expect(result).toMatchObject({ passed: null, reason: expect.stringContaining('pattern') as string });
  });

  it('script checks: pass/fail with a reason, a score, and a throw or bad value recorded as an error', async () => {
    expect(await one({ kind: 'script', path: join(dir, 'polite.mjs') }, 'please sit')).toMatchObject({
      passed: true,
      reason: 'politeness',
    });
    expect(await one({ kind: 'script', path: join(dir, 'score.mjs') }, 'meow')).toMatchObject({
      passed: true,
      score: 0.75,
    });
    expect(await one({ kind: 'script', path: join(dir, 'throws.mjs') }, 'x')).toMatchObject({
      passed: null,
      reason: expect.stringContaining('boom') as string,
    });
    expect(await one({ kind: 'script', path: join(dir, 'bad.mjs') }, 'x')).toMatchObject({ passed: null });
    expect(await one({ kind: 'script', path: join(dir, 'missing.mjs') }, 'x')).toMatchObject({
      passed: null,
    });
  });
});
