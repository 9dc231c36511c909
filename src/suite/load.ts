/**
 * Loads a suite file (YAML or JSON, same schema) into a validated, resolved `Suite`. Every
 * problem found is reported at once, one per line, as
 * `file:line:col: field.path: expected …, found …`.
 */

import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { describeReadError, scriptProblem } from './file-problems.js';
import { SequenceIdRegistry } from './id-registry.js';
import { Checker, formatPath, groupThousands, type Problem } from './schema-check.js';
import { MAX_TURNS_PER_JOB } from './defaults.js';
import { withResolvedScripts } from './sequence.js';
import {
  fileInput,
  NO_SEQUENCES,
  readSequences,
  scanSequences,
  textInput,
  withSequence,
  type SequencesInput,
} from './sequences-file.js';
import { formatOf, parseSource, type Position, type SourceDocument } from './source-document.js';
import { readSuiteDocument } from './suite-document.js';
import { SuiteError } from './suite-error.js';
import type { SequenceConfig, SequenceStats, Suite, SuiteSettings } from './types.js';

export { SuiteError };

/** A suite and the warnings its file earned (e.g. a provider no model uses). */
export interface LoadedSuite {
  readonly suite: Suite;
  /** One line each, placed like problems: `file:line:col: providers.x: no model uses this provider`. */
  readonly warnings: readonly string[];
}

/**
 * A validated suite whose sequences are not held: its settings, the sizes of its sequences, and
 * a way to read them (the suite file's, then its `sequencesFile`'s, read again from disk).
 */
export interface SuiteSource {
  readonly settings: SuiteSettings;
  readonly stats: SequenceStats;
  readonly warnings: readonly string[];
  /**
   * Every sequence in suite order, in batches of at most `batchSize`. A sequences file that
   * changed since it was validated is an `InputError` (maybe after some batches).
   */
  sequences(batchSize: number): AsyncGenerator<readonly SequenceConfig[], void, undefined>;
}

/** Sequences per batch when a source is read whole. */
const COLLECT_BATCH = 1000;

/** Reads the text of a suite's `sequencesFile`, given as written (relative to the suite file). */
export type ReadSequencesFile = (relativePath: string) => Promise<string>;

/** Loads the suite file at `suitePath` with its sequences in memory; throws a `SuiteError` listing every problem. */
export async function loadSuite(suitePath: string): Promise<Suite> {
  return (await loadSuiteFile(suitePath)).suite;
}

/** Like `loadSuite`, and also returns the file's warnings. */
export async function loadSuiteFile(suitePath: string): Promise<LoadedSuite> {
  return collectSuite(await openSuite(suitePath));
}

/**
 * Validates the suite file at `suitePath` and its `sequencesFile` (streamed: a file of a million
 * lines is never held), without keeping the sequences; throws a `SuiteError` listing every problem.
 */
export async function openSuite(suitePath: string): Promise<SuiteSource> {
  let text: string;
  try {
    text = await readFile(suitePath, 'utf8');
  } catch (error) {
    throw new SuiteError([`${suitePath}: cannot read the suite file: ${describeReadError(error)}`]);
  }
  const directory = path.dirname(suitePath);
  return parseSuiteSource(text, suitePath, (relativePath) =>
    fileInput(path.resolve(directory, relativePath)),
  );
}

/** A suite with its sequences in memory, from a source. */
export async function collectSuite(source: SuiteSource): Promise<LoadedSuite> {
  const sequences: SequenceConfig[] = [];
  for await (const batch of source.sequences(COLLECT_BATCH)) sequences.push(...batch);
  return { suite: { ...source.settings, sequences }, warnings: source.warnings };
}

/** A source of a suite already in memory. */
export function sourceOfSuite(suite: Suite): SuiteSource {
  const { sequences, ...settings } = suite;
  return {
    settings,
    stats: sequences.reduce((stats, s) => withSequence(stats, s.prompts.length), NO_SEQUENCES),
    warnings: [],
    async *sequences(batchSize) {
      for (let start = 0; start < sequences.length; start += batchSize) {
        yield sequences.slice(start, start + batchSize);
      }
    },
  };
}

/**
 * Validates and resolves a suite from its text, its sequences in memory. `fileName` names the
 * file in messages, picks the format (`.json` is JSON, anything else YAML) and gives the default
 * `name` (its base name); `readSequencesFile` reads the `sequencesFile` it names, if any.
 */
export async function parseSuite(
  text: string,
  fileName: string,
  readSequencesFile: ReadSequencesFile,
): Promise<LoadedSuite> {
  const source = await parseSuiteSource(text, fileName, (relativePath) =>
    textInput(() => readSequencesFile(relativePath)),
  );
  return collectSuite(source);
}

