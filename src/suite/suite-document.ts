/**
 * Checks a suite document's top level, providers and models, and resolves them with their
 * defaults. The sequences file is read by the loader; this module only reports its name.
 */

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
import { optionalField, readMapping, requiredField, type Reader } from './legacy-readers.js';
import {
  integerInRange,
  nonBlankString,
  nonNegativeInteger,
  nonNegativeNumber,
  numberInRange,
  positiveInteger,
  readWith,
} from './schemas.js';
import type { Budget, ModelConfig, ProviderConfig, SequenceConfig, TokenPrices } from './types.js';
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

/** The keys of `judge`. */
export const JUDGE_KEYS = ['model', 'rubric', 'maxUnparsableRetries'] as const;

/** Extra judge calls for a reply without a well-formed rating, when `judge.maxUnparsableRetries` is omitted. */
export const DEFAULT_MAX_UNPARSABLE_RETRIES = 3;

/** The keys of one `models` entry. */
export const MODEL_KEYS = [
  'id',
  'provider',
  'model',
  'temperature',
  'maxTokens',
  'system',
  'pricePerMillionTokens',
] as const;

const PRICE_KEYS = ['input', 'output'] as const;

/** `{ input, output }`: US dollars per million tokens, both required, each ≥ 0. */
const pricesReader: Reader<TokenPrices> = {
  expected: 'a mapping of input and output (US dollars per million tokens)',
  read(check, value, path) {
    const before = check.problems.length;
    const entry = readMapping(check, value, path, PRICE_KEYS);
    if (entry === undefined) return undefined;
    const input = requiredField(check, entry, 'input', path, nonNegativeNumber);
    const output = requiredField(check, entry, 'output', path, nonNegativeNumber);
    if (check.problems.length > before || input === undefined || output === undefined) return undefined;
    return { input, output };
  },
};

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

const temperatureReader = numberInRange(MIN_TEMPERATURE, MAX_TEMPERATURE);

const runsReader = integerInRange(1, MAX_RUNS);

