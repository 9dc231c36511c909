/**
 * A simulator for a workload, in this process (its records readable) or in a child process
 * (so that the process being measured runs only the client side).
 */
import { fork } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { startSimulator } from '../../src/simulator/server.js';
import type { Simulator, SimulatorOptions } from '../../src/simulator/server.js';
import { count429, countOk } from './sim-records.js';

/** How long the child simulator may take to answer a command, in ms. */
const CHILD_REPLY_TIMEOUT_MS = 30_000;

/** Counters of a simulator since its start or last reset. */
export interface SimulatorStats {
  readonly requests: number;
  readonly ok: number;
  readonly rateLimited: number;
  readonly maxInFlight: number;
  /** CPU time of the simulator's process since it started, in ms; absent when it is this process. */
  readonly processCpuMs?: number;
}

/** A simulator wherever it runs. */
export interface SimulatorHost {
  readonly openaiBaseURL: string;
  readonly anthropicBaseURL: string;
  /** The simulator itself when it runs in this process. */
  readonly local: Simulator | undefined;
  stats(): Promise<SimulatorStats>;
  reset(): Promise<void>;
  close(): Promise<void>;
}

/** Messages to the child. */
export type ToChild =
  | { readonly type: 'start'; readonly options: SimulatorOptions }
  | { readonly type: 'stats'; readonly id: number }
  | { readonly type: 'reset'; readonly id: number }
  | { readonly type: 'close'; readonly id: number };

/** Messages from the child. */
export type FromChild =
  | { readonly type: 'started'; readonly openaiBaseURL: string; readonly anthropicBaseURL: string }
  | { readonly type: 'failed'; readonly message: string }
  | { readonly type: 'stats'; readonly id: number; readonly stats: SimulatorStats }
  | { readonly type: 'done'; readonly id: number };

/** The counters of a simulator in this process. */
export function statsOf(simulator: Simulator): SimulatorStats {
  const records = simulator.records;
  return {
    requests: records.length,
    ok: countOk(records),
    rateLimited: count429(records),
    maxInFlight: simulator.maxInFlight,
  };
}

/** Starts a simulator in this process. */
export async function localSimulator(options: SimulatorOptions): Promise<SimulatorHost> {
  const simulator = await startSimulator({ ...options, host: '127.0.0.1' });
  return {
    openaiBaseURL: simulator.openaiBaseURL,
    anthropicBaseURL: simulator.anthropicBaseURL,
    local: simulator,
    stats: () => Promise.resolve(statsOf(simulator)),
    reset: () => {
      simulator.reset();
      return Promise.resolve();
    },
    close: () => simulator.close(),
  };
}

/** Starts a simulator in a child process. */
export async function childSimulator(options: SimulatorOptions): Promise<SimulatorHost> {
  const child = fork(fileURLToPath(new URL('./simulator-child.js', import.meta.url)), [], {
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  const started = await new Promise<Extract<FromChild, { type: 'started' }>>((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error('the simulator process did not start in time'));
    }, CHILD_REPLY_TIMEOUT_MS);
    child.once('error', (error) => {
      clearTimeout(timer);
      reject(error);
    });
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`the simulator process exited (${code ?? 'signal'}) before it started`));
    });
    child.once('message', (message: FromChild) => {
      clearTimeout(timer);
      if (message.type === 'started') resolve(message);
      else
        reject(
          new Error(`the simulator process failed: ${message.type === 'failed' ? message.message : '?'}`),
        );
    });
    child.send({ type: 'start', options } satisfies ToChild);
  });
  child.removeAllListeners('exit');
  let nextId = 1;
  const ask = <T extends FromChild>(command: (id: number) => ToChild): Promise<T> =>
    askChild<T>(child, command(nextId++));
  return {
    openaiBaseURL: started.openaiBaseURL,
    anthropicBaseURL: started.anthropicBaseURL,
    local: undefined,
    stats: async () =>
      (await ask<Extract<FromChild, { type: 'stats' }>>((id) => ({ type: 'stats', id }))).stats,
    reset: async () => {
      await ask((id) => ({ type: 'reset', id }));
    },
    close: async () => {
      try {
        await ask((id) => ({ type: 'close', id }));
      } finally {
        if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
      }
    },
  };
}

function askChild<T extends FromChild>(child: ChildProcess, command: ToChild): Promise<T> {
  const id = 'id' in command ? command.id : 0;
  return new Promise<T>((resolve, reject) => {
    const timer = setTimeout(() => {
      child.off('message', onMessage);
      reject(new Error(`the simulator process did not answer "${command.type}" in time`));
    }, CHILD_REPLY_TIMEOUT_MS);
    const onMessage = (message: FromChild): void => {
      if (!('id' in message) || message.id !== id) return;
      clearTimeout(timer);
      child.off('message', onMessage);
      resolve(message as T);
    };
    child.on('message', onMessage);
    child.send(command);
  });
}