/** Like `parseSuite`, without holding the sequences file: `inputOf` gives its lines (read twice). */
export async function parseSuiteSource(
  text: string,
  fileName: string,
  inputOf: (relativePath: string) => SequencesInput,
): Promise<SuiteSource> {
  const parsed = parseSource(text, formatOf(fileName));
  if (!parsed.ok) {
    throw new SuiteError(
      parsed.problems.map(({ position, message }) => `${place(fileName, position)}: ${message}`),
    );
  }
  const { document } = parsed;
  const check = new Checker();
  const defaultName = path.basename(fileName, path.extname(fileName));
  const draft = readSuiteDocument(check, document.value, defaultName);
  const placed = (problem: Problem): PlacedLine => placeProblem(fileName, document, problem);

  const lines: PlacedLine[] = check.problems.map(placed);
  const scriptDirectory = path.dirname(fileName);
  const shownPath =
    draft.sequencesFile === undefined
      ? ''
      : path.isAbsolute(draft.sequencesFile)
        ? draft.sequencesFile
        : path.join(path.dirname(fileName), draft.sequencesFile);
  const ids = new SequenceIdRegistry(shownPath);
  for (const { id, path: idPath } of draft.sequenceIds) {
    const position = document.locate(idPath, 'value');
    const at = place(fileName, position);
    const first = ids.addInline(id, { at, field: formatPath(idPath) });
    if (first) {
      lines.push({
        position,
        text: `${at}: ${formatPath(idPath)}: duplicate sequence id "${id}" (first used at ${first.at}, ${first.field})`,
      });
    }
  }
  const inline = draft.sequences.map((sequence) => withResolvedScripts(sequence, scriptDirectory));
  let stats = inline.reduce((sum, s) => withSequence(sum, s.prompts.length), NO_SEQUENCES);
  const fileLines: string[] = [];
  let moreProblems = 0;
  let file: { input: SequencesInput; sha256: string } | undefined;

  for (const reference of check.files) {
    const problem = await scriptProblem(scriptDirectory, reference.file);
    if (problem !== undefined)
      lines.push(placed({ path: reference.path, message: problem, target: 'value' }));
  }

  if (draft.sequencesFile !== undefined) {
    const input = inputOf(draft.sequencesFile);
    const scan = await scanSequences(input, shownPath, scriptDirectory, ids);
    if (scan.fileProblem !== undefined) {
      lines.push(placed({ path: ['sequencesFile'], message: scan.fileProblem, target: 'value' }));
    }
    fileLines.push(...scan.problems);
    moreProblems = scan.moreProblems;
    stats = addStats(stats, scan.stats);
    file = { input, sha256: scan.sha256 };
  }

  const tooMany = turnsProblem(draft.models?.length, stats.prompts, draft.runs);
  if (tooMany !== undefined) lines.push(placed({ path: ['runs'], message: tooMany, target: 'value' }));

  const problems = [...sortByPosition(lines).map((line) => line.text), ...fileLines];
  if (problems.length > 0) throw new SuiteError(problems, moreProblems);

  const { name, runs, providers, models } = draft;
  if (runs === undefined || providers === undefined || models === undefined) {
    throw new Error(`${fileName}: suite parts missing without a reported problem`);
  }
  const settings: SuiteSettings = {
    name,
    runs,
    providers,
    models,
    ...(draft.judge && { judge: draft.judge }),
    ...(draft.budget && { budget: draft.budget }),
  };
  const warnings = draft.unusedProviders.map(
    (providerPath) =>
      placed({ path: providerPath, message: 'no model uses this provider', target: 'key' }).text,
  );
  return {
    settings,
    stats,
    warnings,
    async *sequences(batchSize) {
      for (let start = 0; start < inline.length; start += batchSize) {
        yield inline.slice(start, start + batchSize);
      }
      if (file) yield* readSequences(file.input, shownPath, scriptDirectory, file.sha256, batchSize);
    },
  };
}

/** Why a job of `models` × `prompts` × `runs` turns is too big, if it is (`MAX_TURNS_PER_JOB`). */
function turnsProblem(
  models: number | undefined,
  prompts: number,
  runs: number | undefined,
): string | undefined {
  if (models === undefined || runs === undefined) return undefined;
  const turns = models * prompts * runs;
  if (turns <= MAX_TURNS_PER_JOB) return undefined;
  return `expected a job of at most ${groupThousands(MAX_TURNS_PER_JOB)} turns, found ${groupThousands(turns)} (${models} models × ${groupThousands(prompts)} prompts × ${groupThousands(runs)} runs)`;
}

function addStats(a: SequenceStats, b: SequenceStats): SequenceStats {
  if (a.count === 0) return b;
  if (b.count === 0) return a;
  return {
    count: a.count + b.count,
    prompts: a.prompts + b.prompts,
    longest: Math.max(a.longest, b.longest),
    shortest: Math.min(a.shortest, b.shortest),
  };
}

/** A problem of the suite file, placed: `file:line:col: field.path: message`. */
interface PlacedLine {
  readonly position: Position | undefined;
  readonly text: string;
}

function place(fileName: string, position: Position | undefined): string {
  return position === undefined ? fileName : `${fileName}:${position.line}:${position.col}`;
}

function placeProblem(fileName: string, document: SourceDocument, problem: Problem): PlacedLine {
  const position = document.locate(problem.path, problem.target);
  const fieldPath = formatPath(problem.path);
  const field = fieldPath === '' ? 'top level' : fieldPath;
  return { position, text: `${place(fileName, position)}: ${field}: ${problem.message}` };
}

function sortByPosition(lines: readonly PlacedLine[]): PlacedLine[] {
  const key = (line: PlacedLine): [number, number] => [
    line.position?.line ?? Infinity,
    line.position?.col ?? Infinity,
  ];
  return [...lines].sort((a, b) => {
    const [lineA, colA] = key(a);
    const [lineB, colB] = key(b);
    return lineA === lineB ? colA - colB : lineA - lineB;
  });
}