/** Reads the whole document; `defaultName` is used when it has no `name`. */
export function readSuiteDocument(check: Checker, value: unknown, defaultName: string): SuiteDocument {
  const top = readMapping(check, value, [], SUITE_KEYS);
  if (top === undefined) {
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
  const name = optionalField(check, top, 'name', [], nonBlankString) ?? defaultName;
  const runs = ifNoProblem(check, () => optionalField(check, top, 'runs', [], runsReader) ?? DEFAULT_RUNS);
  const rawProviders = readProviderMapping(check, top);
  const providers = readProviders(check, rawProviders);
  const { models, usedProviders } = readModels(check, top, rawProviders);
  const sequencesFile = optionalField(check, top, 'sequencesFile', [], nonBlankString);
  const { sequences, sequenceIds } = readInlineSequences(check, top);
  const judge = readJudge(check, top, models);
  const budget = readBudget(check, top);
  checkCapsArePriced(check, providers, models, budget);
  const unusedProviders = Object.keys(rawProviders ?? {})
    .filter((id) => !usedProviders.has(id))
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

/** `budget: { maxCostUsd }`. */
function readBudget(check: Checker, top: Mapping): Budget | undefined {
  if (!hasKey(top, 'budget')) return undefined;
  const path = ['budget'];
  const entry = readMapping(check, top.budget, path, ['maxCostUsd']);
  if (entry === undefined) return undefined;
  const maxCostUsd = requiredField(check, entry, 'maxCostUsd', path, costCapSchema);
  return maxCostUsd === undefined ? undefined : { maxCostUsd };
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

/**
 * Why a spend cap over the `covered` models cannot be: `models[1] (haiku) has no
 * pricePerMillionTokens`; undefined when every one has prices.
 */
export function unpricedProblem(
  models: readonly ModelConfig[],
  covered: (model: ModelConfig) => boolean,
): string | undefined {
  const missing = models.flatMap((model, index) =>
    covered(model) && model.pricePerMillionTokens === undefined ? [`models[${index}] (${model.id})`] : [],
  );
  if (missing.length === 0) return undefined;
  return (
    `a spend cap needs the prices of every model it covers; ${missing.join(', ')} ` +
    `${missing.length === 1 ? 'has' : 'have'} no pricePerMillionTokens`
  );
}

/** `judge: { model, rubric?, maxUnparsableRetries? }`, whose model is one of the suite's. */
function readJudge(
  check: Checker,
  top: Mapping,
  models: readonly ModelConfig[] | undefined,
): JudgeConfig | undefined {
  if (!hasKey(top, 'judge')) return undefined;
  const path = ['judge'];
  const before = check.problems.length;
  const entry = readMapping(check, top.judge, path, JUDGE_KEYS);
  if (entry === undefined) return undefined;
  const model = requiredField(check, entry, 'model', path, nonBlankString);
  const rubric = optionalField(check, entry, 'rubric', path, nonBlankString);
  const retries =
    optionalField(check, entry, 'maxUnparsableRetries', path, nonNegativeInteger) ??
    DEFAULT_MAX_UNPARSABLE_RETRIES;
  if (model !== undefined && models !== undefined && !models.some((m) => m.id === model)) {
    const ids = models.map((m) => m.id);
    const suggestion = closestMatch(model, ids);
    check.report(
      [...path, 'model'],
      `unknown model ${describeValue(model)} (expected a model id of this suite: ${listChoices(ids)}${suggestion === undefined ? '' : `; did you mean "${suggestion}"?`})`,
    );
  }
  if (check.problems.length > before || model === undefined) return undefined;
  return { model, maxUnparsableRetries: retries, ...(rubric === undefined ? {} : { rubric }) };
}

/** Runs `read` and returns its result only if it reported no problem. */
function ifNoProblem<T>(check: Checker, read: () => T): T | undefined {
  const before = check.problems.length;
  const result = read();
  return check.problems.length > before ? undefined : result;
}

function readProviderMapping(check: Checker, top: Mapping): Mapping | undefined {
  const path = ['providers'];
  if (!hasKey(top, 'providers')) {
    check.report(path, 'missing (expected a mapping of provider ids to providers)');
    return undefined;
  }
  const value = top.providers;
  if (!isMapping(value) || Object.keys(value).length === 0) {
    check.expected(path, 'a non-empty mapping of provider ids to providers', value);
    return undefined;
  }
  return value;
}

function readProviders(check: Checker, raw: Mapping | undefined): Record<string, ProviderConfig> | undefined {
  if (raw === undefined) return undefined;
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

function readModels(
  check: Checker,
  top: Mapping,
  rawProviders: Mapping | undefined,
): { models: ModelConfig[] | undefined; usedProviders: Set<string> } {
  const usedProviders = new Set<string>();
  const path = ['models'];
  if (!hasKey(top, 'models')) {
    check.report(path, 'missing (expected a non-empty list of models)');
    return { models: undefined, usedProviders };
  }
  const list = top.models;
  if (!Array.isArray(list) || list.length === 0) {
    check.expected(path, 'a non-empty list of models', list);
    return { models: undefined, usedProviders };
  }
  const before = check.problems.length;
  const models: ModelConfig[] = [];
  const firstIndexById = new Map<string, number>();
  list.forEach((value: unknown, index) => {
    const modelPath = [...path, index];
    const model = readModel(check, value, modelPath, rawProviders);
    if (model !== undefined) models.push(model);
    // Checked on what is written, so a duplicate shows even when the entry has other problems,
    // and a model with problems still counts as using its provider (no false warning).
    if (!isMapping(value)) return;
    if (typeof value.provider === 'string') usedProviders.add(value.provider);
    if (typeof value.id !== 'string' || !isValidId(value.id)) return;
    const first = firstIndexById.get(value.id);
    if (first === undefined) firstIndexById.set(value.id, index);
    else
      check.report(
        [...modelPath, 'id'],
        `duplicate model id "${value.id}" (first used at models[${first}].id)`,
      );
  });
  return { models: check.problems.length > before ? undefined : models, usedProviders };
}

function readModel(
  check: Checker,
  value: unknown,
  path: FieldPath,
  rawProviders: Mapping | undefined,
): ModelConfig | undefined {
  const before = check.problems.length;
  const entry = readMapping(check, value, path, MODEL_KEYS);
  if (entry === undefined) return undefined;
  const id = requiredField(check, entry, 'id', path, idSchema);
  const provider = requiredField(check, entry, 'provider', path, nonBlankString);
  const model = requiredField(check, entry, 'model', path, nonBlankString);
  const temperature = optionalField(check, entry, 'temperature', path, temperatureReader);
  const maxTokens = optionalField(check, entry, 'maxTokens', path, positiveInteger) ?? DEFAULT_MAX_TOKENS;
  const system = optionalField(check, entry, 'system', path, systemPromptSchema);
  const prices = optionalField(check, entry, 'pricePerMillionTokens', path, pricesReader);

  if (provider !== undefined && rawProviders !== undefined) {
    const providerIds = Object.keys(rawProviders);
    const providerEntry = rawProviders[provider];
    if (!providerIds.includes(provider)) {
      const suggestion = closestMatch(provider, providerIds);
      const hint = suggestion === undefined ? '' : `; did you mean "${suggestion}"?`;
      check.report(
        [...path, 'provider'],
        `unknown provider ${describeValue(provider)} (expected one of: ${listChoices(providerIds)}${hint})`,
      );
    } else if (
      temperature !== undefined &&
      temperature > MAX_ANTHROPIC_TEMPERATURE &&
      isMapping(providerEntry) &&
      providerEntry.type === 'anthropic'
    ) {
      check.report(
        [...path, 'temperature'],
        `expected a number from ${MIN_TEMPERATURE} to ${MAX_ANTHROPIC_TEMPERATURE} for an anthropic provider, found ${temperature}`,
      );
    }
  }
  if (check.problems.length > before || id === undefined || provider === undefined || model === undefined) {
    return undefined;
  }
  return {
    id,
    provider,
    model,
    ...(temperature === undefined ? {} : { temperature }),
    maxTokens,
    ...(system === undefined ? {} : { system }),
    ...(prices === undefined ? {} : { pricePerMillionTokens: prices }),
  };
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
    check.expected(path, withFile ? 'a list of sequences' : 'a non-empty list of sequences', list);
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
