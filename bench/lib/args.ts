/**
 * The bench's command line:
 * `[workload…] [--quick] [--workers N] [--repeat N] [--log-level L] [--simulator-in-process] [--strict]`.
 */
import type { BenchOptions } from './types.js';

/** What the command line asks for. */
export interface BenchArgs {
  readonly options: BenchOptions;
  /** Workloads to run, in the order given; empty: all. */
  readonly workloads: readonly string[];
  /** Exit 1 when a target is missed (a failed job always exits 1). */
  readonly strict: boolean;
  readonly help: boolean;
}

/** Thrown for a command line that makes no sense. */
export class UsageError extends Error {
  override readonly name = 'UsageError';
}

const LOG_LEVELS = ['trace', 'debug', 'info', 'warn', 'error', 'fatal', 'silent'];
const MAX_WORKERS = 64;
const MAX_REPEAT = 20;

/** Parses `argv` (without node and the script). */
export function parseArgs(argv: readonly string[], known: readonly string[]): BenchArgs {
  let quick = false;
  let workers: number | undefined;
  let repeat = 1;
  let logLevel = 'error';
  let simulatorInProcess = false;
  let strict = false;
  let help = false;
  const workloads: string[] = [];
  for (let i = 0; i < argv.length; i += 1) {
    const arg = argv[i] as string;
    const [flag, inline] = arg.startsWith('--') && arg.includes('=') ? arg.split('=', 2) : [arg, undefined];
    const value = (): string => {
      const next = inline ?? argv[++i];
      if (next === undefined) throw new UsageError(`${flag} needs a value`);
      return next;
    };
    switch (flag) {
      case '--quick':
        quick = true;
        break;
      case '--workers': {
        const text = value();
        const count = Number(text);
        if (!Number.isInteger(count) || count < 0 || count > MAX_WORKERS) {
          throw new UsageError(`--workers: expected an integer from 0 to ${MAX_WORKERS}, found "${text}"`);
        }
        workers = count;
        break;
      }
      case '--repeat': {
        const text = value();
        repeat = Number(text);
        if (!Number.isInteger(repeat) || repeat < 1 || repeat > MAX_REPEAT) {
          throw new UsageError(`--repeat: expected an integer from 1 to ${MAX_REPEAT}, found "${text}"`);
        }
        break;
      }
      case '--log-level':
        logLevel = value();
        if (!LOG_LEVELS.includes(logLevel)) {
          throw new UsageError(`--log-level: expected one of ${LOG_LEVELS.join(', ')}, found "${logLevel}"`);
        }
        break;
      case '--simulator-in-process':
        simulatorInProcess = true;
        break;
      case '--strict':
        strict = true;
        break;
      case '--help':
      case '-h':
        help = true;
        break;
      default:
        if (arg.startsWith('-')) throw new UsageError(`unknown option ${arg}`);
        if (!known.includes(arg)) {
          throw new UsageError(`unknown workload "${arg}" (workloads: ${known.join(', ')})`);
        }
        if (!workloads.includes(arg)) workloads.push(arg);
    }
  }
  return { options: { quick, workers, repeat, logLevel, simulatorInProcess }, workloads, strict, help };
}

/** The help text. */
export function usage(workloads: readonly { name: string; summary: string }[]): string {
  return [
    'usage: node dist/bench/main.js [workload…] [options]',
    '',
    'workloads (all by default):',
    ...workloads.map((w) => `  ${w.name.padEnd(10)} ${w.summary}`),
    '',
    'options:',
    '  --quick                  smaller sizes, for a smoke run',
    "  --workers N              worker processes for troupe (default 0: one process; recovery: the daemon's default, one per CPU)",
    '  --repeat N               seed, overhead: N rounds of the comparison, each case keeps its fastest',
    '  --log-level L            troupe log level on stderr (default error)',
    '  --simulator-in-process   overhead: run the simulator in this process, not a child',
    '  --strict                 exit 1 when a target is missed',
    '',
    'Results are printed and written to bench/results/latest.json.',
  ].join('\n');
}
