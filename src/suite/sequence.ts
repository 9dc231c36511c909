/**
 * Reads one sequence, in troupe's own form `{id, system?, prompts, category?, reference?, expect?}`
 * (a prompt is a string, or `{prompt, expect}` to check its answer) or in the MT-Bench question
 * form `{question_id, category, turns, reference?}`.
 */

import path from 'node:path';

import * as v from 'valibot';
import { idSchema, isValidId, systemPromptSchema } from './readers.js';
import {
  hasKey,
  isMapping,
  type Checker,
  type FieldPath,
  type FileReference,
  type Mapping,
} from './schema-check.js';
import {
  anyString,
  crossCheck,
  described,
  keyed,
  listOf,
  mapping,
  nonBlankString,
  nonNegativeInteger,
  readWith,
  valueOf,
} from './schemas.js';
import type { Check } from '../scoring/types.js';
import { expectSchema, kindsOf } from './checks-schema.js';
import type { SequenceConfig } from './types.js';
import { MAX_PROMPTS_PER_SEQUENCE } from './defaults.js';

/** The keys of a sequence in troupe's own form. */
export const SEQUENCE_KEYS = ['id', 'system', 'prompts', 'category', 'reference', 'expect'] as const;

const promptSchema = valueOf(
  'a non-blank prompt (string)',
  (v): v is string => typeof v === 'string' && v.trim() !== '',
);
const promptsSchema = listOf(promptSchema, {
  nonEmpty: true,
  of: 'non-blank prompts (strings)',
  maxItems: MAX_PROMPTS_PER_SEQUENCE,
});
const referenceSchema = v.optional(listOf(anyString, { of: 'reference answers (strings), one per prompt' }));

/** A prompt in troupe's form: a string, or `{ prompt, expect }` to check its answer. */
interface PromptItem {
  readonly text: string;
  readonly checks: readonly Check[];
}

const promptWithChecks = v.pipe(
  keyed({ prompt: promptSchema, expect: v.optional(expectSchema, []) }, 'a prompt with checks'),
  v.transform((entry): PromptItem => ({ text: entry.prompt, checks: entry.expect })),
);
const promptText = v.pipe(
  promptSchema,
  v.transform((text): PromptItem => ({ text, checks: [] })),
);
const promptItemsSchema = listOf<PromptItem>(
  v.lazy((value) => (isMapping(value) ? promptWithChecks : promptText)),
  {
    nonEmpty: true,
    maxItems: MAX_PROMPTS_PER_SEQUENCE,
    of: 'non-blank prompts (strings, or { prompt, expect })',
  },
);

const QUESTION_ID = 'a question number or an id';
const questionIdSchema = described(
  v.lazy((value) =>
    typeof value === 'number'
      ? v.pipe(nonNegativeInteger, v.transform(String))
      : typeof value === 'string'
        ? idSchema
        : valueOf(QUESTION_ID, (_): _ is never => false),
  ),
  QUESTION_ID,
);

/** At most one reference answer per prompt (the prompts in `promptsKey`). */
function referencesAtMost(promptsKey: string) {
  return crossCheck(['reference', promptsKey], 'reference', (entry) => {
    const [reference, prompts] = [entry.reference as unknown[] | undefined, entry[promptsKey] as unknown[]];
    return reference === undefined || reference.length <= prompts.length
      ? undefined
      : `expected at most one reference answer per prompt (${prompts.length} in ${promptsKey}), found ${reference.length}`;
  });
}

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

/** A sequence in troupe's own form (the only form allowed inline in a suite). */
// Listed in reading order: a line of a sequences file reports its problems in this order.
const sequenceFields = mapping(
  {
    id: idSchema,
    system: v.optional(systemPromptSchema),
    prompts: promptItemsSchema,
    expect: v.optional(expectSchema, []),
    category: v.optional(nonBlankString),
    reference: referenceSchema,
  },
  undefined,
  SEQUENCE_KEYS,
);
const sequenceSchema = v.pipe(
  sequenceFields,
  referencesAtMost('prompts'),
  v.transform((entry: v.InferOutput<typeof sequenceFields>): SequenceConfig => {
    const { id, system, prompts: items, expect, category, reference } = entry;
    // A prompt's own checks first, then the sequence's; no `checks` at all when none is asked for.
    const checks = items.map((item) => [...item.checks, ...expect]);
    const prompts = items.map((item) => item.text);
    const withChecks = checks.some((list) => list.length > 0) ? { checks } : {};
    return { ...compact({ id, system, prompts, category, reference }), ...withChecks };
  }),
);

/** An MT-Bench question (lm-sys/FastChat `question.jsonl`): its id becomes `String(question_id)`, its `turns` the prompts. */
const questionFields = keyed(
  {
    question_id: questionIdSchema,
    category: v.optional(nonBlankString),
    turns: promptsSchema,
    reference: referenceSchema,
  },
  'an MT-Bench question',
);
const questionSchema = v.pipe(
  questionFields,
  referencesAtMost('turns'),
  v.transform(({ question_id, turns, category, reference }: v.InferOutput<typeof questionFields>) =>
    compact({ id: question_id, prompts: turns, category, reference }),
  ),
);

/** Reads a sequence in troupe's own form, and notes the script files its checks name. */
export function readSequence(check: Checker, value: unknown, path: FieldPath): SequenceConfig | undefined {
  check.files.push(...scriptsOf(value, path));
  return readWith(check, sequenceSchema, value, path);
}

/**
 * The script checks a sequence in troupe's form names, each at its field: the loader checks
 * them, once reading is done, against the suite's directory.
 */
function scriptsOf(value: unknown, path: FieldPath): FileReference[] {
  const found: FileReference[] = [];
  const add = (expect: unknown, at: FieldPath): void => {
    (Array.isArray(expect) ? expect : [expect]).forEach((c: unknown, i) => {
      if (isMapping(c) && typeof c.script === 'string' && c.script.trim() !== '' && kindsOf(c).length === 1) {
        found.push({ path: [...at, ...(Array.isArray(expect) ? [i] : []), 'script'], file: c.script });
      }
    });
  };
  if (!isMapping(value)) return found;
  if (Array.isArray(value.prompts)) {
    value.prompts.forEach((prompt: unknown, i) => {
      if (isMapping(prompt)) add(prompt.expect, [...path, 'prompts', i, 'expect']);
    });
  }
  add(value.expect, [...path, 'expect']);
  return found;
}

/**
 * Reads a line of a sequences file: an MT-Bench question when it has `question_id`, else a
 * sequence in troupe's form.
 */
export function readSequenceLine(
  check: Checker,
  value: unknown,
  path: FieldPath,
): SequenceConfig | undefined {
  if (!isMapping(value) || !hasKey(value, 'question_id')) return readSequence(check, value, path);
  return readWith(check, questionSchema, value as Mapping, path);
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
