/** Words for what went wrong in a store: which record is damaged, whether a write failed for want of space. */
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
