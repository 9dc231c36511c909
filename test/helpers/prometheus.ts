/**
 * Prometheus's own tools for the metrics tests: `promtool check metrics`, and a real
 * Prometheus server on a loopback port that scrapes troupe and answers PromQL.
 * Both come with Debian's `prometheus` package; `.ci/run` installs it when missing.
 */
import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { accessSync, constants } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import { delimiter, join } from 'node:path';
import { freePort } from '../../bench/lib/free-port.js';
import { tempDir } from './temp.js';

export { freePort };

/** Where to find a tool: on the PATH, else where Debian puts it. */
export function findTool(name: 'promtool' | 'prometheus'): string | undefined {
  const dirs = [...(process.env.PATH ?? '').split(delimiter).filter((d) => d !== ''), '/usr/bin'];
  for (const dir of dirs) {
    const candidate = join(dir, name);
    try {
      accessSync(candidate, constants.X_OK);
      return candidate;
    } catch {
      // not here
    }
  }
  return undefined;
}

/**
 * Whether a test needing `name` must be skipped: only when the tool is missing outside
 * CI. In CI a missing tool is not a reason to skip: the test runs and fails, saying so.
 */
export function skipWithout(name: 'promtool' | 'prometheus'): string | false {
  if (findTool(name) !== undefined || process.env.CI) return false;
  return `${name} is not installed (Debian: apt-get install prometheus); skipped outside CI`;
}

/** The tool's path, or an error that says how to install it. */
export function requireTool(name: 'promtool' | 'prometheus'): string {
  const path = findTool(name);
  if (path === undefined) {
    throw new Error(`${name} is not installed: apt-get install prometheus (.ci/run does it in CI)`);
  }
  return path;
}

/** What a finished process printed and how it ended. */
export interface ToolResult {
  readonly code: number | null;
  readonly output: string;
}

/** Kills a child and waits (bounded) until it is gone. */
async function stopChild(child: ChildProcess, graceMs: number): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  child.kill('SIGTERM');
  const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
  await exited;
  clearTimeout(timer);
}

/** Runs `promtool check metrics` on an exposition text (bounded: 30 s). */
export async function promtoolCheckMetrics(exposition: string): Promise<ToolResult> {
  const child = spawn(requireTool('promtool'), ['check', 'metrics'], { stdio: ['pipe', 'pipe', 'pipe'] });
  let output = '';
  child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
  child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
  const timer = setTimeout(() => void stopChild(child, 1_000), 30_000);
  const ended = new Promise<number | null>((resolve, reject) => {
    child.once('error', reject);
    child.once('close', (code) => resolve(code));
  });
  child.stdin.end(exposition);
  try {
    return { code: await ended, output };
  } finally {
    clearTimeout(timer);
  }
}

/** One series of a query's answer (instant vector) or one value (scalar, string). */
export interface PromSample {
  readonly metric: Readonly<Record<string, string>>;
  readonly value: readonly [number, string];
}

/** Prometheus's answer to an instant query. */
export interface PromQueryResult {
  readonly resultType: 'vector' | 'matrix' | 'scalar' | 'string';
  /** Vector: the series. Scalar and string: one entry without labels. */
  readonly samples: readonly PromSample[];
}

/** One series of a range query's answer. */
export interface PromRangeSeries {
  readonly metric: Readonly<Record<string, string>>;
  readonly values: readonly (readonly [number, string])[];
}

/** A running Prometheus. */
export interface PrometheusServer {
  /** `http://127.0.0.1:PORT`. */
  readonly url: string;
  /** Evaluates an instant query now; rejects when Prometheus refuses the expression. */
  query(expr: string): Promise<PromQueryResult>;
  /** Evaluates a range query (times in seconds since the epoch), as a Grafana graph does. */
  queryRange(
    expr: string,
    startSeconds: number,
    endSeconds: number,
    stepSeconds: number,
  ): Promise<PromRangeSeries[]>;
  /** Names of every label Prometheus holds. */
  labelNames(): Promise<string[]>;
  /** Values of a label among the series `match` selects (like Grafana's `label_values(match, label)`). */
  labelValues(label: string, match?: string): Promise<string[]>;
  /** Waits until `check` holds, asking every 250 ms; rejects after `timeoutMs` naming `what`. */
  waitFor(what: string, check: () => Promise<boolean>, timeoutMs: number): Promise<void>;
  /** What Prometheus logged, for a failing test's message. */
  readonly log: () => string;
  /** Stops it and removes its data. */
  stop(): Promise<void>;
}

/** Options of `startPrometheus`. */
export interface StartPrometheusOptions {
  /** `host:port` of the targets it scrapes, as one scrape job. */
  readonly targets: readonly string[];
  /** Name of the scrape job (the `job` label Prometheus adds). Default `troupe`. */
  readonly jobName?: string;
  /** Scrape interval in seconds. Default 1. */
  readonly scrapeIntervalSeconds?: number;
}

