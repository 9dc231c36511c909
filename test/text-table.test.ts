import stringWidth from 'string-width';
import { describe, expect, it } from 'vitest';

import { renderTable } from '../src/results/text-table.js';

describe('renderTable', () => {
  it('aligns columns by terminal width: CJK characters and emoji take two columns', () => {
    const lines = renderTable(
      [{ header: 'answer' }, { header: 'ms', align: 'right' }, { header: 'model' }],
      [
        ['日本語', '7', 'a'],
        // A family emoji: five code points joined into one two-column glyph.
        ['👨‍👩‍👧 ok', '1200', 'b'],
        ['plain', '35', 'c'],
      ],
    );
    expect(lines).toEqual(['answer    ms  model', '日本語     7  a', '👨‍👩‍👧 ok   1200  b', 'plain     35  c']);
    // Every line's last column starts at the same terminal column.
    const lastColumnAt = lines.map((line) => stringWidth(line.slice(0, line.lastIndexOf('  ') + 2)));
    expect(new Set(lastColumnAt).size).toBe(1);
  });
});
