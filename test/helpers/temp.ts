import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach } from 'vitest';
import { openLmdbStore } from '../../src/store/lmdb-store.js';
import type { LmdbCheckpointStore } from '../../src/store/lmdb-store.js';

/** A fresh temporary directory; `cleanup` removes it. */
export async function tempDir(
  prefix = 'troupe-test-',
): Promise<{ path: string; cleanup: () => Promise<void> }> {
  const path = await mkdtemp(join(tmpdir(), prefix));
  return { path, cleanup: () => rm(path, { recursive: true, force: true }) };
}

/**
 * A fresh LMDB store in its own temporary directory (`dataDir`) for each test of the calling
 * `describe`, closed and removed after the test. Read `.store` and `.dataDir` inside the tests.
 */
export function useTempStore(): { readonly store: LmdbCheckpointStore; readonly dataDir: string } {
  let dir: Awaited<ReturnType<typeof tempDir>> | undefined;
  let store: LmdbCheckpointStore | undefined;
  beforeEach(async () => {
    dir = await tempDir();
    store = await openLmdbStore(dir.path);
  });
  afterEach(async () => {
    await store?.close();
    await dir?.cleanup();
    store = undefined;
    dir = undefined;
  });
  return {
    get store(): LmdbCheckpointStore {
      if (!store) throw new Error('useTempStore: the store exists only while a test runs');
      return store;
    },
    get dataDir(): string {
      if (!dir) throw new Error('useTempStore: the directory exists only while a test runs');
      return dir.path;
    },
  };
}
