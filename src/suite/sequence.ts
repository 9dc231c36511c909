/**
 * Reads one sequence, in troupe's own form `{id, system?, prompts, category?, reference?, expect?}`
 * (a prompt is a string, or `{prompt, expect}` to check its answer) or in the MT-Bench question
 * form `{question_id, category, turns, reference?}`.
 */

import path from 'node:path';

import { idSchema, isValidId, systemPromptSchema } from './readers.js';
import { hasKey, isMapping, type Checker, type FieldPath } from './schema-check.js';
import { listOfReaders, optionalField, readMapping, requiredField, type Reader } from './legacy-readers.js';
import {
  anyString,
  expectedFound,
  listOf,
  nonBlankString,
  nonNegativeInteger,
  readWith,
  valueOf,
} from './schemas.js';
import type { Check } from '../scoring/types.js';
import { expectReader } from './checks-schema.js';
import type { SequenceConfig } from './types.js';
import { MAX_PROMPTS_PER_SEQUENCE } from './defaults.js';

/** The keys of a sequence in troupe's own form. */
export const SEQUENCE_KEYS = ['id', 'system', 'prompts', 'category', 'reference', 'expect'] as const;

/** The keys of a prompt written as a mapping (to give it checks). */
export const PROMPT_KEYS = ['prompt', 'expect'] as const;

/** The keys of an MT-Bench question (lm-sys/FastChat `question.jsonl`). */
export const MT_BENCH_KEYS = ['question_id', 'category', 'turns', 'reference'] as const;

const promptReader = valueOf(
  'a non-blank prompt (string)',
  (v): v is string => typeof v === 'string' && v.trim() !== '',
);
const promptsReader = listOf(promptReader, {
  nonEmpty: true,
  of: 'non-blank prompts (strings)',
  maxItems: MAX_PROMPTS_PER_SEQUENCE,
});
const referenceReader = listOf(anyString, { of: 'reference answers (strings), one per prompt' });

/** A prompt in troupe's form: a string, or `{ prompt, expect }` to check its answer. */
interface PromptItem {
  readonly text: string;
  readonly checks: readonly Check[];
}

const promptItemReader: Reader<PromptItem> = {
  expected: 'a non-blank prompt (string), or { prompt, expect }',
  read(check, value, path) {
    if (!isMapping(value)) {
      const text = readWith(check, promptReader, value, path);
      return text === undefined ? undefined : { text, checks: [] };
    }
    const before = check.problems.length;
    const entry = readMapping(check, value, path, PROMPT_KEYS, 'a prompt with checks');
    if (entry === undefined) return undefined;
    const text = requiredField(check, entry, 'prompt', path, promptReader);
    const checks = optionalField(check, entry, 'expect', path, expectReader) ?? [];
    return check.problems.length > before || text === undefined ? undefined : { text, checks };
  },
};
const promptItemsReader = listOfReaders(promptItemReader, {
  nonEmpty: true,
  maxItems: MAX_PROMPTS_PER_SEQUENCE,
  of: 'non-blank prompts (strings, or { prompt, expect })',
});

const questionIdReader: Reader<string> = {
  expected: 'a question number or an id',
  read(check, value, path) {
    if (typeof value === 'number') {
      const n = readWith(check, nonNegativeInteger, value, path);
      return n === undefined ? undefined : String(n);
    }
    if (typeof value === 'string') return readWith(check, idSchema, value, path);
    check.report(path, expectedFound(this.expected, value));
    return undefined;
  },
};

/** The id a sequence entry declares and the field it is in, if it is a valid id, whatever else is wrong. */
export function declaredSequenceId(value: unknown): { id: string; field: 'id' | 'question_id' } | undefined {
  if (!isMapping(value)) return undefined;
  if (hasKey(value, 'question_id')) {
    const raw = value.question_id;
    const id = Number.isSafeInteger(raw) && (raw as number) >= 0 ? String(raw) : raw;
    return typeof id === 'string' && isValidId(id) ? { id, field: 'question_id' } : undefined;
  }
  return typeof value.id === 'string' && isValidId(value.id) ? { id: value.id, field: 'id' } : undefined;
}

