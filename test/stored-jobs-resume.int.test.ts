import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { WALK_PAGE_SIZE } from '../src/actors/slice-walk.js';
import { createJob } from '../src/runtime/jobs.js';
import { openLmdbStore } from '../src/store/lmdb-store.js';
import { readStoredJobs } from '../src/store/stored-jobs.js';
import { parseSuite } from '../src/suite/load.js';
import { turnRecord } from './helpers/records.js';
import { tempDir } from './helpers/temp.js';

const SUITE = `name: resume-check
runs: 2
providers:
  sim: { type: simulated, latencyMs: 0 }
models:
  - { id: m, provider: sim, model: sim-m }
sequences:
  - { id: s1, prompts: ["one"] }
  - { id: s2, prompts: ["one"] }
  - { id: s3, prompts: ["one"] }
`;

/** The answer of a turn finished long before the resume point, found in the data file by its bytes. */
const FAR_ANSWER = 'an answer far behind the resume point';

describe('what a daemon reads of a job before resuming it', () => {
  it('is what the resume reads (progress, its sequence page, its first turns), not every record of the job', async () => {
    const dir = await tempDir();
    try {
      const store = await openLmdbStore(dir.path);
      const { suite } = await parseSuite(SUITE, 'resume-check.yaml', () => Promise.reject(new Error('none')));
      const job = await createJob(store, suite, 'resume-check.yaml');
      const turn = (sequence: string, run: number, response: string) =>
        turnRecord({ job: job.id, model: 'm', sequence, run, turn: 1, prompt: 'one', response });
      await store.putTurns([turn('s1', 1, FAR_ANSWER), turn('s1', 2, 'ok'), turn('s3', 1, 'resumed at')]);
      await store.putModelProgress({
        job: job.id,
        model: 'm',
        resumeAt: { sequence: 's2', firstRun: 1 },
        done: { ok: 2, failed: 0, skipped: 0, inputTokens: 20, outputTokens: 40 },
      });
      await store.close();

      // One byte of the far answer changed on disk, as a failing disk would: that record is damaged.
      const file = join(dir.path, 'data.mdb');
      const bytes = await readFile(file);
      const at = bytes.indexOf(Buffer.from(FAR_ANSWER));
      expect(at).toBeGreaterThan(0);
      bytes[at] = bytes[at] === 0x61 ? 0x62 : 0x61;
      await writeFile(file, bytes);

      const damaged = await openLmdbStore(dir.path, { readOnly: true });
      try {
        // The start's check is bounded by what the resume reads: it does not meet the far record…
        const resumed = readStoredJobs(damaged, { count: false, check: { resumePageSize: WALK_PAGE_SIZE } });
        expect(resumed.map((view) => view.record.id)).toEqual([job.id]);
        // …which the whole check of the job, run after the start, finds.
        expect(() => readStoredJobs(damaged, { count: false, check: 'running' })).toThrow(/damaged/);
      } finally {
        await damaged.close();
      }
    } finally {
      await dir.cleanup();
    }
  });
});
