/**
 * A suite's `sequencesFile`: JSON Lines, one sequence a line, either in troupe's form
 * `{id, system?, prompts, category?, reference?, expect?}` (a prompt may be `{prompt, expect}`)
 * or as an MT-Bench question `{question_id, category, turns, reference?}`. Blank lines are skipped.
 */

import { declaredSequenceId, readSequenceLine } from './sequence.js';
import { Checker, type FieldPath, type FileReference } from './schema-check.js';
import { jsonErrorOffset } from './source-document.js';
import type { SequenceConfig } from './types.js';

/** A sequence read from the file and the line (1-based) it came from. */
export interface SequenceLine {
  readonly line: number;
  readonly sequence: SequenceConfig;
}

/** An id declared on a line (1-based), valid or not the rest of the line, for duplicate checks. */
export interface DeclaredId {
  readonly line: number;
  readonly id: string;
  /** The field that holds it: `id`, or `question_id` for an MT-Bench question. */
  readonly field: 'id' | 'question_id';
}

/** A problem on one line (1-based) of the file; `path` is within that line's object. */
export interface LineProblem {
  readonly line: number;
  /** 1-based, when the JSON parser gave a position. */
  readonly column?: number;
  readonly path: FieldPath;
  readonly message: string;
}

/** A file named on one line (1-based), e.g. a script check's module; `path` is within that line's object. */
export interface LineFileReference extends FileReference {
  readonly line: number;
}

/** What a sequences file held: the good lines' sequences and the bad lines' problems. */
export interface SequencesFileContent {
  readonly sequences: readonly SequenceLine[];
  /** The id of every line that declares a valid one, in line order. */
  readonly ids: readonly DeclaredId[];
  readonly problems: readonly LineProblem[];
  /** The files its lines name, for the loader to check. */
  readonly files: readonly LineFileReference[];
}

const BYTE_ORDER_MARK = /^\uFEFF/;

/** Reads every line of a sequences file; never throws. Ids are not checked for duplicates here. */
export function parseSequencesFile(text: string): SequencesFileContent {
  const sequences: SequenceLine[] = [];
  const ids: DeclaredId[] = [];
  const problems: LineProblem[] = [];
  const files: LineFileReference[] = [];
  text
    .replace(BYTE_ORDER_MARK, '')
    .split(/\r?\n/)
    .forEach((content, index) => {
      const line = index + 1;
      if (content.trim() === '') return;
      let value: unknown;
      try {
        value = JSON.parse(content);
      } catch (error) {
        const message = (error as Error).message;
        const offset = jsonErrorOffset(message);
        problems.push({
          line,
          ...(offset === undefined ? {} : { column: offset + 1 }),
          path: [],
          message: `invalid JSON: ${message}`,
        });
        return;
      }
      const declared = declaredSequenceId(value);
      if (declared !== undefined) ids.push({ line, ...declared });
      const check = new Checker();
      const sequence = readSequenceLine(check, value, []);
      for (const { path, message } of check.problems) problems.push({ line, path, message });
      for (const reference of check.files) files.push({ line, ...reference });
      if (sequence !== undefined) sequences.push({ line, sequence });
    });
  return { sequences, ids, problems, files };
}