/** Reads a sequence in troupe's own form (the only form allowed inline in a suite). */
export function readSequence(check: Checker, value: unknown, path: FieldPath): SequenceConfig | undefined {
  const before = check.problems.length;
  const entry = readMapping(check, value, path, SEQUENCE_KEYS);
  if (entry === undefined) return undefined;
  const id = requiredField(check, entry, 'id', path, idSchema);
  const system = optionalField(check, entry, 'system', path, systemPromptSchema);
  const items = requiredField(check, entry, 'prompts', path, promptItemsReader);
  const everyTurn = optionalField(check, entry, 'expect', path, expectReader) ?? [];
  const prompts = items?.map((item) => item.text);
  const category = optionalField(check, entry, 'category', path, nonBlankString);
  const reference = readReference(check, entry, path, prompts, 'prompts');
  if (check.problems.length > before || id === undefined || items === undefined || prompts === undefined) {
    return undefined;
  }
  // A prompt's own checks first, then the sequence's; no `checks` at all when none is asked for.
  const checks = items.map((item) => [...item.checks, ...everyTurn]);
  const withChecks = checks.some((list) => list.length > 0) ? { checks } : {};
  return { ...compact({ id, system, prompts, category, reference }), ...withChecks };
}

/**
 * Reads a line of a sequences file: an MT-Bench question when it has `question_id` (its id
 * becomes `String(question_id)`, its `turns` the prompts), else a sequence in troupe's form.
 */
export function readSequenceLine(
  check: Checker,
  value: unknown,
  path: FieldPath,
): SequenceConfig | undefined {
  if (!isMapping(value) || !hasKey(value, 'question_id')) return readSequence(check, value, path);
  const before = check.problems.length;
  const entry = readMapping(check, value, path, MT_BENCH_KEYS, 'an MT-Bench question');
  if (entry === undefined) return undefined;
  const id = requiredField(check, entry, 'question_id', path, questionIdReader);
  const prompts = requiredField(check, entry, 'turns', path, promptsReader);
  const category = optionalField(check, entry, 'category', path, nonBlankString);
  const reference = readReference(check, entry, path, prompts, 'turns');
  if (check.problems.length > before || id === undefined || prompts === undefined) return undefined;
  return compact({ id, prompts, category, reference });
}

function readReference(
  check: Checker,
  entry: Readonly<Record<string, unknown>>,
  path: FieldPath,
  prompts: readonly string[] | undefined,
  promptsKey: string,
): string[] | undefined {
  const reference = optionalField(check, entry, 'reference', path, referenceReader);
  if (reference !== undefined && prompts !== undefined && reference.length > prompts.length) {
    check.report(
      [...path, 'reference'],
      `expected at most one reference answer per prompt (${prompts.length} in ${promptsKey}), found ${reference.length}`,
    );
    return undefined;
  }
  return reference;
}

/** Drops the optional fields that are absent, so resolved suites compare and serialize cleanly. */
function compact(sequence: {
  id: string;
  prompts: string[];
  system?: string | undefined;
  category?: string | undefined;
  reference?: string[] | undefined;
}): SequenceConfig {
  const { id, prompts, system, category, reference } = sequence;
  return {
    id,
    ...(system === undefined ? {} : { system }),
    prompts,
    ...(category === undefined ? {} : { category }),
    ...(reference === undefined ? {} : { reference }),
  };
}

/**
 * Script checks name their module relative to the suite file (in a sequences file too); the
 * resolved suite holds absolute paths, so a job runs the same checks whatever its working
 * directory.
 */
export function withResolvedScripts(sequence: SequenceConfig, directory: string): SequenceConfig {
  if (sequence.checks === undefined) return sequence;
  const checks = sequence.checks.map((list) =>
    list.map((check): Check =>
      check.kind === 'script' ? { kind: 'script', path: path.resolve(directory, check.path) } : check,
    ),
  );
  return { ...sequence, checks };
}
