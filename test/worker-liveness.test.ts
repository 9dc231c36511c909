import { describe, expect, it } from 'vitest';
import { judgeSilence, processCpuTicks } from '../src/runtime/worker-liveness.js';

const BOUND_MS = 60_000;

describe('a silent worker: busy or hung', () => {
  it('waits for one that used CPU since the last look, within the bound', () => {
    expect(judgeSilence({ cpuBefore: 100, cpuNow: 104, silentMs: 3_000, busySilenceMaxMs: BOUND_MS })).toBe(
      'wait',
    );
  });

  it('replaces one that used no CPU over the window (stopped, or blocked in the kernel)', () => {
    expect(judgeSilence({ cpuBefore: 100, cpuNow: 100, silentMs: 3_000, busySilenceMaxMs: BOUND_MS })).toBe(
      'replace',
    );
  });

  it('replaces one silent past the bound whatever it does (a loop that never ends)', () => {
    expect(
      judgeSilence({ cpuBefore: 100, cpuNow: 900, silentMs: BOUND_MS, busySilenceMaxMs: BOUND_MS }),
    ).toBe('replace');
  });

  it('replaces one whose CPU cannot be read, as before (no /proc, or the process is gone)', () => {
    expect(
      judgeSilence({ cpuBefore: undefined, cpuNow: 5, silentMs: 3_000, busySilenceMaxMs: BOUND_MS }),
    ).toBe('replace');
    expect(
      judgeSilence({ cpuBefore: 5, cpuNow: undefined, silentMs: 3_000, busySilenceMaxMs: BOUND_MS }),
    ).toBe('replace');
  });

  it.runIf(process.platform === 'linux')('reads a process’s CPU time, which grows as it works', () => {
    const before = processCpuTicks(process.pid);
    expect(before).toBeGreaterThanOrEqual(0);
    // Work until the kernel has counted at least one more tick (bounded by the work, not a clock).
    let after = before;
    let sum = 0;
    for (let round = 0; round < 1_000 && after === before; round += 1) {
      for (let i = 0; i < 1_000_000; i += 1) sum += i;
      after = processCpuTicks(process.pid);
    }
    expect(sum).toBeGreaterThan(0);
    expect(after).toBeGreaterThan(before ?? 0);
  });

  it('reads nothing for a process that does not exist', () => {
    // Above the kernel's pid_max (at most 2^22): no process has it.
    expect(processCpuTicks(2 ** 23)).toBeUndefined();
  });
});
