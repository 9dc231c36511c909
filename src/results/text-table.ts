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
  const widths = columns.map((column, index) =>
    Math.max(stringWidth(column.header), ...rows.map((row) => stringWidth(row[index] ?? ''))),
  );
  const gap = ' '.repeat(COLUMN_GAP);
  const line = (cells: readonly string[]): string =>
    columns
      .map((column, index) => {
        const cell = cells[index] ?? '';
        const width = widths[index] ?? 0;
        if (index === columns.length - 1 && column.align !== 'right') return cell;
        const padding = ' '.repeat(width - stringWidth(cell));
        return column.align === 'right' ? padding + cell : cell + padding;
      })
      .join(gap);
  return [line(columns.map((column) => column.header)), ...rows.map(line)];
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
