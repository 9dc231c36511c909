import { afterEach } from 'vitest';
import { startSimulator, type Simulator, type SimulatorOptions } from '../../src/simulator/server.js';
import { openLmdbStore, type LmdbCheckpointStore } from '../../src/store/lmdb-store.js';
import { tempDir } from './temp.js';

/** What `useTestResources` opens for a test; each is closed after the test that opened it. */
export interface TestResources {
  /** A simulator on a free loopback port. */
  simulator(options?: SimulatorOptions): Promise<Simulator>;
  /** A fresh temporary directory, removed after the test. */
  tempDir(prefix?: string): Promise<{ readonly path: string }>;
  /** An LMDB store in `path`, closed after the test (before its directory is removed). */
  store(path: string): Promise<LmdbCheckpointStore>;
}

/**
 * For each test of the calling `describe`: opens simulators, directories and stores on demand and
 * closes them after the test, the last opened first (a store before the directory it lies in),
 * so a test that fails half-way leaves nothing running.
 */
export function useTestResources(): TestResources {
  const closers: Array<() => Promise<void>> = [];
  afterEach(async () => {
    for (let close = closers.pop(); close !== undefined; close = closers.pop()) await close();
  });
  return {
    async simulator(options = {}) {
      const sim = await startSimulator({ port: 0, ...options });
      closers.push(() => sim.close());
      return sim;
    },
    async tempDir(prefix) {
      const dir = await tempDir(prefix);
      closers.push(dir.cleanup);
      return dir;
    },
    async store(path) {
      const store = await openLmdbStore(path);
      closers.push(() => store.close());
      return store;
    },
  };
}
