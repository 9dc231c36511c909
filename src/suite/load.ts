/**
 * Loads a suite file (YAML or JSON, same schema) into a validated, resolved `Suite`. Every
 * problem found is reported at once, one per line, as
 * `file:line:col: field.path: expected …, found …`.
 */

import { access, constants, readFile, stat } from 'node:fs/promises';
import path from 'node:path';
import type { Check } from '../scoring/types.js';
import { Checker, describeValue, formatPath, type Problem } from './schema-check.js';
import { parseSequencesFile } from './sequences-file.js';
import { formatOf, parseSource, type Position, type SourceDocument } from './source-document.js';
import { readSuiteDocument } from './suite-document.js';
import { SuiteError } from './suite-error.js';
import type { SequenceConfig, Suite } from './types.js';

export { SuiteError };

/** A suite and the warnings its file earned (e.g. a provider no model uses). */
export interface LoadedSuite {
  readonly suite: Suite;
  /** One line each, placed like problems: `file:line:col: providers.x: no model uses this provider`. */
  readonly warnings: readonly string[];
}

/** Reads the text of a suite's `sequencesFile`, given as written (relative to the suite file). */
export type ReadSequencesFile = (relativePath: string) => Promise<string>;

/** Loads the suite file at `suitePath`; throws a `SuiteError` listing every problem. */
export async function loadSuite(suitePath: string): Promise<Suite> {
  return (await loadSuiteFile(suitePath)).suite;
}

/** Like `loadSuite`, and also returns the file's warnings. */
export async function loadSuiteFile(suitePath: string): Promise<LoadedSuite> {
  let text: string;
  try {
    text = await readFile(suitePath, 'utf8');
  } catch (error) {
    throw new SuiteError([`${suitePath}: cannot read the suite file: ${describeReadError(error)}`]);
  }
  const directory = path.dirname(suitePath);
  return parseSuite(text, suitePath, (relativePath) =>
    readFile(path.resolve(directory, relativePath), 'utf8'),
  );
}

/**
 * Validates and resolves a suite from its text. `fileName` names the file in messages, picks the
 * format (`.json` is JSON, anything else YAML) and gives the default `name` (its base name);
 * `readSequencesFile` reads the `sequencesFile` it names, if any.
 */
export async function parseSuite(
  text: string,
  fileName: string,
  readSequencesFile: ReadSequencesFile,
): Promise<LoadedSuite> {
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
  const ids: PlacedId[] = draft.sequenceIds.map(({ id, path: idPath }) => {
    const position = document.locate(idPath, 'value');
    return { id, at: place(fileName, position), field: formatPath(idPath), position };
  });
  const sequences: SequenceConfig[] = [...draft.sequences];
  const fileLines: string[] = [];
  const scriptDirectory = path.dirname(fileName);

  if (draft.sequencesFile !== undefined) {
    const shownPath = path.isAbsolute(draft.sequencesFile)
      ? draft.sequencesFile
      : path.join(path.dirname(fileName), draft.sequencesFile);
    const fromFile = await loadSequencesFile(
      draft.sequencesFile,
      shownPath,
      readSequencesFile,
      scriptDirectory,
    );
    if (fromFile.suiteProblem !== undefined) {
      lines.push(placed({ path: ['sequencesFile'], message: fromFile.suiteProblem, target: 'value' }));
    }
    fileLines.push(...fromFile.problems);
    ids.push(...fromFile.ids);
    sequences.push(...fromFile.sequences);
  }

  for (const reference of check.files) {
    const problem = await scriptProblem(scriptDirectory, reference.file);
    if (problem !== undefined)
      lines.push(placed({ path: reference.path, message: problem, target: 'value' }));
  }

  for (const duplicate of duplicateSequenceIds(ids)) {
    if (duplicate.position === undefined) fileLines.push(duplicate.text);
    else lines.push(duplicate);
  }
  const problems = [...sortByPosition(lines).map((line) => line.text), ...fileLines];
  if (problems.length > 0) throw new SuiteError(problems);

  const { name, runs, providers, models } = draft;
  if (runs === undefined || providers === undefined || models === undefined) {
    throw new Error(`${fileName}: suite parts missing without a reported problem`);
  }
  const suite: Suite = {
    name,
    runs,
    providers,
    models,
    sequences: sequences.map((sequence) => withResolvedScripts(sequence, scriptDirectory)),
    ...(draft.judge && { judge: draft.judge }),
  };
  const warnings = draft.unusedProviders.map(
    (providerPath) =>
      placed({ path: providerPath, message: 'no model uses this provider', target: 'key' }).text,
  );
  return { suite, warnings };
}

