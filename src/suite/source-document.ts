/**
 * Parses a suite file's text (YAML, or JSON, which is read as YAML too so that both formats give
 * positions) into a plain value, and maps field paths back to line and column.
 */

import { isAlias, isMap, isScalar, isSeq, LineCounter, parseDocument, type Document, type Node } from 'yaml';
import type { FieldPath, ProblemTarget } from './schema-check.js';

/** A place in a text file, both 1-based. */
export interface Position {
  readonly line: number;
  readonly col: number;
}

/** A parsed suite file. */
export interface SourceDocument {
  /** The document as plain data: mappings are objects, lists arrays. */
  readonly value: unknown;
  /**
   * Where the field at `path` is written (its key for `target: 'key'`). A field that is not
   * in the file (a missing one) gives the place of its nearest enclosing field.
   */
  locate(path: FieldPath, target: ProblemTarget): Position | undefined;
}

/** A syntax error: the file could not be read as YAML or JSON. */
export interface SyntaxProblem {
  readonly position?: Position;
  /** Starts with `invalid YAML: ` or `invalid JSON: `. */
  readonly message: string;
}

/** Either the parsed document or every syntax error in the text. */
export type ParsedSource =
  | { readonly ok: true; readonly document: SourceDocument }
  | { readonly ok: false; readonly problems: readonly SyntaxProblem[] };

/** The two formats a suite file may be in; they share one schema. */
export type SourceFormat = 'yaml' | 'json';

/** The format a file's name implies: `.json` is JSON, anything else YAML. */
export function formatOf(fileName: string): SourceFormat {
  return fileName.toLowerCase().endsWith('.json') ? 'json' : 'yaml';
}

const JSON_ERROR_POSITION = /at position (\d+)/;

/** The 0-based offset a `JSON.parse` error message names, if it names one. */
export function jsonErrorOffset(message: string): number | undefined {
  const offset = JSON_ERROR_POSITION.exec(message)?.[1];
  return offset === undefined ? undefined : Number(offset);
}

/** Parses `text`; never throws. */
export function parseSource(text: string, format: SourceFormat): ParsedSource {
  const lineCounter = new LineCounter();
  const doc = parseDocument(text, { lineCounter, prettyErrors: false });
  const position = (offset: number): Position => lineCounter.linePos(offset);

  const label = format === 'json' ? 'invalid JSON' : 'invalid YAML';
  const yamlProblems: SyntaxProblem[] = [...doc.errors, ...doc.warnings].map((error) => ({
    position: position(error.pos[0]),
    message: `${label}: ${error.message}`,
  }));
  if (format === 'json') {
    // YAML accepts more than JSON (comments, trailing commas, bare words): hold a .json file to JSON.
    try {
      JSON.parse(text);
    } catch (error) {
      const message = (error as Error).message;
      const offset = jsonErrorOffset(message);
      const at = offset === undefined ? yamlProblems[0]?.position : position(offset);
      return {
        ok: false,
        problems: [{ ...(at === undefined ? {} : { position: at }), message: `invalid JSON: ${message}` }],
      };
    }
  }
  if (yamlProblems.length > 0) return { ok: false, problems: yamlProblems };

  let value: unknown;
  try {
    value = doc.toJS();
  } catch (error) {
    // An undefined alias or an alias bomb only shows when the value is built.
    return { ok: false, problems: [{ message: `${label}: ${(error as Error).message}` }] };
  }
  return {
    ok: true,
    document: {
      value,
      locate: (path, target) => {
        const offset = locateOffset(doc, path, target);
        return offset === undefined ? undefined : position(offset);
      },
    },
  };
}

function resolveAlias(doc: Document, node: unknown): unknown {
  return isAlias(node) ? node.resolve(doc) : node;
}

function keyText(key: unknown): string | undefined {
  if (isScalar(key)) return String(key.value);
  return typeof key === 'string' ? key : undefined;
}

function startOf(node: unknown): number | undefined {
  return (node as Node | null)?.range?.[0];
}

function locateOffset(doc: Document, path: FieldPath, target: ProblemTarget): number | undefined {
  let node: unknown = doc.contents;
  let found = startOf(node);
  for (const [index, segment] of path.entries()) {
    const last = index === path.length - 1;
    node = resolveAlias(doc, node);
    if (isMap(node)) {
      const pair = node.items.find((item) => keyText(item.key) === String(segment));
      if (pair === undefined) return found;
      if (last && target === 'key') return startOf(pair.key) ?? found;
      // An empty value (`runs:`) has no node of its own; its key marks the place.
      found = startOf(pair.value) ?? startOf(pair.key) ?? found;
      node = pair.value;
    } else if (isSeq(node) && typeof segment === 'number') {
      node = node.items[segment];
      if (node === undefined) return found;
      found = startOf(node) ?? found;
    } else {
      return found;
    }
  }
  return found;
}
