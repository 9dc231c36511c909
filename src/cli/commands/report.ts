import { writeFile } from 'node:fs/promises';
import { InputError } from '../../errors.js';
import { compareJobs } from '../../report/compare.js';
import { renderReport } from '../../report/html-report.js';
import { storedJob } from '../../report/stored-job.js';
import { openLmdbStore } from '../../store/lmdb-store.js';

/** Options of `troupe report`. */
export interface ReportOptions {
  /** Id of the job. */
  readonly job: string;
  /** The store's directory. */
  readonly dataDir: string;
  /** The HTML file to write (replaced if it exists). */
  readonly out: string;
  /** A baseline job: the report then compares the job with it (`troupe compare <baseline> <job>`). */
  readonly compareTo?: string;
}

/**
 * `troupe report <job> --out report.html`: one self-contained HTML file of the job's turns as
 * stored (it works while the job runs, too). An unknown job or an unwritable `--out` is an
 * `InputError`.
 */
export async function runReport(options: ReportOptions, log: (line: string) => void): Promise<void> {
  const store = await openLmdbStore(options.dataDir, { readOnly: true });
  let html: string;
  let turnCount: number;
  let jobId: string;
  try {
    const after = storedJob(store, options.job, options.dataDir);
    const { job, turns } = after;
    const comparison =
      options.compareTo === undefined
        ? undefined
        : compareJobs(storedJob(store, options.compareTo, options.dataDir), after);
    html = renderReport(job, turns, comparison);
    turnCount = turns.length;
    jobId = job.id;
  } finally {
    await store.close();
  }
  try {
    await writeFile(options.out, html);
  } catch (error) {
    const code = (error as { code?: unknown }).code;
    if (typeof code !== 'string') throw error;
    throw new InputError(`--out ${options.out}: cannot write the report (${code})`);
  }
  log(`report of job ${jobId} (${turnCount} turns) written to ${options.out}`);
}
