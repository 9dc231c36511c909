/**
 * `troupe run` processes on a `sharedLimits` key, for the tests of several processes sharing one
 * quota: the suite they run and the running process, with its output as it comes.
 */
import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { Redis } from 'ioredis';
import { CLI_PATH } from './cli.js';

/** A process that does not end within this long has failed its test. */
export const RUN_TIMEOUT_MS = 150_000;

/** What a shared suite holds. */
export interface SharedSuiteOptions {
  /** The OpenAI base URL of the simulator it talks to. */
  readonly baseURL: string;
  /** The coordination store's URL; absent: no `sharedLimits`. */
  readonly url?: string;
  readonly key: string;
  readonly sequences: number;
  /** Prompts per sequence. Default 2. */
  readonly prompts?: number;
  /** Starts every prompt, so that a simulator's record tells whose request it was. Default `hello`. */
  readonly promptPrefix?: string;
  /** The provider's `limits` as YAML flow text. */
  readonly limits: string;
  /** The provider's `breaker`, as YAML flow text. Default: none (the defaults). */
  readonly breaker?: string;
  readonly passwordEnv?: string;
}

/** A suite of `sequences` conversations on one simulated OpenAI provider, as YAML. */
export function sharedSuiteText(o: SharedSuiteOptions): string {
  const shared =
    o.url === undefined
      ? []
      : [
          `    sharedLimits: { url: "${o.url}", key: ${o.key}${o.passwordEnv ? `, passwordEnv: ${o.passwordEnv}` : ''} }`,
        ];
  const prefix = o.promptPrefix ?? 'hello';
  const prompts = (i: number) =>
    Array.from({ length: o.prompts ?? 2 }, (_, p) => `"${prefix} ${i}.${p}"`).join(', ');
  const sequences = Array.from(
    { length: o.sequences },
    (_, i) => `  - id: s${i}\n    prompts: [${prompts(i)}]`,
  ).join('\n');
  return [
    'name: shared',
    'providers:',
    '  sim:',
    '    type: openai',
    `    baseURL: ${o.baseURL}`,
    '    apiKeyEnv: SIM_KEY',
    `    limits: ${o.limits}`,
    ...(o.breaker === undefined ? [] : [`    breaker: ${o.breaker}`]),
    ...shared,
    'models:',
    '  - { id: m, provider: sim, model: gpt-4o-mini, maxTokens: 16 }',
    'sequences:',
    sequences,
    '',
  ].join('\n');
}

/** A `troupe run` under way. */
export interface Running {
  readonly child: ChildProcess;
  /** What it has written to stderr so far. */
  readonly stderr: () => string;
  readonly done: Promise<{ code: number | null; stdout: string; stderr: string }>;
}

/** Starts `troupe run suite` on its own data directory, with `env` added to a clean environment. */
export function startRun(dataDir: string, suite: string, env: Record<string, string> = {}): Running {
  const args = ['run', suite, '--data-dir', dataDir, '--workers', '0', '--log-level', 'info'];
  const child = spawn(process.execPath, [CLI_PATH, ...args], {
    env: { PATH: process.env.PATH ?? '', SIM_KEY: 'x', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout?.setEncoding('utf8').on('data', (c: string) => (stdout += c));
  child.stderr?.setEncoding('utf8').on('data', (c: string) => (stderr += c));
  const timer = setTimeout(() => child.kill('SIGKILL'), RUN_TIMEOUT_MS);
  const done = new Promise<{ code: number | null; stdout: string; stderr: string }>((resolve) =>
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    }),
  );
  return { child, done, stderr: () => stderr };
}

/** The JSON log lines a process wrote (others skipped). */
export function logLines(stderr: string): Record<string, unknown>[] {
  return stderr.split('\n').flatMap((line) => {
    try {
      const parsed = JSON.parse(line) as unknown;
      return typeof parsed === 'object' && parsed !== null ? [parsed as Record<string, unknown>] : [];
    } catch {
      return [];
    }
  });
}

/** A plain client of the test's redis-server, to read what the scripts wrote. */
export function rawRedis(port: number): Redis {
  return new Redis(port, '127.0.0.1', { lazyConnect: false, maxRetriesPerRequest: 1 });
}

/** The fields of a shared key's state hash (`troupe:{key}:state`), as numbers where they are. */
export async function stateOf(redis: Redis, key: string): Promise<Record<string, string>> {
  return redis.hgetall(`troupe:{${key}}:state`);
}
