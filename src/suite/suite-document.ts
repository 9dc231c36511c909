/**
 * Checks a suite document's top level, providers and models, and resolves them with their
 * defaults. The sequences file is read by the loader; this module only reports its name.
 */

import * as v from 'valibot';
import {
  DEFAULT_MAX_TOKENS,
  DEFAULT_RUNS,
  MAX_RUNS,
  MAX_ANTHROPIC_TEMPERATURE,
  MAX_TEMPERATURE,
  MIN_TEMPERATURE,
} from './defaults.js';
import { costCapSchema, providerSchema } from './provider.js';
import { ID_EXPECTED, idSchema, isValidId, systemPromptSchema } from './readers.js';
import { declaredSequenceId, readSequence } from './sequence.js';
import { unpricedProblem } from './spend-caps.js';
import {
  closestMatch,
  describeValue,
  hasKey,
  isMapping,
  listChoices,
  type Checker,
  type FieldPath,
  type Mapping,
} from './schema-check.js';
import {
  crossCheck,
  described,
  expectedFound,
  expectedOf,
  integerInRange,
  listOf,
  mapping,
  nonBlankString,
  nonNegativeInteger,
  nonNegativeNumber,
  numberInRange,
  positiveInteger,
  readWith,
  valueOf,
  type Schema,
} from './schemas.js';
import type { Budget, ModelConfig, ProviderConfig, SequenceConfig } from './types.js';
import type { JudgeConfig } from '../scoring/types.js';

/** The keys a suite document may have at its top level. */
export const SUITE_KEYS = [
  'name',
  'runs',
  'providers',
  'models',
  'sequences',
  'sequencesFile',
  'judge',
  'budget',
] as const;

/** Extra judge calls for a reply without a well-formed rating, when `judge.maxUnparsableRetries` is omitted. */
export const DEFAULT_MAX_UNPARSABLE_RETRIES = 3;

/** An id an inline sequence declares (valid or not the rest of it) and the path of that field. */
export interface DeclaredSequenceId {
  readonly id: string;
  readonly path: FieldPath;
}

/**
 * What the document resolved to. A part with problems is `undefined` (the problems are in the
 * `Checker`); the other parts are still there so that every problem of the file can be reported.
 */
export interface SuiteDocument {
  readonly name: string;
  readonly runs: number | undefined;
  readonly providers: Readonly<Record<string, ProviderConfig>> | undefined;
  readonly models: readonly ModelConfig[] | undefined;
  /** The inline sequences; empty when one of them has a problem. */
  readonly sequences: readonly SequenceConfig[];
  /** The id of every inline sequence that declares a valid one, for duplicate checks. */
  readonly sequenceIds: readonly DeclaredSequenceId[];
  /** `sequencesFile` as written (relative to the suite file), if given and valid. */
  readonly sequencesFile: string | undefined;
  /** Providers that no model uses: not an error, but worth a warning. */
  readonly unusedProviders: readonly FieldPath[];
  /** The judge, if the suite has one and it is valid. */
  readonly judge: JudgeConfig | undefined;
  /** The job's spend cap, if the suite has one and it is valid. */
  readonly budget: Budget | undefined;
}

