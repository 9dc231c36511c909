/**
 * A suite's `sequencesFile`: JSON Lines, one sequence a line, either in troupe's form
 * `{id, system?, prompts, category?, reference?, expect?}` (a prompt may be `{prompt, expect}`)
 * or as an MT-Bench question `{question_id, category, turns, reference?}`. Blank lines are skipped.
 *
 * The file is streamed, never held: `scanSequences` validates it line by line (keeping only
 * counts, the ids' hashes and the first problems), and `readSequences` reads it again, in
 * batches, for the store, refusing a file whose content changed in between.
 */

import { InputError } from '../errors.js';
import { MAX_KEPT_FILE_PROBLEMS, MAX_SEQUENCE_LINE_BYTES, MAX_SEQUENCES_FILE_BYTES } from './defaults.js';
import { describeReadError, scriptProblem } from './file-problems.js';
import type { SequenceIdRegistry } from './id-registry.js';
import { formatBytes, openRegularFile, readLines } from './line-reader.js';
import type { FileLine, ReadDigest } from './line-reader.js';
import { declaredSequenceId, readSequenceLine, withResolvedScripts } from './sequence.js';
import { Checker, formatPath } from './schema-check.js';
import type { FieldPath, FileReference } from './schema-check.js';
import { jsonErrorOffset } from './source-document.js';
import { createHash } from 'node:crypto';
import type { SequenceConfig, SequenceStats } from './types.js';

/** The lines of a sequences file, opened; `digest` is filled once they have all been read. */
export interface OpenedLines {
  /** The lines, in batches. */
  readonly lines: AsyncIterable<readonly FileLine[]>;
  readonly digest: ReadDigest;
  close(): Promise<void>;
}

/** Where a sequences file's lines come from: a file on disk, or a text (tests, other sources). */
export interface SequencesInput {
  /** Opens the lines, or says why they cannot be read (a phrase: `no such file (ENOENT)`). */
  open(): Promise<OpenedLines | { readonly refused: string }>;
}

/** The sequences file at `absolutePath`: a regular file of at most `MAX_SEQUENCES_FILE_BYTES`. */
export function fileInput(absolutePath: string, maxBytes = MAX_SEQUENCES_FILE_BYTES): SequencesInput {
  return {
    async open() {
      let opened;
      try {
        opened = await openRegularFile(absolutePath, maxBytes);
      } catch (error) {
        return { refused: describeReadError(error) };
      }
      if (!opened.ok) return { refused: opened.reason };
      const { handle } = opened;
      const digest: ReadDigest = { sha256: '', bytes: 0 };
      return {
        lines: readLines(handle, MAX_SEQUENCE_LINE_BYTES, digest),
        digest,
        close: () => handle.close(),
      };
    },
  };
}

/** A sequences file given as text (`read` may reject, as reading a file would). */
export function textInput(read: () => Promise<string>): SequencesInput {
  return {
    async open() {
      let text: string;
      try {
        text = await read();
      } catch (error) {
        return { refused: describeReadError(error) };
      }
      const digest: ReadDigest = { sha256: '', bytes: 0 };
      async function* lines(): AsyncGenerator<FileLine[], void, undefined> {
        let offset = 0;
        const all = text.replace(/^\uFEFF/, '').split('\n');
        const batch: FileLine[] = [];
        for (const [index, raw] of all.entries()) {
          if (index === all.length - 1 && raw === '') break;
          const line = raw.endsWith('\r') ? raw.slice(0, -1) : raw;
          batch.push({ kind: 'text', line: index + 1, offset, text: line });
          offset += Buffer.byteLength(raw) + 1;
        }
        yield batch;
        digest.sha256 = createHash('sha256').update(text).digest('hex');
        digest.bytes = Buffer.byteLength(text);
      }
      return { lines: lines(), digest, close: () => Promise.resolve() };
    },
  };
}

/** What one line held: its sequence if valid, the id it declares, its problems and the files it names. */
export interface ParsedLine {
  readonly sequence?: SequenceConfig;
  readonly declared?: { readonly id: string; readonly field: 'id' | 'question_id' };
  readonly problems: readonly {
    readonly path: FieldPath;
    readonly column?: number;
    readonly message: string;
  }[];
  readonly files: readonly FileReference[];
}

/** Reads one non-blank line of a sequences file; never throws. */
export function parseSequenceLine(text: string): ParsedLine {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (error) {
    const message = (error as Error).message;
    const offset = jsonErrorOffset(message);
    return {
      problems: [
        {
          path: [],
          ...(offset === undefined ? {} : { column: offset + 1 }),
          message: `invalid JSON: ${message}`,
        },
      ],
      files: [],
    };
  }
  const declared = declaredSequenceId(value);
  const check = new Checker();
  const sequence = readSequenceLine(check, value, []);
  return {
    ...(sequence === undefined ? {} : { sequence }),
    ...(declared === undefined ? {} : { declared }),
    problems: check.problems.map(({ path, message }) => ({ path, message })),
    files: check.files,
  };
}

/** What validating a sequences file found. */
export interface SequencesScan {
  /** The first `MAX_KEPT_FILE_PROBLEMS` problems, in line order, each `file:line[:col]: field: message`. */
  readonly problems: readonly string[];
  /** Problems found beyond those kept. */
  readonly moreProblems: number;
  /** Counts of the valid sequences. */
  readonly stats: SequenceStats;
  /** SHA-256 of the file's bytes, to check that a second read sees the same file. */
  readonly sha256: string;
  /** A problem with the file as a whole, reported at the suite's `sequencesFile` field. */
  readonly fileProblem?: string;
}

