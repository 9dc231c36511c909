import { describe, expect, it } from 'vitest';

import { CSV_COLUMNS, formatTurnChunks, formatTurns, TABLE_RESPONSE_CHARS } from '../src/results/format.js';
import { formatSummaryTable, nearestRank, summarizeByModel } from '../src/results/summary.js';
import type { TurnRecord } from '../src/store/records.js';
import { turnRecord } from './helpers/records.js';

/** A stored turn as these tests use it. */
function turn(overrides: Partial<TurnRecord> = {}): TurnRecord {
  return turnRecord({ job: '20261126-2350-k3f9q2', requestHash: 'ab12', ...overrides });
}

const failed = turn({
  turn: 2,
  status: 'failed',
  response: null,
  error: { code: 'troupe:client-error', message: 'HTTP 400: bad, "really"' },
  usage: null,
  latencyMs: null,
  attempts: 3,
  requestHash: null,
});

describe('jsonl', () => {
  it('writes one line per turn with exactly the documented fields, in order', () => {
    // A stored record may hold its fields in another order, or fields this version does not print.
    const shuffled = { extra: 1, ...turn(), usage: { outputTokens: 20, inputTokens: 10 } } as TurnRecord;
    const text = formatTurns([shuffled, failed], 'jsonl');
    const lines = text.split('\n');
    expect(lines).toHaveLength(3);
    expect(lines[2]).toBe('');
    const first = JSON.parse(lines[0] ?? '') as Record<string, unknown>;
    expect(Object.keys(first)).toEqual([
      'job',
      'model',
      'sequence',
      'run',
      'turn',
      'prompt',
      'response',
      'status',
      'error',
      'usage',
      'latencyMs',
      'attempts',
      'startedAt',
      'finishedAt',
      'requestHash',
    ]);
    expect(Object.keys(first.usage as object)).toEqual(['inputTokens', 'outputTokens']);
    expect(JSON.parse(lines[1] ?? '')).toEqual({ ...failed });
  });

  it('prints nothing for no turns, and keeps a response with newlines on one line', () => {
    expect(formatTurns([], 'jsonl')).toBe('');
    const text = formatTurns([turn({ response: 'a\nb\r\nc\u001b[31m' })], 'jsonl');
    expect(text.split('\n')).toHaveLength(2);
    expect((JSON.parse(text) as TurnRecord).response).toBe('a\nb\r\nc\u001b[31m');
  });
});

describe('csv', () => {
  it('writes a header and RFC 4180 records: CRLF, quotes only where needed, doubled quotes', () => {
    const text = formatTurns([turn({ response: 'one, "two"\nthree' }), failed], 'csv');
    const [header, first, ...rest] = text.split('\r\n');
    expect(header).toBe(CSV_COLUMNS.join(','));
    expect(header).toBe(
      'job,model,sequence,run,turn,prompt,response,status,errorCode,errorMessage,inputTokens,outputTokens,latencyMs,attempts,startedAt,finishedAt,requestHash,reusedFrom',
    );
    expect(first).toBe(
      '20261126-2350-k3f9q2,model-a,seq-1,1,1,Hello?,"one, ""two""\nthree",ok,,,10,20,123,1,2026-11-26T23:50:00.000Z,2026-11-26T23:50:01.000Z,ab12,',
    );
    expect(rest).toEqual([
      '20261126-2350-k3f9q2,model-a,seq-1,1,2,Hello?,,failed,troupe:client-error,"HTTP 400: bad, ""really""",,,,3,2026-11-26T23:50:00.000Z,2026-11-26T23:50:01.000Z,,',
      '',
    ]);
  });

  it('names the job a copied turn came from (`--reuse`), and leaves the cell empty otherwise', () => {
    const text = formatTurns([turn({ reusedFrom: '20261125-0900-abc123' }), turn({ turn: 2 })], 'csv');
    const [, copied, requested] = text.split('\r\n');
    expect(copied?.endsWith(',ab12,20261125-0900-abc123')).toBe(true);
    expect(requested?.endsWith(',ab12,')).toBe(true);
  });

  it('quotes a field holding a carriage return, and prints only the header for no turns', () => {
    expect(formatTurns([turn({ prompt: 'a\rb' })], 'csv')).toContain(',"a\rb",');
    expect(formatTurns([], 'csv')).toBe(`${CSV_COLUMNS.join(',')}\r\n`);
  });
});

