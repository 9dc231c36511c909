/**
 * The entry of a reader process (see reader-process.ts): runs one `ReaderTask`, given as JSON in
 * its first argument, with the CLI's stdout and stderr, and exits as the command would.
 */
import { ExitCode, ExitError } from '../errors.js';
import { reportFailure, stdoutLine } from './command-output.js';
import { sealEnvelope } from './reader-process.js';
import type { FromReader, ReaderTask } from './reader-process.js';

async function run(task: ReaderTask): Promise<number> {
  switch (task.type) {
    case 'results':
      await (await import('./commands/results.js')).runResults(task.options, process.stdout);
      return ExitCode.ok;
    case 'report':
      await (await import('./commands/report.js')).runReport(task.options, stdoutLine);
      return ExitCode.ok;
    case 'compare':
      await (await import('./commands/compare.js')).runCompare(task.options, stdoutLine);
      return ExitCode.ok;
    case 'check-job': {
      const { openLmdbStore } = await import('../store/lmdb-store.js');
      const store = await openLmdbStore(task.dataDir, { readOnly: true });
      try {
        store.checkJob(task.job);
      } finally {
        await store.close();
      }
      return ExitCode.ok;
    }
    case 'stored-jobs': {
      try {
        const { openLmdbStore } = await import('../store/lmdb-store.js');
        const { readStoredJobs } = await import('../store/stored-jobs.js');
        const store = await openLmdbStore(task.dataDir, { readOnly: true });
        try {
          await send({ type: 'stored-jobs', jobs: readStoredJobs(store, task.query) });
        } finally {
          await store.close();
        }
      } catch (error) {
        await send({ type: 'failed', ...failureOf(error) });
      }
      return ExitCode.ok;
    }
    case 'scan': {
      const { scanDatabases } = await import('../store/verify.js');
      await scanDatabases(
        task.dataDir,
        task.databases,
        task.out,
        (database, page) => send({ type: 'scan-page', database, page }),
        (database, end) => send({ type: 'scan-end', database, end }),
      );
      return ExitCode.ok;
    }
    default: {
      const unknown: never = task;
      throw new Error(`unknown reader task ${JSON.stringify(unknown)}`);
    }
  }
}

/** An error as data for the parent: its namespaced code, its message and the exit code it means. */
function failureOf(error: unknown): { error: { code: string; message: string }; exitCode: number } {
  const message = error instanceof Error ? error.message : String(error);
  if (!(error instanceof ExitError))
    return { error: { code: 'troupe:internal', message }, exitCode: ExitCode.internal };
  const { code } = error as { code?: unknown };
  const named =
    typeof code === 'string' && code.startsWith('troupe:')
      ? code
      : error.exitCode === ExitCode.badInput
        ? 'troupe:bad-input'
        : 'troupe:internal';
  return { error: { code: named, message }, exitCode: error.exitCode };
}

/** Sends a message to the parent; resolves once it is handed to the channel. */
function send(message: FromReader): Promise<void> {
  return new Promise((resolve, reject) => {
    if (!process.send) {
      reject(new Error('a reader process needs an IPC channel to its parent'));
      return;
    }
    process.send(sealEnvelope(message), undefined, {}, (error) => (error ? reject(error) : resolve()));
  });
}

run(JSON.parse(process.argv[2] ?? 'null') as ReaderTask)
  .then(
    (code) => {
      process.exitCode = code;
    },
    (error: unknown) => {
      process.exitCode = reportFailure(error);
    },
  )
  .finally(() => {
    if (process.connected) process.disconnect();
  });
