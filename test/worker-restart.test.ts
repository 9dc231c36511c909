import { describe, expect, it } from 'vitest';
import {
  RESTART_BACKOFF_BASE_MS,
  RESTART_BACKOFF_MAX_MS,
  restartDelayMs,
} from '../src/runtime/worker-restart.js';

describe('worker restart backoff', () => {
  it('restarts a worker that ran a while at once', () => {
    expect(restartDelayMs(0)).toBe(0);
  });
  it('doubles the delay for each quick crash in a row, up to the cap', () => {
    expect([1, 2, 3, 4].map(restartDelayMs)).toEqual([1, 2, 4, 8].map((f) => f * RESTART_BACKOFF_BASE_MS));
    expect(restartDelayMs(30)).toBe(RESTART_BACKOFF_MAX_MS);
  });
});
