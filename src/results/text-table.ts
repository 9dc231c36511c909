/** Aligned plain-text tables for a terminal. */
import stringWidth from 'string-width';

import { sanitizeForTerminal } from './terminal-text.js';

/** One column of a text table. */
export interface TextColumn {
  readonly header: string;
  /** Numbers read best right-aligned. Default `left`. */
  readonly align?: 'left' | 'right';
}

/** Columns are separated by this many spaces. */
const COLUMN_GAP = 2;

/**
 * Renders a header and rows as aligned lines (without line terminators). Widths are terminal
 * columns (a CJK character or an emoji takes two); the last column is not padded, so lines carry
 * no trailing spaces.
 */
export function renderTable(columns: readonly TextColumn[], rows: readonly (readonly string[])[]): string[] {
  const widths = columnWidths(columns, rows);
  return [
    renderRow(columns, widths, headerRow(columns)),
    ...rows.map((row) => renderRow(columns, widths, row)),
  ];
}

/** The header cells of `columns`. */
export function headerRow(columns: readonly TextColumn[]): string[] {
  return columns.map((column) => column.header);
}

/**
 * The width of each column (in terminal columns) that fits its header, `rows`, and at least
 * `atLeast` (the widths of the rows printed before, when a table is printed page by page).
 */
export function columnWidths(
  columns: readonly TextColumn[],
  rows: readonly (readonly string[])[],
  atLeast: readonly number[] = [],
): number[] {
  return columns.map((column, index) =>
    Math.max(
      atLeast[index] ?? 0,
      stringWidth(column.header),
      ...rows.map((row) => stringWidth(row[index] ?? '')),
    ),
  );
}

/** One row as an aligned line, the columns `widths` wide. */
export function renderRow(
  columns: readonly TextColumn[],
  widths: readonly number[],
  cells: readonly string[],
): string {
  return columns
    .map((column, index) => {
      const cell = cells[index] ?? '';
      const width = widths[index] ?? 0;
      if (index === columns.length - 1 && column.align !== 'right') return cell;
      const padding = ' '.repeat(Math.max(width - stringWidth(cell), 0));
      return column.align === 'right' ? padding + cell : cell + padding;
    })
    .join(' '.repeat(COLUMN_GAP));
}

const WHITESPACE_RUN = /\s+/gu;

/**
 * `text` on one line, safe to print on a terminal: whitespace runs (newlines included) become one
 * space, control characters become U+FFFD, and text longer than `maxChars` code points is cut
 * with an ellipsis.
 */
export function oneLine(text: string, maxChars: number): string {
  const flat = sanitizeForTerminal(text.replace(WHITESPACE_RUN, ' ').trim());
  const chars = Array.from(flat);
  return chars.length <= maxChars ? flat : `${chars.slice(0, Math.max(maxChars - 1, 0)).join('')}…`;
}