/** Counts of no sequences. */
export const NO_SEQUENCES: SequenceStats = { count: 0, prompts: 0, longest: 0, shortest: 0 };

/** Adds a sequence of `prompts` prompts to `stats`. */
export function withSequence(stats: SequenceStats, prompts: number): SequenceStats {
  return {
    count: stats.count + 1,
    prompts: stats.prompts + prompts,
    longest: Math.max(stats.longest, prompts),
    shortest: stats.count === 0 ? prompts : Math.min(stats.shortest, prompts),
  };
}

/**
 * Validates every line of a sequences file as it is read, and registers its ids in `ids`
 * (duplicates, with the suite's own ids, are problems). Holds no sequence.
 */
export async function scanSequences(
  input: SequencesInput,
  shownPath: string,
  scriptDirectory: string,
  ids: SequenceIdRegistry,
): Promise<SequencesScan> {
  const opened = await input.open();
  if ('refused' in opened) {
    return {
      problems: [],
      moreProblems: 0,
      stats: NO_SEQUENCES,
      sha256: '',
      fileProblem: `cannot read "${shownPath}": ${opened.refused}`,
    };
  }
  const problems: string[] = [];
  let moreProblems = 0;
  const report = (text: string): void => {
    if (problems.length < MAX_KEPT_FILE_PROBLEMS) problems.push(text);
    else moreProblems += 1;
  };
  const scripts = new Map<string, Promise<string | undefined>>();
  let stats = NO_SEQUENCES;
  try {
    for await (const batch of opened.lines)
      for (const entry of batch) {
        if (entry.kind !== 'text') {
          report(lineProblem(shownPath, entry));
          continue;
        }
        if (entry.text.trim() === '') continue;
        const parsed = parseSequenceLine(entry.text);
        const at = `${shownPath}:${entry.line}`;
        for (const { path, column, message } of parsed.problems) {
          const field = formatPath(path);
          report(
            `${column === undefined ? at : `${at}:${column}`}: ${field === '' ? '' : `${field}: `}${message}`,
          );
        }
        for (const { path, file } of parsed.files) {
          let problem = scripts.get(file);
          if (problem === undefined) {
            problem = scriptProblem(scriptDirectory, file);
            scripts.set(file, problem);
          }
          const text = await problem;
          if (text !== undefined) report(`${at}: ${formatPath(path)}: ${text}`);
        }
        if (parsed.declared) {
          const first = ids.addFileLine(parsed.declared.id, entry.line, parsed.declared.field);
          if (first) {
            report(
              `${at}: ${parsed.declared.field}: duplicate sequence id "${parsed.declared.id}" (first used at ${first.at}, ${first.field})`,
            );
          }
        }
        if (parsed.sequence) stats = withSequence(stats, parsed.sequence.prompts.length);
      }
  } catch (error) {
    return {
      problems,
      moreProblems,
      stats,
      sha256: '',
      fileProblem: `cannot read "${shownPath}": ${describeReadError(error)}`,
    };
  } finally {
    await opened.close();
  }
  const empty = stats.count === 0 && problems.length === 0;
  return {
    problems,
    moreProblems,
    stats,
    sha256: opened.digest.sha256,
    ...(empty ? { fileProblem: `"${shownPath}" holds no sequences (expected one JSON object a line)` } : {}),
  };
}

function lineProblem(shownPath: string, entry: Exclude<FileLine, { kind: 'text' }>): string {
  switch (entry.kind) {
    case 'invalid-utf8': {
      const byte = `0x${entry.badByte.toString(16).padStart(2, '0')}`;
      return `${shownPath}:${entry.line}:${entry.badColumn}: invalid UTF-8 at byte offset ${entry.badOffset} of the file: expected UTF-8 text, found byte ${byte}`;
    }
    case 'too-long':
      return `${shownPath}:${entry.line}: line of ${formatBytes(entry.bytes)}, over the limit of ${formatBytes(MAX_SEQUENCE_LINE_BYTES)} for one sequence`;
    default: {
      const unknown: never = entry;
      throw new Error(`unknown line ${String(unknown)}`);
    }
  }
}

/**
 * The sequences of a file validated by `scanSequences` (whose digest is `sha256`), read again in
 * batches of at most `batchSize`, their script paths resolved against `scriptDirectory`. A file
 * that changed since (a line that no longer reads, other bytes) is an `InputError`, thrown
 * before or after some batches were yielded: the caller undoes what it did with them.
 */
export async function* readSequences(
  input: SequencesInput,
  shownPath: string,
  scriptDirectory: string,
  sha256: string,
  batchSize: number,
): AsyncGenerator<SequenceConfig[], void, undefined> {
  const changed = (what: string): InputError =>
    new InputError(`${shownPath} changed while it was read (${what}); nothing was stored, try again`);
  const opened = await input.open();
  if ('refused' in opened) throw changed(`cannot read it again: ${opened.refused}`);
  try {
    let batch: SequenceConfig[] = [];
    for await (const lines of opened.lines)
      for (const entry of lines) {
        if (entry.kind !== 'text') throw changed(`line ${entry.line} no longer reads`);
        if (entry.text.trim() === '') continue;
        const { sequence } = parseSequenceLine(entry.text);
        if (sequence === undefined) throw changed(`line ${entry.line} is no longer valid`);
        batch.push(withResolvedScripts(sequence, scriptDirectory));
        if (batch.length >= batchSize) {
          yield batch;
          batch = [];
        }
      }
    if (opened.digest.sha256 !== sha256) throw changed('its content is not the one validated');
    if (batch.length > 0) yield batch;
  } finally {
    await opened.close();
  }
}