describe('table', () => {
  it('aligns its columns and shortens every response to one safe line', () => {
    const long = 'word '.repeat(40);
    const text = formatTurns(
      [
        turn({ model: 'a-much-longer-model-name', response: 'first line\nsecond\tline' }),
        turn({
          run: 10,
          turn: 12,
          response: long,
          latencyMs: 4567,
          usage: { inputTokens: 1234, outputTokens: 5 },
        }),
        turn({ response: 'evil \u001b]0;title\u0007 text' }),
        failed,
      ],
      'table',
    );
    expect(text.endsWith('\n')).toBe(true);
    const lines = text.slice(0, -1).split('\n');
    expect(lines).toHaveLength(5);
    const header = lines[0] ?? '';
    expect(header.split(/\s{2,}/)).toEqual([
      'MODEL',
      'SEQUENCE',
      'RUN',
      'TURN',
      'STATUS',
      'LATENCY',
      'TOKENS',
      'RESPONSE',
    ]);

    // Every row starts each column where the header does.
    const statusAt = header.indexOf('STATUS');
    const responseAt = header.indexOf('RESPONSE');
    for (const line of lines.slice(1)) {
      expect(line.slice(statusAt).split(' ')[0]).toMatch(/^(ok|failed|skipped)$/);
      expect(line[responseAt - 1]).toBe(' ');
      expect(line).not.toMatch(/\s$/);
    }
    // Right-aligned numbers end where their header ends.
    const latencyEnd = header.indexOf('LATENCY') + 'LATENCY'.length;
    expect(lines[2]?.slice(0, latencyEnd).endsWith('4567 ms')).toBe(true);
    expect(lines[2]?.includes('1234/5')).toBe(true);

    expect(lines[1]?.slice(responseAt)).toBe('first line second line');
    const shortened = lines[2]?.slice(responseAt) ?? '';
    expect(Array.from(shortened)).toHaveLength(TABLE_RESPONSE_CHARS);
    expect(shortened.endsWith('…')).toBe(true);
    expect(lines[3]).not.toMatch(/\p{Cc}/u);
    expect(lines[3]?.slice(responseAt)).toBe('evil \ufffd]0;title\ufffd text');
    expect(lines[4]?.slice(responseAt)).toBe('troupe:client-error: HTTP 400: bad, "really"');
    expect(lines[4]).toMatch(/failed\s+-\s+-\s+troupe/);
  });
});

describe('chunks', () => {
  it('yields bounded chunks whose concatenation is the whole output', () => {
    const turns = Array.from({ length: 1_200 }, (_, i) => turn({ turn: i + 1 }));
    for (const format of ['jsonl', 'csv', 'table'] as const) {
      const chunks = [...formatTurnChunks(turns, format, 500)];
      expect(chunks.length).toBe(3);
      expect(chunks.join('')).toBe(formatTurns(turns, format));
    }
    const csv = [...formatTurnChunks(turns, 'csv', 500)];
    expect(csv[0]?.startsWith('job,model')).toBe(true);
    expect(csv[0]?.split('\r\n')).toHaveLength(1 + 500 + 1);
  });
});

describe('summary', () => {
  it('takes nearest-rank percentiles', () => {
    expect(nearestRank([], 50)).toBeNull();
    expect(nearestRank([7], 95)).toBe(7);
    expect(nearestRank([1, 2, 3, 4], 50)).toBe(2);
    expect(nearestRank([1, 2, 3, 4, 5], 50)).toBe(3);
    expect(nearestRank([1, 2, 3, 4], 95)).toBe(4);
  });

  it('counts, percentiles and tokens per model, in the order given', () => {
    // model-a: 20 ok turns at 10, 20, …, 200 ms (shuffled). p50 = 10th value = 100; p95 = 19th = 190.
    const latencies = Array.from({ length: 20 }, (_, i) => (i + 1) * 10).reverse();
    const turns: TurnRecord[] = latencies.map((latencyMs, i) => turn({ turn: i + 1, latencyMs }));
    // model-b: ok at 5, 1, 3 ms → sorted 1, 3, 5: p50 = 2nd (ceil 1.5) = 3; p95 = 3rd (ceil 2.85) = 5.
    turns.push(
      turn({ model: 'model-b', latencyMs: 5, usage: { inputTokens: 1, outputTokens: 2 } }),
      turn({ model: 'model-b', turn: 2, latencyMs: 1, usage: { inputTokens: 3, outputTokens: 4 } }),
      turn({ model: 'model-b', turn: 3, latencyMs: 3, usage: null }),
      {
        ...failed,
        model: 'model-b',
        turn: 4,
        latencyMs: 9_999,
        usage: { inputTokens: 100, outputTokens: 0 },
      },
      turn({ model: 'model-b', turn: 5, status: 'skipped', response: null, latencyMs: null, usage: null }),
    );
    turns.push(turn({ model: 'not-in-suite' }));

    const summary = summarizeByModel(turns, ['model-b', 'model-c', 'model-a']);
    expect(summary).toEqual([
      {
        model: 'model-b',
        ok: 3,
        failed: 1,
        skipped: 1,
        total: 5,
        latencyP50Ms: 3,
        latencyP95Ms: 5,
        inputTokens: 104,
        outputTokens: 6,
      },
      {
        model: 'model-c',
        ok: 0,
        failed: 0,
        skipped: 0,
        total: 0,
        latencyP50Ms: null,
        latencyP95Ms: null,
        inputTokens: 0,
        outputTokens: 0,
      },
      {
        model: 'model-a',
        ok: 20,
        failed: 0,
        skipped: 0,
        total: 20,
        latencyP50Ms: 100,
        latencyP95Ms: 190,
        inputTokens: 200,
        outputTokens: 400,
      },
      {
        model: 'not-in-suite',
        ok: 1,
        failed: 0,
        skipped: 0,
        total: 1,
        latencyP50Ms: 123,
        latencyP95Ms: 123,
        inputTokens: 10,
        outputTokens: 20,
      },
    ]);
  });

  it('formats an aligned table, one line per model', () => {
    const text = formatSummaryTable(
      summarizeByModel([turn(), turn({ model: 'a-longer-model', latencyMs: 1500.4 }), failed], ['model-a']),
    );
    expect(text.endsWith('\n')).toBe(false);
    expect(text.split('\n')).toEqual([
      'MODEL           OK  FAILED  SKIPPED  TOTAL  P50 MS  P95 MS  IN TOKENS  OUT TOKENS',
      'model-a          1       1        0      2     123     123         10          20',
      'a-longer-model   1       0        0      1    1500    1500         10          20',
    ]);
  });
});
