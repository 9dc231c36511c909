/**
 * A real `troupe daemon` process for the workloads that measure the daemon as a user runs it:
 * start it, talk to it with the CLI, kill it (and its workers) like a process manager does, and
 * read what the kernel knows of each of its processes.
 */
import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { benchEnv } from './suite-text.js';

const CLI = fileURLToPath(new URL('../../src/cli/main.js', import.meta.url));

/** A daemon being started: the process, and a promise that resolves once it says it started. */
export interface DaemonProcess {
  readonly child: ChildProcess;
  readonly started: Promise<void>;
}

/** Starts `troupe daemon` on `dataDir` with `args` added (say `--workers 2`), logging at info. */
export function startDaemon(dataDir: string, args: readonly string[] = []): DaemonProcess {
  const child = spawn(
    process.execPath,
    [CLI, 'daemon', '--data-dir', dataDir, ...args, '--log-level', 'info'],
    { env: { ...process.env, ...benchEnv() }, stdio: ['ignore', 'ignore', 'pipe'] },
  );
  const started = new Promise<void>((resolve, reject) => {
    let seen = '';
    child.stderr?.setEncoding('utf8').on('data', (chunk: string) => {
      // Only the start matters; the rest of the log is drained and dropped.
      if (seen.length > 1_000_000) return;
      seen += chunk;
      if (seen.includes('"msg":"daemon started"')) resolve();
    });
    child.on('exit', (code) => reject(new Error(`daemon exited (${String(code)}) before it started`)));
  });
  return { child, started };
}

/** Runs a troupe command to its end; resolves with its standard output, trimmed. */
export function runCli(args: readonly string[]): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [CLI, ...args], { env: { ...process.env, ...benchEnv() } });
    let out = '';
    let err = '';
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => (out += chunk));
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => (err += chunk));
    child.on('exit', (code) =>
      code === 0 ? resolve(out.trim()) : reject(new Error(`troupe ${args[0]}: ${err}`)),
    );
  });
}

/** Pids of the direct children of `pid` (its workers), read from /proc; empty where there is none. */
export async function childPids(pid: number): Promise<number[]> {
  try {
    const text = await readFile(`/proc/${pid}/task/${pid}/children`, 'utf8');
    return text.split(/\s+/).filter(Boolean).map(Number);
  } catch {
    return [];
  }
}

/**
 * SIGKILLs the daemon and its workers at once, as a process manager does with the whole group
 * (systemd's KillMode=control-group, a container stopped), and waits for the daemon's exit.
 * Killing the primary alone would leave workers that still send the requests they were granted
 * before they notice, and those would count as requests after the restart.
 */
export async function killWholeDaemon(daemon: ChildProcess): Promise<void> {
  const exited = new Promise((resolve) => daemon.once('exit', resolve));
  const workers = daemon.pid === undefined ? [] : await childPids(daemon.pid);
  daemon.kill('SIGKILL');
  for (const pid of workers) {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      // Already gone.
    }
  }
  await exited;
}

/** What the kernel says of one process: its peak RSS and the CPU time it used so far. */
export interface ProcessSample {
  readonly pid: number;
  /** Highest resident set size (VmHWM), in bytes: the store's memory-mapped pages it touched included. */
  readonly peakRssBytes: number;
  /** Anonymous resident memory now (RssAnon: heap and the like, not mapped files), in bytes. */
  readonly anonRssBytes: number;
  /** User + system CPU time, in ms. */
  readonly cpuMs: number;
}

/** Clock ticks per second of /proc/<pid>/stat's times (USER_HZ: 100 on Linux). */
const CLOCK_TICKS_PER_SECOND = 100;

/** Samples `pid` from /proc; undefined once it is gone. */
export async function sampleProcess(pid: number): Promise<ProcessSample | undefined> {
  try {
    const [status, stat] = await Promise.all([
      readFile(`/proc/${pid}/status`, 'utf8'),
      readFile(`/proc/${pid}/stat`, 'utf8'),
    ]);
    const kib = /^VmHWM:\s+(\d+)\s+kB/m.exec(status)?.[1];
    const anonKib = /^RssAnon:\s+(\d+)\s+kB/m.exec(status)?.[1];
    // Fields after the command name (which may hold spaces): utime and stime are the 12th and 13th.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    const ticks = Number(fields[11]) + Number(fields[12]);
    return {
      pid,
      peakRssBytes: kib === undefined ? 0 : Number(kib) * 1024,
      anonRssBytes: anonKib === undefined ? 0 : Number(anonKib) * 1024,
      cpuMs: (ticks * 1000) / CLOCK_TICKS_PER_SECOND,
    };
  } catch {
    return undefined;
  }
}
