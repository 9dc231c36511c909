/**
 * One owner per job: the process that runs a job holds its lease in the store (owner, pid, host,
 * heartbeat). A second `run --resume` of the job, or a daemon that would resume it, finds the live
 * lease and refuses; a lease whose holder is gone (no heartbeat for `staleAfterMs`, or its process
 * dead on this host) is taken over.
 */
import { randomUUID } from 'node:crypto';
import { hostname } from 'node:os';

import type { Clock } from '../resilience/clock.js';
import { systemClock } from '../resilience/clock.js';
import type { LmdbCheckpointStore } from './lmdb-store.js';
import type { JobLease } from './records.js';

/** How often the holder renews its lease, in ms. */
export const LEASE_HEARTBEAT_MS = 5_000;
/** A lease not renewed for this long is stale and may be taken over, in ms (several heartbeats). */
export const LEASE_STALE_AFTER_MS = 30_000;

/** Options of `holdJobLease`. */
export interface HoldLeaseOptions {
  /** Names the holder in a refusal: `troupe run`, `troupe daemon`. */
  readonly owner: string;
  /** Default: the system clock. */
  readonly clock?: Clock;
  /** Default `LEASE_HEARTBEAT_MS`. */
  readonly heartbeatMs?: number;
  /** Default `LEASE_STALE_AFTER_MS`. */
  readonly staleAfterMs?: number;
  /** Called once if another process takes the lease over (this one looked dead to it). */
  readonly onLost?: (by: JobLease | undefined) => void;
  /** Called when a heartbeat could not be written (a full disk); the lease stays held until stale. */
  readonly onHeartbeatError?: (error: unknown) => void;
}

/** A lease this process holds; `release` stops the heartbeat and removes it from the store. */
export interface HeldLease {
  readonly lease: JobLease;
  release(): Promise<void>;
}

/** True when a process with this pid exists on this host (signal 0 checks without sending anything). */
function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    // EPERM: it exists but belongs to someone else.
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/**
 * Whether a stored lease still binds others at `nowMs`: its heartbeat is recent, and, when it was
 * taken on this host, its process is alive (a killed holder frees its jobs at once).
 */
export function leaseIsLive(lease: JobLease, nowMs: number, host: string = hostname()): boolean {
  const beat = Date.parse(lease.heartbeatAt);
  if (!Number.isFinite(beat) || nowMs - beat > lease.staleAfterMs) return false;
  if (lease.host === host && lease.pid !== process.pid && !processAlive(lease.pid)) return false;
  return true;
}

/**
 * Takes the lease of `job` (throws `troupe:job-leased`, exit 2, naming the holder, if another live
 * process holds it) and keeps it renewed until `release`.
 */
export function holdJobLease(store: LmdbCheckpointStore, job: string, options: HoldLeaseOptions): HeldLease {
  const clock = options.clock ?? systemClock;
  const heartbeatMs = options.heartbeatMs ?? LEASE_HEARTBEAT_MS;
  const staleAfterMs = options.staleAfterMs ?? LEASE_STALE_AFTER_MS;
  const host = hostname();
  const at = new Date(clock.now()).toISOString();
  let current: JobLease = {
    job,
    owner: options.owner,
    pid: process.pid,
    host,
    token: randomUUID(),
    acquiredAt: at,
    heartbeatAt: at,
    staleAfterMs,
  };
  store.acquireLease(current, (held) => leaseIsLive(held, clock.now(), host));

  let released = false;
  let beating: Promise<void> = Promise.resolve();
  const beat = async (): Promise<void> => {
    const next: JobLease = { ...current, heartbeatAt: new Date(clock.now()).toISOString() };
    try {
      const still = await store.renewLease(current, next);
      if (released) return;
      if (still) {
        current = next;
      } else {
        released = true;
        clearInterval(timer);
        options.onLost?.(store.getLease(job));
      }
    } catch (error) {
      options.onHeartbeatError?.(error);
    }
  };
  const timer = setInterval(() => {
    beating = beating.then(beat);
  }, heartbeatMs);
  timer.unref();

  return {
    get lease() {
      return current;
    },
    async release() {
      if (released) return;
      released = true;
      clearInterval(timer);
      await beating;
      // A store that cannot be written (full disk, damage found) keeps the lease until it is stale.
      await store.renewLease(current, undefined).catch(() => undefined);
    },
  };
}
