/**
 * A lock, across the processes of one machine, around opening and closing the LMDB environment
 * of one data directory.
 *
 * Why: LMDB's last process to close an environment destroys the mutexes in its lock file
 * (`lock.mdb`) once it has taken the file's exclusive lock. A process opening the environment at
 * that moment fails to take the exclusive lock, waits for the shared one, gets it once the closer
 * is gone, and finds the mutexes destroyed: its first transaction fails with `Invalid argument`
 * (read-only) or `Invalid argument: No transaction to renew` (writable), and so does every open
 * of every process for as long as any of them keeps the environment open. Opening and closing
 * under this lock, a closer that destroys the mutexes is done before an opener starts, which then
 * takes the exclusive lock and initialises them again.
 *
 * The lock is an abstract Unix socket (Linux): the kernel frees its name when its holder exits,
 * even when killed, so a crash never leaves it held.
 */
import net from 'node:net';
import { stat } from 'node:fs/promises';
import { setTimeout as sleep } from 'node:timers/promises';

import { StoreError } from './store-error.js';

/** How many times an open or close tries to take the lock before giving up. */
export const OPEN_LOCK_ATTEMPTS = 2_000;
/** The longest wait between two attempts to take the lock, in milliseconds. */
export const OPEN_LOCK_RETRY_MAX_MS = 50;

/** Whether abstract Unix sockets exist here (Linux only); elsewhere opens run without the lock. */
const ABSTRACT_SOCKETS = process.platform === 'linux';

/**
 * Runs `work` (an open or a close of the LMDB environment in `dir`) while holding the lock of
 * `dir` across processes. Waits while another process holds it; fails with `troupe:store-busy`
 * after `OPEN_LOCK_ATTEMPTS` attempts.
 */
export async function withOpenLock<T>(dir: string, dataDir: string, work: () => Promise<T>): Promise<T> {
  if (!ABSTRACT_SOCKETS) return work();
  const name = await lockName(dir, dataDir);
  const held = await take(name, dataDir);
  try {
    return await work();
  } finally {
    await new Promise<void>((resolve) => held.close(() => resolve()));
  }
}

/** The lock's name: the directory's device and inode, the same for every path that reaches it. */
async function lockName(dir: string, dataDir: string): Promise<string> {
  try {
    const stats = await stat(dir, { bigint: true });
    return `\0troupe-store-open-${stats.dev.toString(16)}-${stats.ino.toString(16)}`;
  } catch (error) {
    throw new StoreError(
      'troupe:store-inaccessible',
      `cannot read the data directory ${dataDir}: ${error instanceof Error ? error.message : String(error)}`,
      dataDir,
      error,
    );
  }
}

async function take(name: string, dataDir: string): Promise<net.Server> {
  for (let attempt = 1; ; attempt += 1) {
    const outcome = await listen(name);
    if (outcome instanceof net.Server) return outcome;
    if (outcome !== 'EADDRINUSE' || attempt >= OPEN_LOCK_ATTEMPTS) {
      throw new StoreError(
        'troupe:store-busy',
        outcome === 'EADDRINUSE'
          ? `another process kept the store in ${dataDir} locked while opening or closing it, through ${OPEN_LOCK_ATTEMPTS} attempts`
          : `cannot take the lock of the store in ${dataDir} (${outcome})`,
        dataDir,
      );
    }
    await sleep(Math.min(OPEN_LOCK_RETRY_MAX_MS, attempt) * (0.5 + Math.random() / 2));
  }
}

/** Binds the name: the server on success, the error code otherwise. */
function listen(name: string): Promise<net.Server | string> {
  return new Promise((resolve) => {
    const server = net.createServer();
    server.once('error', (error: NodeJS.ErrnoException) => resolve(error.code ?? error.message));
    // exclusive: a cluster worker binds the name itself instead of asking the primary to.
    server.listen({ path: name, exclusive: true }, () => {
      server.unref();
      resolve(server);
    });
  });
}
