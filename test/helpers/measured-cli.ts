/**
 * The real CLI in a child process with a small `--max-old-space-size`, its peak memory measured:
 * process.memoryUsage() sampled, and the kernel's high-water mark of the process's own resident
 * memory where there is one.
 */
import { spawn } from 'node:child_process';
import { readdir, readFile, writeFile } from 'node:fs/promises';
import { basename, join } from 'node:path';
import { CLI_PATH, CLI_TIMEOUT_MS } from './cli.js';

/**
 * Sampled in the child, and in every process it starts with the same Node options (the reader
 * process of `results`, `report`, `compare`), every 5 ms and at exit, each into a file of its own: the peak of the heap in use and of the resident
 * memory that is the process's own (anonymous: heap, buffers, native allocations), without the
 * store's pages LMDB maps from the file, which the kernel counts in RSS but may drop at any time.
 */
const PRELOAD = `
const { readFileSync, writeFileSync } = require('node:fs');
const anon = () => {
  try { return Number(/RssAnon:\\s+(\\d+) kB/.exec(readFileSync('/proc/self/status', 'utf8'))[1]) * 1024; }
  catch { return process.memoryUsage().rss; }
};
let peakAnon = anon();
let peakHeap = process.memoryUsage().heapUsed;
const sample = () => {
  peakAnon = Math.max(peakAnon, anon());
  peakHeap = Math.max(peakHeap, process.memoryUsage().heapUsed);
};
setInterval(sample, 5).unref();
process.on('exit', () => {
  sample();
  writeFileSync(process.env.PEAK_FILE + '-' + process.pid, JSON.stringify({ peakAnon, peakHeap, rss: process.memoryUsage().rss }));
});
`;

/** What a measured CLI run left behind. */
export interface Measured {
  readonly code: number | null;
  readonly stdout: string;
  readonly stderr: string;
  /** Peak resident memory of the process's own (RssAnon on Linux, else RSS), in bytes. */
  readonly peakRssBytes: number;
  /** Peak of `process.memoryUsage().heapUsed`, in bytes. */
  readonly peakHeapBytes: number;
  /** Whether the child was still running when its first output arrived. */
  readonly aliveAtFirstOutput: boolean;
}

/** Where and how a measured CLI runs. */
export interface MeasuredOptions {
  /** A directory for the sampler and its figures. */
  readonly workDir: string;
  /** The child's heap, in MB. */
  readonly heapMb: number;
  /** Added to a clean environment (PATH only). */
  readonly env?: Record<string, string>;
  /** Longest it may take before it is killed, in ms. Default `CLI_TIMEOUT_MS`. */
  readonly timeoutMs?: number;
}

/** Runs so far in this process: each writes its peaks to a file of its own. */
let measuredRuns = 0;

/** Runs `troupe <args>` with a small heap, collects its output and its peaks. */
export async function measuredCli(args: readonly string[], options: MeasuredOptions): Promise<Measured> {
  const preload = join(options.workDir, 'peak-sampler.cjs');
  await writeFile(preload, PRELOAD);
  measuredRuns += 1;
  const peakFile = join(options.workDir, `peak-${measuredRuns}`);
  return new Promise((resolve, reject) => {
    const child = spawn(
      process.execPath,
      [`--max-old-space-size=${options.heapMb}`, '--require', preload, CLI_PATH, ...args],
      {
        env: { PATH: process.env.PATH ?? '', ...options.env, PEAK_FILE: peakFile },
        stdio: ['ignore', 'pipe', 'pipe'],
      },
    );
    const out: Buffer[] = [];
    let stderr = '';
    let exited = false;
    let aliveAtFirstOutput: boolean | undefined;
    child.stdout.on('data', (chunk: Buffer) => {
      aliveAtFirstOutput ??= !exited;
      out.push(chunk);
    });
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
    const timer = setTimeout(() => child.kill('SIGKILL'), options.timeoutMs ?? CLI_TIMEOUT_MS);
    child.on('error', reject);
    child.on('exit', () => (exited = true));
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      const died = (error: unknown): void =>
        // No peak file: the child never reached its exit handler (killed, or V8 aborted).
        reject(
          new Error(`troupe ${args.join(' ')}: code ${code}, signal ${signal}: ${String(error)}\n${stderr}`),
        );
      processPeaks(options.workDir, peakFile).then(({ peakAnon, peakHeap }) => {
        if (process.env.TROUPE_SCALE_VERBOSE) console.log(args[0], { peakAnon, peakHeap });
        resolve({
          code,
          stdout: Buffer.concat(out).toString('utf8'),
          stderr,
          peakRssBytes: peakAnon,
          peakHeapBytes: peakHeap,
          aliveAtFirstOutput: aliveAtFirstOutput ?? false,
        });
      }, died);
    });
  });
}

/**
 * The largest peaks among the processes of one measured run (the CLI and the reader it starts:
 * the work, and so the peak, is the reader's). Rejects when no process reached its exit handler.
 */
async function processPeaks(
  workDir: string,
  peakFile: string,
): Promise<{ peakAnon: number; peakHeap: number }> {
  const prefix = `${basename(peakFile)}-`;
  const files = (await readdir(workDir)).filter((name) => name.startsWith(prefix));
  if (files.length === 0) throw new Error('no process of the run wrote its peaks');
  const peaks = await Promise.all(
    files.map(
      async (name) =>
        JSON.parse(await readFile(join(workDir, name), 'utf8')) as { peakAnon: number; peakHeap: number },
    ),
  );
  return {
    peakAnon: Math.max(...peaks.map((peak) => peak.peakAnon)),
    peakHeap: Math.max(...peaks.map((peak) => peak.peakHeap)),
  };
}
