import { writeFile } from 'node:fs/promises';
import { InputError } from '../../errors.js';
import { compareJobReaders } from '../../report/compare.js';
import { renderJobReport } from '../../report/html-report.js';
import { storedJobReader } from '../../report/job-reader.js';
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
 * stored (it works while the job runs, too), in bounded memory and at most about 25 MB whatever
 * the job's size. An unknown job or an unwritable `--out` is an
 * `InputError`.
 */
export async function runReport(options: ReportOptions, log: (line: string) => void): Promise<void> {
  const store = await openLmdbStore(options.dataDir, { readOnly: true });
  let html: string;
  let jobId: string;
  try {
    const after = storedJobReader(store, options.job, options.dataDir);
    const comparison =
      options.compareTo === undefined
        ? undefined
        : compareJobReaders(storedJobReader(store, options.compareTo, options.dataDir), after);
    html = renderJobReport(after, comparison);
    jobId = after.job.id;
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
  log(`report of job ${jobId} written to ${options.out}`);
}
