/**
 * The output formats of `troupe results`: JSON lines, CSV (RFC 4180) and an aligned table for a
 * terminal. Output is produced in chunks so that a job of 100k turns never becomes one string.
 */
import type { TurnRecord } from '../store/records.js';
import { columnWidths, headerRow, oneLine, renderRow } from './text-table.js';
import type { TextColumn } from './text-table.js';
import { jsonForTerminal } from './terminal-text.js';

/** An output format of `troupe results`. */
export type ResultFormat = 'jsonl' | 'csv' | 'table';

/** Every output format, for option parsing. */
export const RESULT_FORMATS: readonly ResultFormat[] = ['jsonl', 'csv', 'table'];

/** Rows per chunk yielded by `formatTurnChunks`, by default. */
export const DEFAULT_ROWS_PER_CHUNK = 500;

/** Code points of a response shown in the table's last column. */
export const TABLE_RESPONSE_CHARS = 60;

/** One turn as a JSONL line's object: the fields in their documented order, nothing else. */
export interface TurnJson {
  readonly job: string;
  readonly model: string;
  readonly sequence: string;
  readonly run: number;
  readonly turn: number;
  readonly prompt: string;
  readonly response: string | null;
  readonly status: TurnRecord['status'];
  readonly error: { readonly code: string; readonly message: string } | null;
  readonly usage: { readonly inputTokens: number; readonly outputTokens: number } | null;
  readonly latencyMs: number | null;
  readonly attempts: number;
  readonly startedAt: string;
  readonly finishedAt: string;
  readonly requestHash: string | null;
  /** The suite's checks on the answer, when it has any. */
  readonly checks?: TurnRecord['checks'];
  /** The judge's grade, when the suite has a judge. */
  readonly judge?: TurnRecord['judge'];
  /** The job the answer was copied from (`run --reuse`), when it was not requested. */
  readonly reusedFrom?: string;
}

/** Rebuilds a turn with exactly the JSONL fields, in order (a stored record may carry others, or order them differently). */
export function turnJson(turn: TurnRecord): TurnJson {
  return {
    job: turn.job,
    model: turn.model,
    sequence: turn.sequence,
    run: turn.run,
    turn: turn.turn,
    prompt: turn.prompt,
    response: turn.response ?? null,
    status: turn.status,
    error: turn.error ? { code: turn.error.code, message: turn.error.message } : null,
    usage: turn.usage ? { inputTokens: turn.usage.inputTokens, outputTokens: turn.usage.outputTokens } : null,
    latencyMs: turn.latencyMs ?? null,
    attempts: turn.attempts,
    startedAt: turn.startedAt,
    finishedAt: turn.finishedAt,
    requestHash: turn.requestHash ?? null,
    // Scoring, only when the suite asked for it (so unscored results keep their shape).
    ...(turn.checks && { checks: turn.checks }),
    ...(turn.judge && { judge: turn.judge }),
    ...(turn.reusedFrom !== undefined && { reusedFrom: turn.reusedFrom }),
  };
}

/**
 * The CSV columns, in order: the JSONL fields with `error` and `usage` split in two; `reusedFrom`
 * is empty for a turn that was requested.
 */
export const CSV_COLUMNS = [
  'job',
  'model',
  'sequence',
  'run',
  'turn',
  'prompt',
  'response',
  'status',
  'errorCode',
  'errorMessage',
  'inputTokens',
  'outputTokens',
  'latencyMs',
  'attempts',
  'startedAt',
  'finishedAt',
  'requestHash',
  'reusedFrom',
] as const;

