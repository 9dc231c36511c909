/**
 * The free space a store keeps in reserve: a write is refused as "no space left" while the data
 * directory's file system has less than this free, before LMDB is asked to commit it.
 *
 * Why: LMDB (lmdb-js) reports a commit that runs out of space, but has been seen to corrupt its
 * own heap and abort the whole process when it commits again afterwards (1 run in 15 on a 2 MB
 * tmpfs, "corrupted size vs. prev_size", SIGABRT). Stopping short of a full disk keeps a full
 * disk an orderly exit 3; the reserve is far more than one commit of troupe's writes needs.
 */
import { statfsSync } from 'node:fs';

/** The reserve on a large file system, in bytes. */
export const SPACE_RESERVE_BYTES = 64 * 1024 * 1024;
/** …and on a small one, as a share of its size (a few-MB tmpfs would otherwise be all reserve). */
export const SPACE_RESERVE_SHARE = 1 / 4;

/** What `dir`'s file system has free and keeps in reserve, in bytes. */
export interface SpaceLeft {
  readonly freeBytes: number;
  readonly reserveBytes: number;
}

/**
 * The free space on `dir`'s file system when it is below the reserve; undefined when there is
 * enough, or when the system cannot say (the write then goes ahead, and a failure is reported).
 */
export function spaceBelowReserve(dir: string): SpaceLeft | undefined {
  let stats: ReturnType<typeof statfsSync>;
  try {
    stats = statfsSync(dir);
  } catch {
    return undefined;
  }
  const freeBytes = stats.bavail * stats.bsize;
  const reserveBytes = Math.min(SPACE_RESERVE_BYTES, stats.blocks * stats.bsize * SPACE_RESERVE_SHARE);
  return freeBytes < reserveBytes ? { freeBytes, reserveBytes } : undefined;
}