/** Reads the whole document; `defaultName` is used when it has no `name`. */
export function readSuiteDocument(check: Checker, value: unknown, defaultName: string): SuiteDocument {
  readWith(check, mapping({}, undefined, SUITE_KEYS), value, []);
  if (!isMapping(value)) {
    return {
      name: defaultName,
      runs: undefined,
      providers: undefined,
      models: undefined,
      sequences: [],
      sequenceIds: [],
      sequencesFile: undefined,
      unusedProviders: [],
      judge: undefined,
      budget: undefined,
    };
  }
  const part = <T>(key: string, schema: Schema<T>): T | undefined => {
    if (hasKey(value, key) || schema.type === 'optional') return readWith(check, schema, value[key], [key]);
    check.report([key], `missing (expected ${expectedOf(schema)})`);
    return undefined;
  };
  const name = part('name', v.optional(nonBlankString)) ?? defaultName;
  const runs = part('runs', v.optional(integerInRange(1, MAX_RUNS), DEFAULT_RUNS));
  const rawProviders = part('providers', providersSchema);
  const providers = rawProviders && readProviders(check, rawProviders);
  const models = part('models', modelsSchema(rawProviders));
  const sequencesFile = part('sequencesFile', v.optional(nonBlankString));
  const { sequences, sequenceIds } = readInlineSequences(check, value);
  const judge = part('judge', v.optional(judgeSchema(models)));
  const budget = part('budget', v.optional(mapping({ maxCostUsd: costCapSchema })));
  checkModelIds(check, value.models);
  checkCapsArePriced(check, providers, models, budget);
  // On what is written: a model with problems still uses its provider (no false warning).
  const used = new Set(
    Array.isArray(value.models) ? value.models.map((m: unknown) => isMapping(m) && m.provider) : [],
  );
  const unusedProviders = Object.keys(rawProviders ?? {})
    .filter((id) => !used.has(id))
    .map((id) => ['providers', id]);
  return {
    name,
    runs,
    providers,
    models,
    sequences,
    sequenceIds,
    sequencesFile,
    unusedProviders,
    judge,
    budget,
  };
}

const providersSchema = described(
  valueOf(
    'a non-empty mapping of provider ids to providers',
    (v): v is Mapping => isMapping(v) && Object.keys(v).length > 0,
  ),
  'a mapping of provider ids to providers',
);

function readProviders(check: Checker, raw: Mapping): Record<string, ProviderConfig> | undefined {
  const before = check.problems.length;
  const providers: Record<string, ProviderConfig> = {};
  for (const [id, value] of Object.entries(raw)) {
    const path = ['providers', id];
    if (!isValidId(id)) check.report(path, `expected ${ID_EXPECTED} as provider id`, 'key');
    const provider = readWith(check, providerSchema, value, path);
    if (provider !== undefined) providers[id] = provider;
  }
  return check.problems.length > before ? undefined : providers;
}

/** `{ input, output }`: US dollars per million tokens, both required, each ≥ 0. */
const pricesSchema = mapping({ input: nonNegativeNumber, output: nonNegativeNumber });

/** `models`, whose every provider is one of `providers` (when they could be read). */
function modelsSchema(providers: Mapping | undefined): Schema<ModelConfig[]> {
  const providerIds = Object.keys(providers ?? {});
  const model = v.pipe(
    mapping({
      id: idSchema,
      provider: nonBlankString,
      model: nonBlankString,
      temperature: v.optional(numberInRange(MIN_TEMPERATURE, MAX_TEMPERATURE)),
      maxTokens: v.optional(positiveInteger, DEFAULT_MAX_TOKENS),
      system: v.optional(systemPromptSchema),
      pricePerMillionTokens: v.optional(pricesSchema),
    }),
    crossCheck(['provider'], 'provider', ({ provider }) => {
      if (providers === undefined || providerIds.includes(provider as string)) return undefined;
      const suggestion = closestMatch(provider as string, providerIds);
      const hint = suggestion === undefined ? '' : `; did you mean "${suggestion}"?`;
      return `unknown provider ${describeValue(provider)} (expected one of: ${listChoices(providerIds)}${hint})`;
    }),
    crossCheck(['provider', 'temperature'], 'temperature', ({ provider, temperature }) => {
      const type = providers?.[provider as string];
      return (temperature as number) > MAX_ANTHROPIC_TEMPERATURE &&
        isMapping(type) &&
        type.type === 'anthropic'
        ? `expected a number from ${MIN_TEMPERATURE} to ${MAX_ANTHROPIC_TEMPERATURE} for an anthropic provider, found ${temperature}`
        : undefined;
    }),
  ) as Schema<ModelConfig>;
  return described(listOf(model, { nonEmpty: true, of: 'models' }), 'a non-empty list of models');
}

/**
 * Reports a model id used twice. Checked on what is written, so a duplicate shows even when the
 * entry has other problems.
 */
