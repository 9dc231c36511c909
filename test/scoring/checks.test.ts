import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runChecks, SCRIPT_CHECK_TIMEOUT_MS } from '../../src/scoring/checks.js';
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
    await writeFile(join(dir, 'slow.mjs'), 'export default () => new Promise(() => {});');
    await writeFile(
      join(dir, 'async.mjs'),
      'export default async (answer, { conversation, prompt }) => ({ pass: conversation.length === 3, score: 0.25, reason: `${prompt} / ${answer}` });',
    );
    await writeFile(
      join(dir, 'counted.mjs'),
      'globalThis.troupeCountedLoads = (globalThis.troupeCountedLoads ?? 0) + 1; export default () => true;',
    );
    await writeFile(join(dir, 'not-a-function.mjs'), 'export default 42;');
    await writeFile(join(dir, 'echo.mjs'), 'export default (answer) => JSON.parse(answer);');
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
    ['maxLength', { kind: 'maxLength', chars: 5 }, 'short', true, /^5 characters, within the limit of 5$/],
    [
      'maxLength, over',
      { kind: 'maxLength', chars: 3 },
      'longer',
      false,
      /^6 characters, over the limit of 3$/,
    ],
    [
      'maxLength, counting characters, not UTF-16 units',
      { kind: 'maxLength', chars: 2 },
      '😀😀',
      true,
      /^2 characters/,
    ],
    [
      'maxLength, large numbers grouped',
      { kind: 'maxLength', chars: 2000 },
      'x'.repeat(2314),
      false,
      /^2 314 characters, over the limit of 2 000$/,
    ],
    ['json', { kind: 'json' }, '{"name": "Tom"}', true, /valid JSON/],
    ['json in a fenced block', { kind: 'json' }, 'Here:\n```json\n{"a": 1}\n```', true, /valid JSON/],
    ['json, invalid', { kind: 'json' }, 'not json', false, /^is not valid JSON: Unexpected token/],
    [
      'json in a broken fenced block',
      { kind: 'json' },
      'Here:\n```json\n{"a": }\n```',
      false,
      /^is not valid JSON: Unexpected token/,
    ],
    [
      'json, a whole answer holding a fence inside a string',
      { kind: 'json' },
      '{"code": "```js\\nx\\n```"}',
      true,
      /^is valid JSON$/,
    ],
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
      /\/legs must be <= 4/,
    ],
    [
      'json against a schema, an item of the wrong type',
      {
        kind: 'json',
        schema: { type: 'object', properties: { items: { type: 'array', items: { type: 'string' } } } },
      },
      '{"items": [1, "b"]}',
      false,
      /^JSON does not match the schema: \/items\/0 must be string$/,
    ],
    [
      'contains, quoted',
      { kind: 'contains', value: 'refund', ignoreCase: false },
      'no',
      false,
      /^missing "refund"$/,
    ],
  ])('%s', async (_name, check, answer, passed, reason) => {
    const result = await one(check, answer);
    expect(result?.passed).toBe(passed);
    expect(result?.reason).toMatch(reason);
  });

  it('a schema keyword outside JSON Schema is an error of the check, not a silent pass', async () => {
    const result = await one({ kind: 'json', schema: { type: 'string', patern: '^a' } }, '"abc"');
    expect(result).toEqual({
      kind: 'json',
      passed: null,
      score: null,
      reason: expect.stringMatching(
        /^the schema cannot be checked: \/patern: unknown keyword of JSON Schema draft-07/,
      ) as string,
    });
  });

  it('never rejects, even on a check that cannot be evaluated', async () => {
    const results = await runChecks(
      [
        { kind: 'regex', pattern: '(', flags: '' },
        { kind: 'contains', value: 'cat', ignoreCase: false },
      ],
      'a cat',
      conversation,
    );
    expect(results.map((r) => r.passed)).toEqual([null, true]);
    expect(results[0]?.reason).toMatch(/^the check failed: Invalid regular expression/);
  });

  describe('script checks', () => {
    const script = (name: string): Check => ({ kind: 'script', path: join(dir, name) });

    it('pass or fail with the reason the script gives', async () => {
      expect(await one(script('polite.mjs'), 'please sit')).toEqual({
        kind: 'script',
        passed: true,
        score: 1,
        reason: 'politeness',
      });
      expect(await one(script('polite.mjs'), 'sit')).toMatchObject({ passed: false, score: 0 });
    });

    it('a named check export returning a score: passes from 0.5', async () => {
      expect(await one(script('score.mjs'), 'meow')).toEqual({
        kind: 'script',
        passed: true,
        score: 0.75,
        reason: 'the script scored it 0.75',
      });
    });

    it('an async function, called with the answer, the conversation and the prompt', async () => {
      const chat = [
        { role: 'system' as const, content: 'Be kind.' },
        { role: 'user' as const, content: 'Hi' },
        { role: 'user' as const, content: 'Tell me' },
      ];
      expect((await runChecks([script('async.mjs')], 'an answer', chat))[0]).toEqual({
        kind: 'script',
        passed: true,
        score: 0.25,
        reason: 'Tell me / an answer',
      });
    });

    it.each([
      ['true', true, 1],
      ['0', false, 0],
      ['1', true, 1],
      ['{"score": 0.4}', false, 0.4],
      ['{"pass": false, "score": 0.9}', false, 0.9],
      ['{"pass": true}', true, 1],
    ])('a script returning %s', async (returned, passed, score) => {
      expect(await one(script('echo.mjs'), returned)).toMatchObject({ passed, score });
    });

    it.each([
      ['"yes"'],
      ['1.5'],
      ['-0.1'],
      ['null'],
      ['[true]'],
      ['{}'],
      ['{"reason": "fine"}'],
      ['{"pass": "yes"}'],
      ['{"pass": true, "score": 7}'],
      ['{"pass": true, "reason": 3}'],
      ['{"passed": true}'],
    ])('a script returning %s is an error of the check', async (returned) => {
      const result = await one(script('echo.mjs'), returned);
      expect(result).toMatchObject({ kind: 'script', passed: null, score: null });
      expect(result?.reason).toMatch(/^the script returned .*expected true or false, a score from 0 to 1/);
    });

    it('a throw, a missing module, or a module without a function is an error of the check', async () => {
      expect(await one(script('throws.mjs'), 'x')).toMatchObject({
        passed: null,
        reason: 'the script failed: boom',
      });
      expect(await one(script('missing.mjs'), 'x')).toMatchObject({
        passed: null,
        reason: expect.stringMatching(/^the script failed: Cannot find module/) as string,
      });
      expect(await one(script('not-a-function.mjs'), 'x')).toMatchObject({
        passed: null,
        reason: expect.stringContaining('exports no default or "check" function') as string,
      });
    });

    it('a script that never answers is abandoned at its deadline', async () => {
      const started = Date.now();
      const [result] = await runChecks([script('slow.mjs')], 'x', conversation, { scriptTimeoutMs: 50 });
      expect(result).toMatchObject({ passed: null, reason: 'the script failed: it took longer than 50 ms' });
      expect(Date.now() - started).toBeLessThan(SCRIPT_CHECK_TIMEOUT_MS);
    });

    it('imports each module once', async () => {
      for (let i = 0; i < 3; i += 1) await one(script('counted.mjs'), 'x');
      expect((globalThis as { troupeCountedLoads?: number }).troupeCountedLoads).toBe(1);
    });
  });
});
