/**
 * A real `redis-server` (Debian's `redis-server` package; `.ci/run` installs it when missing) on
 * a free loopback port, in a temporary directory, with no persistence: a restart loses its data,
 * as a store that was not set up to keep it does. The tests and the `shared` workload use it.
 */
import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { accessSync, constants } from 'node:fs';
import { connect } from 'node:net';
import { delimiter, join } from 'node:path';
import { freePort } from './free-port.js';
import { makeTempDir } from './temp-dir.js';

/** Where `redis-server` is: on the PATH, else where Debian puts it. */
export function findRedisServer(): string | undefined {
  const dirs = [...(process.env.PATH ?? '').split(delimiter).filter((d) => d !== ''), '/usr/bin'];
  for (const dir of dirs) {
    try {
      accessSync(join(dir, 'redis-server'), constants.X_OK);
      return join(dir, 'redis-server');
    } catch {
      // not here
    }
  }
  return undefined;
}

/** A running redis-server. */
export interface RedisServer {
  readonly port: number;
  /** `redis://127.0.0.1:PORT/0`. */
  readonly url: string;
  /** Stops it (its data is lost); `start` brings it back on the same port, empty. */
  stop(): Promise<void>;
  start(): Promise<void>;
  /** Stops it for good and removes its directory. */
  close(): Promise<void>;
  /** What it logged, for a failing test's message. */
  log(): string;
}

/** Options of `startRedisServer`. */
export interface StartRedisOptions {
  /** A password the server requires (`requirepass`). Default: none. */
  readonly password?: string;
}

const START_TIMEOUT_MS = 10_000;
const POLL_MS = 50;

/** Starts a redis-server on a free loopback port. */
export async function startRedisServer(options: StartRedisOptions = {}): Promise<RedisServer> {
  const binary = findRedisServer();
  if (binary === undefined) throw new Error('redis-server is not installed: apt-get install redis-server');
  const dir = await makeTempDir('troupe-redis-');
  const port = await freePort();
  let child: ChildProcess | undefined;
  let output = '';
  const args = [
    '--port',
    String(port),
    '--bind',
    '127.0.0.1',
    '--dir',
    dir.path,
    '--save',
    '',
    '--appendonly',
    'no',
    '--daemonize',
    'no',
    '--protected-mode',
    'yes',
    ...(options.password === undefined ? [] : ['--requirepass', options.password]),
  ];
  const start = async (): Promise<void> => {
    const started = spawn(binary, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    child = started;
    started.stdout?.on('data', (chunk: Buffer) => (output += chunk.toString()));
    started.stderr?.on('data', (chunk: Buffer) => (output += chunk.toString()));
    const deadline = Date.now() + START_TIMEOUT_MS;
    while (!(await accepts(port))) {
      if (started.exitCode !== null) throw new Error(`redis-server exited at start:\n${output}`);
      if (Date.now() > deadline) throw new Error(`redis-server did not listen on ${port}:\n${output}`);
      await new Promise((resolve) => setTimeout(resolve, POLL_MS));
    }
  };
  const stop = async (): Promise<void> => {
    const running = child;
    child = undefined;
    if (!running || running.exitCode !== null || running.signalCode !== null) return;
    const exited = new Promise<void>((resolve) => running.once('exit', () => resolve()));
    running.kill('SIGKILL');
    await exited;
  };
  await start();
  return {
    port,
    url: `redis://127.0.0.1:${port}/0`,
    stop,
    start,
    async close() {
      await stop();
      await dir.remove();
    },
    log: () => output,
  };
}

function accepts(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect(port, '127.0.0.1');
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });
}
