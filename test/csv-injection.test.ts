import { describe, expect, it } from 'vitest';

import { csvField, formatTurnChunks } from '../src/results/format.js';
import { sanitizeForTerminal } from '../src/results/terminal-text.js';
import { turnRecord } from './helpers/records.js';

describe('CSV export', () => {
  it('neutralises every cell a spreadsheet would run as a formula (OWASP)', () => {
    expect(csvField('=HYPERLINK("http://x","click")')).toBe(`"'=HYPERLINK(""http://x"",""click"")"`);
    expect(csvField("=cmd|' /C calc'!A0")).toBe(`"'=cmd|' /C calc'!A0"`);
    for (const start of ['+', '-', '@', '\t', '\r']) expect(csvField(`${start}1+1`)).toBe(`"'${start}1+1"`);
    expect(csvField('plain, text')).toBe('"plain, text"');
    expect(csvField('a=b')).toBe('a=b');
    expect(csvField(-3)).toBe('-3');
  });

  it('writes a turn whose prompt and answer are formulas as text', () => {
    const csv = [
      ...formatTurnChunks([turnRecord({ prompt: "=cmd|' /C calc'!A0", response: '=HYPERLINK("x")' })], 'csv'),
    ].join('');
    const row = csv.split('\r\n')[1] ?? '';
    expect(row).toContain(`"'=cmd|' /C calc'!A0"`);
    expect(row).toContain(`"'=HYPERLINK(""x"")"`);
    expect(row).not.toMatch(/,=/);
  });
});

describe('terminal text', () => {
  it('replaces escape sequences and bidirectional overrides', () => {
    expect(sanitizeForTerminal('\u001b]0;owned\u0007name\u001b[31m\u202e')).toBe(
      '\ufffd]0;owned\ufffdname\ufffd[31m\ufffd',
    );
  });
});