/** RFC 4180 ends every record, the last included, with CRLF. */
const CSV_LINE_END = '\r\n';
const CSV_NEEDS_QUOTES = /[",\r\n]/;

/** A text cell a spreadsheet would read as a formula (CSV injection): OWASP's list of first characters. */
const CSV_FORMULA_START = /^[=+\-@\t\r]/;

/**
 * One CSV field: quoted (with quotes doubled) when it holds a comma, a quote or a line break; null
 * is empty. A text starting with `=`, `+`, `-`, `@`, tab or CR is neutralised as OWASP recommends:
 * prefixed with a single quote and quoted, so a spreadsheet shows it as text and never runs it.
 */
export function csvField(value: string | number | null): string {
  if (value === null) return '';
  if (typeof value === 'number') return String(value);
  if (CSV_FORMULA_START.test(value)) return `"'${value.replaceAll('"', '""')}"`;
  return CSV_NEEDS_QUOTES.test(value) ? `"${value.replaceAll('"', '""')}"` : value;
}

function csvRecord(turn: TurnRecord): string {
  const json = turnJson(turn);
  const fields: (string | number | null)[] = [
    json.job,
    json.model,
    json.sequence,
    json.run,
    json.turn,
    json.prompt,
    json.response,
    json.status,
    json.error?.code ?? null,
    json.error?.message ?? null,
    json.usage?.inputTokens ?? null,
    json.usage?.outputTokens ?? null,
    json.latencyMs,
    json.attempts,
    json.startedAt,
    json.finishedAt,
    json.requestHash,
    json.reusedFrom ?? null,
  ];
  return fields.map(csvField).join(',') + CSV_LINE_END;
}

const TABLE_COLUMNS: readonly TextColumn[] = [
  { header: 'MODEL' },
  { header: 'SEQUENCE' },
  { header: 'RUN', align: 'right' },
  { header: 'TURN', align: 'right' },
  { header: 'STATUS' },
  { header: 'LATENCY', align: 'right' },
  { header: 'TOKENS', align: 'right' },
  { header: 'RESPONSE' },
];
/** Ids are cut in the table beyond this many code points. */
const TABLE_ID_CHARS = 40;

function tableRow(turn: TurnRecord): string[] {
  const shown =
    turn.status === 'ok'
      ? (turn.response ?? '')
      : turn.error
        ? `${turn.error.code}: ${turn.error.message}`
        : '';
  return [
    oneLine(turn.model, TABLE_ID_CHARS),
    oneLine(turn.sequence, TABLE_ID_CHARS),
    String(turn.run),
    String(turn.turn),
    turn.status,
    turn.latencyMs === null ? '-' : `${turn.latencyMs} ms`,
    turn.usage ? `${turn.usage.inputTokens}/${turn.usage.outputTokens}` : '-',
    oneLine(shown, TABLE_RESPONSE_CHARS),
  ];
}

/**
 * The turns in `format`, as chunks of at most `rowsPerChunk` rows (CSV's header comes first,
 * with the first rows). Every format streams its input: the first chunk is yielded once
 * `rowsPerChunk` turns are read, whatever the job's size. The table's columns are as wide as
 * the rows read so far need (they only widen, page after page, so a later page that holds a
 * longer id is wider than the first). Every line ends with a line terminator (CRLF for CSV, LF
 * otherwise); no turns yields only the CSV or table header.
 */
export function* formatTurnChunks(
  turns: Iterable<TurnRecord>,
  format: ResultFormat,
  rowsPerChunk: number = DEFAULT_ROWS_PER_CHUNK,
): Generator<string, void, undefined> {
  switch (format) {
    case 'jsonl':
      yield* chunked(turns, (turn) => `${jsonForTerminal(turnJson(turn), 0)}\n`, rowsPerChunk, '');
      return;
    case 'csv':
      yield* chunked(turns, csvRecord, rowsPerChunk, CSV_COLUMNS.join(',') + CSV_LINE_END);
      return;
    case 'table':
      yield* tableChunks(turns, rowsPerChunk);
      return;
    default: {
      const unknown: never = format;
      throw new Error(`unknown result format ${String(unknown)}`);
    }
  }
}

function* tableChunks(turns: Iterable<TurnRecord>, rowsPerChunk: number): Generator<string, void, undefined> {
  let widths: number[] = [];
  let page: string[][] = [];
  let header = true;
  const render = (): string => {
    widths = columnWidths(TABLE_COLUMNS, page, widths);
    const lines = page.map((row) => renderRow(TABLE_COLUMNS, widths, row));
    if (header) lines.unshift(renderRow(TABLE_COLUMNS, widths, headerRow(TABLE_COLUMNS)));
    header = false;
    page = [];
    return lines.map((line) => `${line}\n`).join('');
  };
  for (const turn of turns) {
    page.push(tableRow(turn));
    if (page.length >= rowsPerChunk) yield render();
  }
  if (page.length > 0 || header) yield render();
}

function* chunked(
  turns: Iterable<TurnRecord>,
  render: (turn: TurnRecord) => string,
  rowsPerChunk: number,
  header: string,
): Generator<string, void, undefined> {
  let chunk = header;
  let rows = 0;
  for (const turn of turns) {
    chunk += render(turn);
    rows += 1;
    if (rows >= rowsPerChunk) {
      yield chunk;
      chunk = '';
      rows = 0;
    }
  }
  if (chunk !== '') yield chunk;
}

/** The turns in `format`, as one string (see `formatTurnChunks`; prefer it for big jobs). */
export function formatTurns(turns: Iterable<TurnRecord>, format: ResultFormat): string {
  return Array.from(formatTurnChunks(turns, format)).join('');
}
