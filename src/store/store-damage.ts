/** Words for what went wrong in a store: which record is damaged, whether a write failed for want of space. */
import { statfs } from 'node:fs/promises';

import type { DamagedRecord } from './record-database.js';

/** Names a damaged record for a person: `job J, model M, sequence S, run R, turn T (checksum mismatch)`. */
export function describeDamage(damaged: DamagedRecord): string {
  const { database, key, reason } = damaged;
  if (database === 'turns' && Array.isArray(key) && key.length === 5) {
    const [job, model, sequence, run, turn] = key as unknown[];
    return `job ${String(job)}, model ${String(model)}, sequence ${String(sequence)}, run ${String(run)}, turn ${String(turn)} (${reason})`;
  }
  if (database === 'jobs') return `job ${String(key as string)} (${reason})`;
  if (database === 'lmdb') return `LMDB's own pages, met reading ${String(key as string)} (${reason})`;
  if (database === 'leases') return `the lease of job ${String(key as string)} (${reason})`;
  return `${database} record ${JSON.stringify(key) ?? String(key)} (${reason})`;
}

// errno of a full disk, as LMDB reports a failed commit (ENOSPC), and its quota cousin (EDQUOT).
const ENOSPC = 28;
const EDQUOT = 122;

/** Whether a failed write failed because the disk (or the user's quota) is full. */
export function isDiskFull(error: unknown): boolean {
  for (let current = error, depth = 0; current && depth < 5; depth += 1) {
    const { code, message, cause } = current as { code?: unknown; message?: unknown; cause?: unknown };
    if (code === 'ENOSPC' || code === 'EDQUOT' || code === ENOSPC || code === EDQUOT) return true;
    if (typeof message === 'string' && /no space left|ENOSPC|disk quota/i.test(message)) return true;
    current = cause;
  }
  return false;
}

/** Below this many free bytes a failed commit is put down to a full disk, in bytes. */
const DISK_FULL_MARGIN_BYTES = 4 * 1024 * 1024;
/** …or below this share of the file system's size (a small file system). */
const DISK_FULL_MARGIN_SHARE = 1 / 8;

/**
 * Whether a failed write failed for want of space: by its error code when the system says so,
 * else by the space left on `dir`'s file system (LMDB reports a full tmpfs as EIO, code 5).
 */
export async function failedForSpace(error: unknown, dir: string): Promise<boolean> {
  if (isDiskFull(error)) return true;
  const cause = await commitCause(error);
  if (isDiskFull(cause)) return true;
  try {
    const fs = await statfs(dir);
    const free = fs.bavail * fs.bsize;
    return free < Math.min(DISK_FULL_MARGIN_BYTES, fs.blocks * fs.bsize * DISK_FULL_MARGIN_SHARE);
  } catch {
    return false;
  }
}

/** How long to wait for the reason LMDB gives for a failed commit, in ms. */
const COMMIT_CAUSE_WAIT_MS = 1_000;

/** LMDB's "Commit failed" carries the reason as a promise (`commitError`) that rejects later. */
async function commitCause(error: unknown): Promise<unknown> {
  const pending = (error as { commitError?: unknown } | null)?.commitError;
  if (!(pending instanceof Promise)) return undefined;
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<undefined>((resolve) => {
    timer = setTimeout(() => resolve(undefined), COMMIT_CAUSE_WAIT_MS);
    timer.unref();
  });
  try {
    return await Promise.race([
      pending.then(
        () => undefined,
        (cause: unknown) => cause,
      ),
      timeout,
    ]);
  } finally {
    clearTimeout(timer);
  }
}

/**
 * lmdb-js rejects, besides every put of a failed transaction (which troupe's callers handle),
 * promises of its own that nobody can reach: the transaction's and its `commitError`. Left
 * alone, Node would end the process on them with a stack trace instead of troupe's message.
 * This filter drops exactly those and rethrows anything else (as Node would by default).
 */
let filterInstalled = false;
export function ignoreLmdbInternalCommitRejections(): void {
  if (filterInstalled) return;
  filterInstalled = true;
  process.on('unhandledRejection', (reason) => {
    if (isLmdbCommitRejection(reason)) return;
    throw reason;
  });
}

function isLmdbCommitRejection(reason: unknown): boolean {
  if (!(reason instanceof Error)) return false;
  if (reason.message.startsWith('Commit failed (see commitError')) return true;
  // The reason behind it, created in lmdb-js's write module.
  return (
    typeof (reason as { code?: unknown }).code === 'number' &&
    /[\\/]lmdb[\\/]write\.js/.test(reason.stack ?? '')
  );
}
