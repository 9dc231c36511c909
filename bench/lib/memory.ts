import { readFileSync } from 'node:fs';
/** Peak resident set size of this process, sampled while a piece of work runs. */

/** How often the RSS is sampled, in ms. */
const SAMPLE_INTERVAL_MS = 50;
const BYTES_PER_MB = 1024 * 1024;

/** A running sampler; `stop` returns the highest RSS seen, in bytes. */
export interface RssSampler {
  stop(): number;
}

/** Starts sampling `process.memoryUsage.rss()` until `stop`. The timer never keeps the process alive. */
export function sampleRss(): RssSampler {
  let peak = process.memoryUsage.rss();
  const timer = setInterval(() => {
    peak = Math.max(peak, process.memoryUsage.rss());
  }, SAMPLE_INTERVAL_MS);
  timer.unref();
  return {
    stop: () => {
      clearInterval(timer);
      return Math.max(peak, process.memoryUsage.rss());
    },
  };
}

/** CPU time (user + system) this process has used since `since` (a `process.cpuUsage()`), in ms. */
export function cpuMsSince(since: NodeJS.CpuUsage): number {
  const used = process.cpuUsage(since);
  return (used.user + used.system) / 1000;
}

/** Runs `work` while sampling the RSS and counting this process's CPU time. */
export async function measuringRss<T>(
  work: () => Promise<T>,
): Promise<{ value: T; peakRssBytes: number; cpuMs: number }> {
  const sampler = sampleRss();
  const cpu = process.cpuUsage();
  try {
    const value = await work();
    return { value, peakRssBytes: sampler.stop(), cpuMs: cpuMsSince(cpu) };
  } finally {
    sampler.stop();
  }
}

/** The highest RSS of this process since it started (the kernel's count), in bytes. */
export function lifetimePeakRssBytes(): number {
  // resourceUsage().maxRSS is in kilobytes.
  return process.resourceUsage().maxRSS * 1024;
}

/** Bytes as megabytes, rounded. */
export function mb(bytes: number): number {
  return Math.round(bytes / BYTES_PER_MB);
}

/**
 * Peak resident set size of another process (Linux `VmHWM`), in bytes; undefined
 * where /proc is not available or the process is gone.
 */
export function processPeakRssBytes(pid: number): number | undefined {
  try {
    const status = readFileSync(`/proc/${pid}/status`, 'utf8');
    const kib = /^VmHWM:\s+(\d+)\s+kB/m.exec(status)?.[1];
    return kib === undefined ? undefined : Number(kib) * 1024;
  } catch {
    return undefined;
  }
}
