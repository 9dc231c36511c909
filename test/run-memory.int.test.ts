/**
 * A job whose prompts alone outweigh the heap it is given runs to its end: `troupe run` in a child
 * process with a small `--max-old-space-size`, on the built-in simulated provider, its peak heap
 * and resident memory measured. What it holds is bounded by the work in flight (a page of
 * sequences, the live conversations), not by the job: holding the suite's sequences, or a record
 * per turn, would not fit.
 */
import { createWriteStream } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import { once } from 'node:events';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { openLmdbStore } from '../src/store/lmdb-store.js';
import { measuredCli } from './helpers/measured-cli.js';
import { tempDir } from './helpers/temp.js';

/** The heap the child gets, in MB. */
const HEAP_MB = 64;
const HEAP_BYTES = HEAP_MB * 1024 * 1024;
/** Sequences of one prompt each, and the prompt's size: 4 000 × 16 kB = 64 MB of prompts. */
const SEQUENCES = 4_000;
const PROMPT_CHARS = 16_000;
/** Conversations live at once: the work in flight. */
const MAX_CONCURRENCY = 16;
/** Resident memory of its own allowed to the child, in bytes: Node itself, buffers, the heap. */
const PEAK_RSS_BYTES = 192 * 1024 * 1024;
/** Longest the run may take on a busy machine, in ms. */
const RUN_TIMEOUT_MS = 240_000;

let dir: Awaited<ReturnType<typeof tempDir>>;
let suitePath: string;

beforeAll(async () => {
  dir = await tempDir('troupe-run-memory-');
  const sequencesPath = join(dir.path, 'sequences.jsonl');
  const out = createWriteStream(sequencesPath);
  const filler = 'The quick brown fox jumps over the lazy dog. '
    .repeat(PROMPT_CHARS / 40)
    .slice(0, PROMPT_CHARS);
  for (let i = 1; i <= SEQUENCES; i += 1) {
    const line = `${JSON.stringify({ id: `s${String(i).padStart(5, '0')}`, prompts: [`${i}: ${filler}`] })}\n`;
    if (!out.write(line)) await once(out, 'drain');
  }
  out.end();
  await once(out, 'finish');
  suitePath = join(dir.path, 'suite.yaml');
  await writeFile(
    suitePath,
    [
      'name: bigger-than-the-heap',
      'runs: 1',
      'providers:',
      `  sim: { type: simulated, latencyMs: 1, limits: { maxConcurrency: ${MAX_CONCURRENCY} } }`,
      'models:',
      '  - { id: m1, provider: sim, model: sim-1, maxTokens: 32 }',
      'sequencesFile: sequences.jsonl',
      '',
    ].join('\n'),
  );
}, 60_000);
afterAll(async () => dir?.cleanup());

describe('a job bigger than the heap', () => {
  it('runs every turn in a child whose heap holds a fraction of its prompts', async () => {
    const dataDir = join(dir.path, 'data');
    const result = await measuredCli(['run', suitePath, '--data-dir', dataDir, '--workers', '0'], {
      workDir: dir.path,
      heapMb: HEAP_MB,
      timeoutMs: RUN_TIMEOUT_MS,
    });
    expect(result.stderr).toBe('');
    expect(result.code).toBe(0);
    expect(result.peakHeapBytes).toBeLessThan(HEAP_BYTES);
    expect(result.peakRssBytes).toBeLessThan(PEAK_RSS_BYTES);
    const store = await openLmdbStore(dataDir, { readOnly: true });
    try {
      const [job] = store.listJobs();
      expect(job?.state).toBe('done');
      expect(store.countTurns(job?.id ?? '')).toMatchObject({ ok: SEQUENCES, total: SEQUENCES });
    } finally {
      await store.close();
    }
  }, 300_000);
});