const READY_TIMEOUT_MS = 20_000;
const POLL_MS = 250;
const STOP_GRACE_MS = 5_000;
const REQUEST_TIMEOUT_MS = 10_000;
const START_ATTEMPTS = 3;

interface ApiAnswer<T> {
  readonly status: 'success' | 'error';
  readonly data?: T;
  readonly errorType?: string;
  readonly error?: string;
}

async function api<T>(url: string): Promise<T> {
  const response = await fetch(url, { signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS) });
  const answer = (await response.json()) as ApiAnswer<T>;
  if (answer.status !== 'success' || answer.data === undefined) {
    throw new Error(
      `Prometheus refused ${url}: ${answer.errorType ?? ''} ${answer.error ?? response.status}`,
    );
  }
  return answer.data;
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/**
 * Starts a Prometheus of its own on a free loopback port, with a temporary
 * configuration and TSDB, and waits (bounded) until it is ready. Never the
 * system's instance: that one may run on 9090 with other data.
 */
export async function startPrometheus(options: StartPrometheusOptions): Promise<PrometheusServer> {
  const binary = requireTool('prometheus');
  const dir = await tempDir('troupe-prometheus-');
  const interval = `${options.scrapeIntervalSeconds ?? 1}s`;
  const config = [
    'global:',
    `  scrape_interval: ${interval}`,
    `  evaluation_interval: ${interval}`,
    'scrape_configs:',
    `  - job_name: ${options.jobName ?? 'troupe'}`,
    '    static_configs:',
    `      - targets: [${options.targets.map((t) => `'${t}'`).join(', ')}]`,
    '',
  ].join('\n');
  const configFile = join(dir.path, 'prometheus.yml');
  await writeFile(configFile, config);

  let lastError: unknown;
  // The free port may be taken between asking and binding: try a few.
  for (let attempt = 0; attempt < START_ATTEMPTS; attempt++) {
    const port = await freePort();
    const url = `http://127.0.0.1:${port}`;
    let log = '';
    const child = spawn(
      binary,
      [
        `--config.file=${configFile}`,
        `--storage.tsdb.path=${join(dir.path, `data-${attempt}`)}`,
        `--web.listen-address=127.0.0.1:${port}`,
        '--log.level=warn',
      ],
      { stdio: ['ignore', 'pipe', 'pipe'] },
    );
    child.stdout.on('data', (chunk: Buffer) => (log += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (log += chunk.toString()));
    const spawnError = new Promise<Error>((resolve) => child.once('error', resolve));
    let failure: Error | undefined;
    void spawnError.then((error) => (failure = error));
    const started = Date.now();
    let ready = false;
    while (Date.now() - started < READY_TIMEOUT_MS && failure === undefined && child.exitCode === null) {
      try {
        const response = await fetch(`${url}/-/ready`, { signal: AbortSignal.timeout(POLL_MS * 4) });
        if (response.status === 200) {
          ready = true;
          break;
        }
      } catch {
        // not listening yet
      }
      await sleep(POLL_MS);
    }
    if (ready) {
      const server: PrometheusServer = {
        url,
        log: () => log,
        async query(expr) {
          const data = await api<{ resultType: PromQueryResult['resultType']; result: unknown }>(
            `${url}/api/v1/query?query=${encodeURIComponent(expr)}`,
          );
          const samples =
            data.resultType === 'vector' || data.resultType === 'matrix'
              ? (data.result as PromSample[])
              : [{ metric: {}, value: data.result as [number, string] }];
          return { resultType: data.resultType, samples };
        },
        async queryRange(expr, startSeconds, endSeconds, stepSeconds) {
          const params = new URLSearchParams({
            query: expr,
            start: String(startSeconds),
            end: String(endSeconds),
            step: String(stepSeconds),
          });
          const data = await api<{ resultType: string; result: PromRangeSeries[] }>(
            `${url}/api/v1/query_range?${params.toString()}`,
          );
          return data.result;
        },
        labelNames() {
          return api<string[]>(`${url}/api/v1/labels`);
        },
        labelValues(label, match) {
          const selector = match === undefined ? '' : `?match[]=${encodeURIComponent(match)}`;
          return api<string[]>(`${url}/api/v1/label/${encodeURIComponent(label)}/values${selector}`);
        },
        async waitFor(what, check, timeoutMs) {
          const until = Date.now() + timeoutMs;
          while (Date.now() < until) {
            if (await check().catch(() => false)) return;
            await sleep(POLL_MS);
          }
          throw new Error(`Prometheus: ${what} not reached within ${timeoutMs} ms\n${log}`);
        },
        async stop() {
          await stopChild(child, STOP_GRACE_MS);
          await dir.cleanup();
        },
      };
      return server;
    }
    lastError = failure ?? new Error(`Prometheus did not become ready on ${url}:\n${log}`);
    await stopChild(child, STOP_GRACE_MS);
  }
  await dir.cleanup();
  throw lastError;
}
