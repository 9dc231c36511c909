/** `troupe simulate` in a child process, as a user starts it: for tests that drive the real CLI against it. */
import { spawn } from 'node:child_process';
import { CLI_PATH } from './cli.js';

/** Longest the simulator child may take to print its base URLs, in ms. */
const SIMULATOR_START_TIMEOUT_MS = 20_000;

/** The APIs the simulator serves. */
export type Sdk = 'openai' | 'anthropic';

/** A running `troupe simulate` child. */
export interface SimulatorChild {
  readonly baseURL: Record<Sdk, string>;
  /** Everything it printed so far (its start lines). */
  output(): string;
  /** Stops it (SIGTERM) and resolves with everything it printed, its `served …` line last. */
  stop(): Promise<string>;
}

/**
 * `troupe simulate --port <port> --latency-ms <latencyMs> <args>` in a child; resolves once it
 * listens. Default latency 10 ms.
 */
export function startSimulateCli(args: readonly string[], port = 0, latencyMs = 10): Promise<SimulatorChild> {
  const child = spawn(
    process.execPath,
    [CLI_PATH, 'simulate', '--port', String(port), '--latency-ms', String(latencyMs), ...args],
    {
      env: { PATH: process.env.PATH ?? '' },
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  );
  let stdout = '';
  let stderr = '';
  const exited = new Promise<void>((resolve) => child.on('close', () => resolve()));
  child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`troupe simulate did not start: ${stderr}`));
    }, SIMULATOR_START_TIMEOUT_MS);
    child.on('close', (code) => reject(new Error(`troupe simulate exited ${code}: ${stderr}`)));
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => {
      stdout += chunk;
      const openai = /openai: +baseURL: (\S+)/.exec(stdout)?.[1];
      const anthropic = /anthropic: +baseURL: (\S+)/.exec(stdout)?.[1];
      if (openai === undefined || anthropic === undefined) return;
      clearTimeout(timer);
      resolve({
        baseURL: { openai, anthropic },
        output: () => stdout,
        stop: async () => {
          child.kill('SIGTERM');
          await exited;
          return stdout;
        },
      });
    });
  });
}

/** The requests a stopped simulator says it served, by HTTP status, from its `served …` line. */
export function servedByStatus(output: string): { total: number; byStatus: Map<number, number> } {
  const line = output.trim().split('\n').at(-1) ?? '';
  const total = Number(/^served (\d+) requests/.exec(line)?.[1]);
  if (!Number.isInteger(total)) throw new Error(`no "served" line in: ${output}`);
  const byStatus = new Map<number, number>();
  for (const [, status, count] of line.matchAll(/(\d{3}) ×(\d+)/g))
    byStatus.set(Number(status), Number(count));
  return { total, byStatus };
}