/** What a sequences file gave: its sequences, their ids, its problems (placed in it, in line order). */
interface SequencesFromFile {
  readonly sequences: readonly SequenceConfig[];
  readonly ids: readonly PlacedId[];
  readonly problems: readonly string[];
  /** A problem with the file as a whole, reported at the suite's `sequencesFile` field. */
  readonly suiteProblem?: string;
}

async function loadSequencesFile(
  relativePath: string,
  shownPath: string,
  readSequencesFile: ReadSequencesFile,
  scriptDirectory: string,
): Promise<SequencesFromFile> {
  let text: string;
  try {
    text = await readSequencesFile(relativePath);
  } catch (error) {
    const suiteProblem = `cannot read "${shownPath}": ${describeReadError(error)}`;
    return { sequences: [], ids: [], problems: [], suiteProblem };
  }
  const content = parseSequencesFile(text);
  const lineProblems = content.problems.map(({ line, column, path: fieldPath, message }) => {
    const at = column === undefined ? `${shownPath}:${line}` : `${shownPath}:${line}:${column}`;
    const field = formatPath(fieldPath);
    return { line, text: `${at}: ${field === '' ? '' : `${field}: `}${message}` };
  });
  for (const { line, path: fieldPath, file } of content.files) {
    const problem = await scriptProblem(scriptDirectory, file);
    if (problem !== undefined) {
      lineProblems.push({ line, text: `${shownPath}:${line}: ${formatPath(fieldPath)}: ${problem}` });
    }
  }
  const problems = lineProblems.sort((a, b) => a.line - b.line).map((problem) => problem.text);
  const ids = content.ids.map(({ id, line, field }) => ({ id, at: `${shownPath}:${line}`, field }));
  const sequences = content.sequences.map((entry) => entry.sequence);
  const empty = sequences.length === 0 && problems.length === 0;
  return {
    sequences,
    ids,
    problems,
    ...(empty ? { suiteProblem: `"${shownPath}" holds no sequences (expected one JSON object a line)` } : {}),
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

/**
 * A declared sequence id and where: `file:line[:col]`, the id's field path, and its position
 * when it is in the suite file (a sequences file's lines are not sorted with the suite's).
 */
interface PlacedId {
  readonly id: string;
  readonly at: string;
  readonly field: string;
  readonly position?: Position | undefined;
}

function duplicateSequenceIds(ids: readonly PlacedId[]): PlacedLine[] {
  const firstById = new Map<string, PlacedId>();
  const problems: PlacedLine[] = [];
  for (const placed of ids) {
    const first = firstById.get(placed.id);
    if (first === undefined) firstById.set(placed.id, placed);
    else {
      problems.push({
        position: placed.position,
        text: `${placed.at}: ${placed.field}: duplicate sequence id "${placed.id}" (first used at ${first.at}, ${first.field})`,
      });
    }
  }
  return problems;
}

const READ_ERROR_REASONS: Readonly<Record<string, string>> = {
  ENOENT: 'no such file',
  EACCES: 'permission denied',
  EISDIR: 'it is a directory',
  ENOTDIR: 'a part of the path is not a directory',
};

function describeReadError(error: unknown): string {
  const code = (error as NodeJS.ErrnoException | undefined)?.code;
  if (code !== undefined) return `${READ_ERROR_REASONS[code] ?? 'read failed'} (${code})`;
  return error instanceof Error ? error.message : String(error);
}

/**
 * Script checks name their module relative to the suite file (in a sequences file
 * too); the resolved suite holds absolute paths, so a job runs the same checks
 * whatever its working directory.
 */
function withResolvedScripts(sequence: SequenceConfig, directory: string): SequenceConfig {
  if (sequence.checks === undefined) return sequence;
  const checks = sequence.checks.map((list) =>
    list.map((check): Check =>
      check.kind === 'script' ? { kind: 'script', path: path.resolve(directory, check.path) } : check,
    ),
  );
  return { ...sequence, checks };
}

/**
 * Why the script module `file` (relative to `directory`) cannot serve as a check, if it cannot:
 * it must be a readable file now, not a failed check on every answer later. It is not imported
 * here: validating a suite runs none of its code.
 */
async function scriptProblem(directory: string, file: string): Promise<string | undefined> {
  const absolute = path.resolve(directory, file);
  let reason: string;
  try {
    if ((await stat(absolute)).isFile()) {
      await access(absolute, constants.R_OK);
      return undefined;
    }
    reason = 'it is not a file';
  } catch (error) {
    reason = describeReadError(error);
  }
  return `expected a readable JS module (its path relative to the suite file), found ${describeValue(file)}: cannot read ${absolute}: ${reason}`;
}
