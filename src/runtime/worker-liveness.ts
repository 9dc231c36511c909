/**
 * Whether a worker that stopped answering heartbeats is hung or only busy. A worker's event loop
 * answers pings between the pieces of work it runs; on a machine whose cores are shared by many
 * processes, one long piece (a burst of answers to handle, a garbage collection, a script check)
 * takes seconds of wall time at a small share of a core, and its pings go unanswered meanwhile.
 * Killing it then throws away its requests in flight and costs a new worker's start, on the very
 * cores that were short: the HTTP scale run replaced its workers six times so.
 *
 * So silence alone does not condemn a worker: while its process keeps using CPU, it is working
 * and is given time; it is replaced when it uses none over a heartbeat window (stopped, or blocked
 * in the kernel), when its CPU cannot be read, or when its silence outlasts
 * `WORKER_BUSY_SILENCE_MAX_MS` whatever it does (a loop that never ends).
 */
import { readFileSync } from 'node:fs';

/** Longest a worker that keeps using CPU may stay silent before it is replaced, in ms. */
export const WORKER_BUSY_SILENCE_MAX_MS = 60_000;

/** What to do about a silent worker. */
export type SilenceVerdict = 'wait' | 'replace';

/** What is known of a worker that went silent, at one look. */
export interface SilentWorker {
  /** Its CPU time (any unit) when it went silent or at the previous look; undefined: unreadable. */
  readonly cpuBefore: number | undefined;
  /** Its CPU time now; undefined: unreadable (not Linux, or the process is gone). */
  readonly cpuNow: number | undefined;
  /** How long it has been silent, in ms. */
  readonly silentMs: number;
  /** The longest silence waited for while it uses CPU (`WORKER_BUSY_SILENCE_MAX_MS`), in ms. */
  readonly busySilenceMaxMs: number;
}

/** Waits for a silent worker that used CPU since the last look, within the bound; else replaces it. */
export function judgeSilence(worker: SilentWorker): SilenceVerdict {
  if (worker.cpuBefore === undefined || worker.cpuNow === undefined) return 'replace';
  if (worker.cpuNow <= worker.cpuBefore) return 'replace';
  return worker.silentMs < worker.busySilenceMaxMs ? 'wait' : 'replace';
}

/**
 * The CPU time a process has used so far (user + system, in the kernel's clock ticks), read from
 * `/proc/<pid>/stat`; undefined where there is no such file (not Linux, or the process is gone).
 */
export function processCpuTicks(pid: number): number | undefined {
  let text: string;
  try {
    text = readFileSync(`/proc/${pid}/stat`, 'utf8');
  } catch {
    return undefined;
  }
  // The command name (field 2) is in parentheses and may hold spaces: count fields after it.
  const fields = text.slice(text.lastIndexOf(')') + 2).split(' ');
  // Fields 14 and 15 of the line (utime, stime) are the 12th and 13th after the name.
  const user = Number(fields[STAT_UTIME_AFTER_NAME]);
  const system = Number(fields[STAT_UTIME_AFTER_NAME + 1]);
  return Number.isFinite(user) && Number.isFinite(system) ? user + system : undefined;
}

/** Index of utime among the fields of `/proc/<pid>/stat` that follow the command name (0: state). */
const STAT_UTIME_AFTER_NAME = 11;
