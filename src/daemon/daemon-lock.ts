import { open, readFile, rename, unlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { InputError } from '../errors.js';

/** Name of the file in the data directory that says which daemon owns it. */
export const DAEMON_FILE = 'daemon.json';

/** What the daemon file holds. */
export interface DaemonInfo {
  readonly pid: number;
  /** Where the daemon's control socket listens. */
  readonly controlEndpoint: string;
  readonly startedAt: string;
  readonly version: string;
}

/** True if a process with this pid exists (signal 0 checks without sending anything). */
export function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    // EPERM: it exists but belongs to someone else.
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** The running daemon of `dataDir`, or undefined when none runs (no file, or its process is gone). */
export async function readDaemonInfo(dataDir: string): Promise<DaemonInfo | undefined> {
  let text: string;
  try {
    text = await readFile(join(dataDir, DAEMON_FILE), 'utf8');
  } catch {
    return undefined;
  }
  try {
    const info = JSON.parse(text) as DaemonInfo;
    return typeof info.pid === 'number' && processAlive(info.pid) ? info : undefined;
  } catch {
    return undefined;
  }
}

/**
 * Makes this process the one daemon of `dataDir`: refuses, clearly, when another
 * live daemon holds it; takes over a file left by a daemon that died (kill -9).
 * Creation is exclusive, so of two daemons starting at once only one wins.
 * Returns a function that publishes the control endpoint, and one that releases.
 */
export async function acquireDaemonLock(
  dataDir: string,
  version: string,
): Promise<{ publish(controlEndpoint: string): Promise<void>; release(): Promise<void> }> {
  const file = join(dataDir, DAEMON_FILE);
  // At most two tries: the second follows removing a stale file.
  for (let attempt = 0; attempt < 2; attempt += 1) {
    try {
      const handle = await open(file, 'wx', 0o600);
      await handle.writeFile(
        JSON.stringify({ pid: process.pid, controlEndpoint: '', startedAt: '', version }),
      );
      await handle.close();
      return {
        publish: async (controlEndpoint) => {
          const info: DaemonInfo = {
            pid: process.pid,
            controlEndpoint,
            startedAt: new Date().toISOString(),
            version,
          };
          // Written aside and renamed: a reader never sees half a file.
          await writeFile(`${file}.tmp`, JSON.stringify(info), { mode: 0o600 });
          await rename(`${file}.tmp`, file);
        },
        release: async () => {
          await unlink(file).catch(() => undefined);
        },
      };
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
    }
    const owner = await readPid(file);
    if (owner !== undefined && owner !== process.pid && processAlive(owner)) {
      throw new InputError(
        `${dataDir}: another troupe daemon (pid ${owner}) is running on this data directory; stop it first, or give --data-dir another directory`,
      );
    }
    await unlink(file).catch(() => undefined);
  }
  throw new InputError(`${dataDir}: another troupe daemon is starting on this data directory`);
}

async function readPid(file: string): Promise<number | undefined> {
  try {
    const info = JSON.parse(await readFile(file, 'utf8')) as { pid?: unknown };
    return typeof info.pid === 'number' ? info.pid : undefined;
  } catch {
    return undefined;
  }
}
