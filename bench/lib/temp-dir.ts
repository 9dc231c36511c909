import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** A fresh temporary directory and a way to remove it. */
export interface TempDir {
  readonly path: string;
  remove(): Promise<void>;
}

/** Creates a temporary directory under the system's temp folder. */
export async function makeTempDir(prefix = 'troupe-bench-'): Promise<TempDir> {
  const path = await mkdtemp(join(tmpdir(), prefix));
  return { path, remove: () => rm(path, { recursive: true, force: true }) };
}

/** Runs `work` with a temporary directory that is removed afterwards, whatever happens. */
export async function withTempDir<T>(work: (dir: string) => Promise<T>, prefix?: string): Promise<T> {
  const dir = await makeTempDir(prefix);
  try {
    return await work(dir.path);
  } finally {
    await dir.remove();
  }
}