function checkModelIds(check: Checker, models: unknown): void {
  const firstIndexById = new Map<string, number>();
  (Array.isArray(models) ? models : []).forEach((model: unknown, index) => {
    if (!isMapping(model) || typeof model.id !== 'string' || !isValidId(model.id)) return;
    const first = firstIndexById.get(model.id);
    if (first === undefined) firstIndexById.set(model.id, index);
    else
      check.report(
        ['models', index, 'id'],
        `duplicate model id "${model.id}" (first used at models[${first}].id)`,
      );
  });
}

/** `judge: { model, rubric?, maxUnparsableRetries? }`, whose model is one of `models` (when they could be read). */
function judgeSchema(models: readonly ModelConfig[] | undefined): Schema<JudgeConfig> {
  const ids = (models ?? []).map((m) => m.id);
  return v.pipe(
    mapping({
      model: nonBlankString,
      rubric: v.optional(nonBlankString),
      maxUnparsableRetries: v.optional(nonNegativeInteger, DEFAULT_MAX_UNPARSABLE_RETRIES),
    }),
    crossCheck(['model'], 'model', ({ model }) => {
      if (models === undefined || ids.includes(model as string)) return undefined;
      const suggestion = closestMatch(model as string, ids);
      return `unknown model ${describeValue(model)} (expected a model id of this suite: ${listChoices(ids)}${suggestion === undefined ? '' : `; did you mean "${suggestion}"?`})`;
    }),
    v.transform(({ model, rubric, maxUnparsableRetries }: Mapping) => ({
      model,
      maxUnparsableRetries,
      ...(rubric === undefined ? {} : { rubric }),
    })),
  ) as Schema<JudgeConfig>;
}

/**
 * A spend cap counts dollars, so every model it covers needs prices: the job's cap covers every
 * model, a provider's cap the models on it. Reported at the cap, naming the models without prices.
 */
function checkCapsArePriced(
  check: Checker,
  providers: Readonly<Record<string, ProviderConfig>> | undefined,
  models: readonly ModelConfig[] | undefined,
  budget: Budget | undefined,
): void {
  if (models === undefined) return;
  const report = (path: FieldPath, problem: string | undefined): void => {
    if (problem !== undefined) check.report(path, problem);
  };
  if (budget !== undefined)
    report(
      ['budget', 'maxCostUsd'],
      unpricedProblem(models, () => true),
    );
  for (const [id, provider] of Object.entries(providers ?? {})) {
    if (provider.limits?.maxCostUsd === undefined) continue;
    report(
      ['providers', id, 'limits', 'maxCostUsd'],
      unpricedProblem(models, (model) => model.provider === id),
    );
  }
}

function readInlineSequences(
  check: Checker,
  top: Mapping,
): { sequences: SequenceConfig[]; sequenceIds: DeclaredSequenceId[] } {
  const path = ['sequences'];
  const sequences: SequenceConfig[] = [];
  const sequenceIds: DeclaredSequenceId[] = [];
  const withFile = hasKey(top, 'sequencesFile');
  if (!hasKey(top, 'sequences')) {
    if (!withFile) check.report(path, 'missing (expected a non-empty list of sequences, or a sequencesFile)');
    return { sequences, sequenceIds };
  }
  const list = top.sequences;
  if (!Array.isArray(list) || (list.length === 0 && !withFile)) {
    check.report(
      path,
      expectedFound(withFile ? 'a list of sequences' : 'a non-empty list of sequences', list),
    );
    return { sequences, sequenceIds };
  }
  const before = check.problems.length;
  list.forEach((value: unknown, index) => {
    const sequencePath = [...path, index];
    const declared = declaredSequenceId(value);
    if (declared?.field === 'id') sequenceIds.push({ id: declared.id, path: [...sequencePath, 'id'] });
    const sequence = readSequence(check, value, sequencePath);
    if (sequence !== undefined) sequences.push(sequence);
  });
  return { sequences: check.problems.length > before ? [] : sequences, sequenceIds };
}
