import { writeFile } from 'node:fs/promises';
import { renderReport } from '../../report/html-report.js';
import { storedJob } from '../../report/stored-job.js';
import { openLmdbStore } from '../../store/lmdb-store.js';

/** Options of `troupe report`. */
export interface ReportOptions {
  readonly job: string;
  readonly dataDir: string;
  /** Where the HTML file goes. */
  readonly out: string;
}

/** `troupe report <job> --out report.html`: one self-contained HTML file (works while the job runs, too). */
export async function runReport(options: ReportOptions, log: (line: string) => void): Promise<void> {
  const store = await openLmdbStore(options.dataDir, { readOnly: true });
  try {
    const { job, turns } = storedJob(store, options.job, options.dataDir);
    await writeFile(options.out, renderReport(job, turns));
    log(`report of job ${job.id} (${turns.length} turns) written to ${options.out}`);
  } finally {
    await store.close();
  }
}
