import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    // Integration tests start real servers, worker processes and LMDB environments;
    // on a 2-core machine they are steadier when files run a few at a time.
    maxWorkers: 2,
    testTimeout: 60_000,
    hookTimeout: 60_000,
    // expect.poll waits for what the code reaches on its own: generous, never a proof of speed.
    expect: { poll: { timeout: 20_000, interval: 10 } },
  },
});
