import { seededRandom } from '../../src/simulator/random.js';

/**
 * A reproducible source of randomness for a test: seeded from `TROUPE_TEST_SEED` when set, else
 * from `defaultSeed` when the test gives one, else from a fresh seed, which the test names in its
 * assertion messages so that a failure can be replayed with `TROUPE_TEST_SEED=<seed> npx vitest
 * run <file>`.
 */
export function testRandom(defaultSeed?: number): { readonly seed: number; readonly next: () => number } {
  const fromEnv = Number(process.env.TROUPE_TEST_SEED);
  const seed =
    Number.isInteger(fromEnv) && fromEnv > 0
      ? fromEnv
      : (defaultSeed ?? 1 + Math.floor(Math.random() * 0x7fffffff));
  return { seed, next: seededRandom(seed) };
}
