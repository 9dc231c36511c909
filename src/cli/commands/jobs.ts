import { callDaemon } from '../../daemon/control-client.js';
import { renderTable } from '../../results/text-table.js';

/** Options of `troupe jobs`. */
export interface JobsOptions {
  readonly dataDir: string;
}

/** `troupe jobs`: every job of the daemon's data directory, oldest first. */
export async function runJobs(options: JobsOptions, out: (line: string) => void): Promise<void> {
  const answer = await callDaemon(options.dataDir, { type: 'jobs' });
  if (answer.type !== 'job-list') throw new Error(`unexpected answer ${answer.type}`);
  if (answer.jobs.length === 0) {
    out('no jobs yet (submit one with: troupe submit <suite>)');
    return;
  }
  const columns = ['JOB', 'SUITE', 'STATE', 'TURNS', 'CREATED', 'FINISHED'].map((header) => ({ header }));
  const rows = answer.jobs.map((job) => [
    job.id,
    job.suite,
    job.state,
    `${job.turnsRecorded}/${job.turnsTotal}`,
    job.createdAt,
    job.finishedAt ?? '',
  ]);
  for (const line of renderTable(columns, rows)) out(line);
}
