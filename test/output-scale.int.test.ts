/**
 * results, report and compare on jobs bigger than the heap they are given: a job's records are
 * generated straight into a real LMDB store, the real CLI runs in a child process with a small
 * `--max-old-space-size`, and the child's peak RSS is measured (process.memoryUsage() sampled,
 * and the kernel's high-water mark where there is one).
 */
import { readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { openLmdbStore } from '../src/store/lmdb-store.js';
import { syntheticSequenceId, writeSyntheticJob } from '../src/store/synthetic-job.js';
import type { SyntheticJobShape } from '../src/store/synthetic-job.js';
import { measuredCli, type Measured } from './helpers/measured-cli.js';
import { tempDir } from './helpers/temp.js';

/** The heap the child gets, in MB: less than the big job's answers alone (12 000 turns × 6 KB = 72 MB). */
const HEAP_MB = 64;
const HEAP_BYTES = HEAP_MB * 1024 * 1024;
/** Peak resident memory of its own allowed to the child, in bytes: Node itself, buffers, the heap. */
const PEAK_RSS_BYTES = 150 * 1024 * 1024;
const REPORT_MAX_BYTES = 25 * 1024 * 1024;

const BIG: SyntheticJobShape = {
  id: '20261201-0000-bigbig',
  models: 2,
  sequences: 1500,
  runs: 2,
  turnsPerSequence: 2,
  responseChars: 6000,
  failEvery: 50,
  disagreeEvery: 40,
};
const TURNS = BIG.models * BIG.sequences * BIG.runs * BIG.turnsPerSequence;
const BASELINE: SyntheticJobShape = { ...BIG, id: '20261201-0000-before', responseChars: 200, failEvery: 0 };

let dir: Awaited<ReturnType<typeof tempDir>>;
let dataDir: string;

beforeAll(async () => {
  dir = await tempDir('troupe-scale-');
  dataDir = join(dir.path, 'data');
  const store = await openLmdbStore(dataDir);
  try {
    await writeSyntheticJob(store, BIG);
    await writeSyntheticJob(store, BASELINE);
  } finally {
    await store.close();
  }
}, 120_000);
afterAll(async () => dir?.cleanup());

/** Runs `troupe <args>` on the test's store with a small heap, collects its output and its peaks. */
function measured(args: readonly string[]): Promise<Measured> {
  return measuredCli([...args, '--data-dir', dataDir], { workDir: dir.path, heapMb: HEAP_MB });
}

describe('output of a job bigger than the heap', () => {
  it('results streams every turn as JSON lines, printing before it has read them all', async () => {
    const result = await measured(['results', BIG.id, '--format', 'jsonl']);
    expect(result.stderr).toBe('');
    expect(result.code).toBe(0);
    const lines = result.stdout.trimEnd().split('\n');
    expect(lines).toHaveLength(TURNS);
    expect(Buffer.byteLength(result.stdout)).toBeGreaterThan(HEAP_BYTES);
    expect(result.aliveAtFirstOutput).toBe(true);
    expect(result.peakRssBytes).toBeLessThan(PEAK_RSS_BYTES);
  });

  it('results streams the CSV and the table too', async () => {
    for (const format of ['csv', 'table']) {
      const result = await measured(['results', BIG.id, '--format', format]);
      expect(result.code).toBe(0);
      expect(result.stdout.trimEnd().split(format === 'csv' ? '\r\n' : '\n')).toHaveLength(TURNS + 1);
      expect(result.peakRssBytes).toBeLessThan(PEAK_RSS_BYTES);
    }
  });

  it('report keeps every aggregate, the failing and the most divergent conversations, under 25 MB', async () => {
    const out = join(dir.path, 'report.html');
    const result = await measured(['report', BIG.id, '--out', out]);
    expect(result.stderr).toBe('');
    expect(result.code).toBe(0);
    expect(result.peakRssBytes).toBeLessThan(PEAK_RSS_BYTES);
    expect((await stat(out)).size).toBeLessThan(REPORT_MAX_BYTES);
    const html = await readFile(out, 'utf8');
    // The aggregates are over every turn: model-1 failed one turn of every 50th sequence.
    const failing = Math.ceil(BIG.sequences / BIG.failEvery);
    expect(html).toContain(`${TURNS} of ${TURNS} turns recorded`);
    expect(html).toContain(`<b>${TURNS - failing}</b> ok, <b>${failing}</b> failed`);
    expect(html).toMatch(
      /<tr data-model="model-1"><th scope="row">model-1<\/th><td class="num">\d+<\/td><td class="num">30<\/td>/,
    );
    // In full: the failing sequences, the divergent ones; not the others.
    for (const index of [0, 50, 1450])
      expect(html).toContain(`data-sequence="${syntheticSequenceId(index)}"`);
    for (const index of [1, 41]) expect(html).toContain(`data-sequence="${syntheticSequenceId(index)}"`);
    expect(html).not.toContain(`data-sequence="${syntheticSequenceId(2)}"`);
    expect(html).toContain(`This job has ${BIG.sequences} sequences`);
    expect(html).toContain(`troupe results ${BIG.id} --sequence &lt;id&gt;`);
  });

  it('compare merges two big jobs in bounded memory', async () => {
    const result = await measured(['compare', BASELINE.id, BIG.id, '--format', 'json']);
    expect(result.stderr).toBe('');
    expect(result.code).toBe(0);
    expect(result.peakRssBytes).toBeLessThan(PEAK_RSS_BYTES);
    const comparison = JSON.parse(result.stdout) as {
      sequenceCounts: { compared: number; changed: number; listed: number };
      models: { model: string; failedTurns: { before: number; after: number } }[];
    };
    expect(comparison.sequenceCounts.compared).toBe(BIG.models * BIG.sequences);
    expect(comparison.sequenceCounts.listed).toBeLessThanOrEqual(1000);
    expect(comparison.models.find((m) => m.model === 'model-1')?.failedTurns).toMatchObject({
      before: 0,
      after: Math.ceil(BIG.sequences / BIG.failEvery),
    });
  });
});
