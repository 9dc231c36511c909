import { describe, expect, it } from 'vitest';
import {
  DEFAULT_IN_PROCESS_JOB_MAX_CONVERSATIONS,
  workerSettings,
  workersForJob,
} from '../src/runtime/worker-settings.js';

describe('--workers', () => {
  it('left out: a worker per CPU for big jobs, none for a job whose conversations fit one window', () => {
    const settings = workerSettings(undefined, 4);
    expect(settings).toEqual({
      workers: 4,
      inProcessJobMaxConversations: DEFAULT_IN_PROCESS_JOB_MAX_CONVERSATIONS,
    });
    // The seed workload: 3 models × 15 sequences × 3 runs.
    expect(workersForJob(settings, 135)).toBe(0);
    expect(workersForJob(settings, DEFAULT_IN_PROCESS_JOB_MAX_CONVERSATIONS)).toBe(0);
    expect(workersForJob(settings, DEFAULT_IN_PROCESS_JOB_MAX_CONVERSATIONS + 1)).toBe(4);
  });

  it('given: every job on that many workers, whatever its size; 0: every job in the process', () => {
    expect(workersForJob(workerSettings(2, 4), 1)).toBe(2);
    expect(workersForJob(workerSettings(0, 4), 1_000_000)).toBe(0);
  });
});
