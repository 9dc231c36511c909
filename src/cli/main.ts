#!/usr/bin/env node
/**
 * troupe's command line: declares the commands and maps errors to exit codes.
 * Each command lives in its own module under ./commands.
 */
import { readFileSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import yargs from 'yargs';
import { DIALECT_NAMES } from '../resilience/header-dialects.js';
import { hideBin } from 'yargs/helpers';
import { ExitCode, ExitError } from '../errors.js';
import { DEFAULT_SHUTDOWN_GRACE_MS } from '../runtime/shutdown.js';
import { DEFAULT_METRICS_HOST } from '../metrics/server.js';
import { DEFAULT_IN_PROCESS_JOB_MAX_CONVERSATIONS, workerSettings } from '../runtime/worker-settings.js';
import { reportFailure, stdoutLine, stdoutWatch } from './command-output.js';
import { readInReader } from './reader-process.js';

// Each command's module is imported when the command runs: a command loads only what it uses,
// which keeps the daemon's restart (and every short command) quick.

/** Default directory of the store, relative to the working directory. */
const DEFAULT_DATA_DIR = '.troupe';

function packageVersion(): string {
  const pkg = JSON.parse(readFileSync(new URL('../../../package.json', import.meta.url), 'utf8')) as {
    version: string;
  };
  return pkg.version;
}

/** Options of the commands that run an engine (`run`, `daemon`). */
const ENGINE_OPTIONS = {
  workers: {
    type: 'number',
    describe:
      'Worker processes for the conversations; 0: every job in this process. ' +
      `Default: one per CPU (${availableParallelism()}) for jobs of more than ` +
      `${DEFAULT_IN_PROCESS_JOB_MAX_CONVERSATIONS} conversations (models × sequences × runs); ` +
      'smaller jobs run in this process. A number given runs every job on that many workers',
  },
  'grace-ms': {
    type: 'number',
    default: DEFAULT_SHUTDOWN_GRACE_MS,
    describe: 'After SIGTERM/SIGINT (Ctrl-C), how long requests in flight may take to finish',
  },
  'metrics-port': {
    type: 'number',
    describe: 'Serve Prometheus metrics (/metrics, /healthz, /readyz) on this port',
  },
  'metrics-host': {
    type: 'string',
    default: DEFAULT_METRICS_HOST,
    describe: 'Address of the metrics endpoint (loopback by default)',
  },
} as const;

/** Checks the values of `ENGINE_OPTIONS`; yargs shows the message and the CLI exits 2. */
function checkEngineOptions(args: { workers?: number; 'grace-ms': number }): true {
  if (args.workers !== undefined && (!Number.isInteger(args.workers) || args.workers < 0)) {
    throw new Error(`--workers: expected a whole number ≥ 0, found ${String(args.workers)}`);
  }
  if (!Number.isFinite(args['grace-ms']) || args['grace-ms'] < 0) {
    throw new Error(`--grace-ms: expected a number of milliseconds ≥ 0, found ${String(args['grace-ms'])}`);
  }
  return true;
}

/** `--max-cost` must be a number of US dollars above 0. */
function checkMaxCost(args: { readonly 'max-cost'?: number }): true {
  const cap = args['max-cost'];
  if (cap !== undefined && !(Number.isFinite(cap) && cap > 0))
    throw new Error(`--max-cost: expected a number of US dollars above 0, found ${String(cap)}`);
  return true;
}

async function main(argv: string[]): Promise<number> {
  let exitCode: number = ExitCode.ok;
  await yargs(argv)
    .scriptName('troupe')
    .usage('$0 <command> [options]')
    .option('data-dir', {
      type: 'string',
      default: DEFAULT_DATA_DIR,
      describe: 'Directory of the checkpoint store (jobs and results)',
    })
    .option('log-level', {
      type: 'string',
      choices: ['trace', 'debug', 'info', 'warn', 'error', 'fatal', 'silent'],
      describe:
        'Lowest level of the JSON log lines written to stderr (default: info for the daemon, warn otherwise)',
    })
    .command(
      'run [suite]',
      'Run a suite in the foreground: progress, then a summary per model',
      (y) =>
        y
          .positional('suite', { type: 'string', describe: 'Suite file (YAML or JSON)' })
          .option('resume', {
            type: 'string',
            describe: 'Continue a stored job instead of starting a new one',
          })
          .option('reuse', {
            type: 'string',
            array: true,
            describe:
              'Stored jobs whose identical conversations are copied instead of requested (new jobs only)',
          })
          .option('max-cost', {
            type: 'number',
            describe:
              "The job's spend cap in US dollars (every model needs prices); with --resume, a new cap",
          })
          .options(ENGINE_OPTIONS)
          .check((args) => {
            if (args.suite === undefined && args.resume === undefined)
              throw new Error('give a suite file or --resume <job>');
            if (args.suite !== undefined && args.resume !== undefined)
              throw new Error('give a suite file or --resume, not both');
            if (args.reuse !== undefined && args.resume !== undefined)
              throw new Error('--reuse copies answers into a new job: give a suite file, not --resume');
            checkMaxCost(args);
            return checkEngineOptions(args);
          }),
      async (args) => {
        exitCode = await (
          await import('./commands/run.js')
        ).runRun(
          {
            suite: args.suite,
            resume: args.resume,
            dataDir: args['data-dir'],
            logLevel: args['log-level'] ?? 'warn',
            ...workerSettings(args.workers, availableParallelism()),
            graceMs: args['grace-ms'],
            metricsPort: args['metrics-port'],
            metricsHost: args['metrics-host'],
            maxCostUsd: args['max-cost'],
            reuse: args.reuse,
          },
          { stdout: process.stdout, env: process.env, output: stdoutWatch },
        );
      },
    )
    .command(
      'daemon',
      'Run the headless daemon: resumes unfinished jobs, takes new ones from `troupe submit`',
      (y) => y.options(ENGINE_OPTIONS).check(checkEngineOptions),
      async (args) => {
        await (
          await import('./commands/daemon.js')
        ).runDaemon({
          dataDir: args['data-dir'],
          ...workerSettings(args.workers, availableParallelism()),
          graceMs: args['grace-ms'],
          logLevel: args['log-level'] ?? 'info',
          version: packageVersion(),
          metricsPort: args['metrics-port'],
          metricsHost: args['metrics-host'],
        });
      },
    )
    .command(
      'submit <suite>',
      'Hand a suite to the running daemon; prints the job id',
      (y) =>
        y
          .positional('suite', { type: 'string', demandOption: true, describe: 'Suite file (YAML or JSON)' })
          .option('max-cost', {
            type: 'number',
            describe: "The job's spend cap in US dollars (every model needs prices)",
          })
          .option('reuse', {
            type: 'string',
            array: true,
            describe: 'Stored jobs whose identical conversations are copied instead of requested',
          })
          .check(checkMaxCost),
      async (args) => {
        await (
          await import('./commands/submit.js')
        ).runSubmit(
          { suite: args.suite, dataDir: args['data-dir'], maxCostUsd: args['max-cost'], reuse: args.reuse },
          stdoutLine,
        );
      },
    )
    .command(
      'jobs',
      "List the daemon's jobs",
      (y) => y,
      async (args) => {
        await (await import('./commands/jobs.js')).runJobs({ dataDir: args['data-dir'] }, stdoutLine);
      },
    )
    .command(
      'status [job]',
      'Progress per model: done/failed/total, rate, ETA, provider state',
      (y) =>
        y
          .positional('job', { type: 'string', describe: 'Job id (default: every job)' })
          .option('json', { type: 'boolean', default: false, describe: 'Print JSON' }),
      async (args) => {
        await (
          await import('./commands/status.js')
        ).runStatus({ dataDir: args['data-dir'], job: args.job, json: args.json }, stdoutLine);
      },
    )
    .command(
      'cancel <job>',
      'Cancel a running job (its finished turns stay readable)',
      (y) => y.positional('job', { type: 'string', demandOption: true, describe: 'Job id' }),
      async (args) => {
        await (
          await import('./commands/cancel.js')
        ).runCancel({ dataDir: args['data-dir'], job: args.job }, stdoutLine);
      },
    )
    .command(
      'validate <suite>',
      'Check a suite file (and its API keys) without running it',
      (y) =>
        y.positional('suite', { type: 'string', demandOption: true, describe: 'Suite file (YAML or JSON)' }),
      async (args) => {
        await (await import('./commands/validate.js')).runValidate({ suite: args.suite }, stdoutLine);
      },
    )
    .command(
      'plan <suite>',
      'Forecast a suite before running it: turns, tokens, cost and the least wall time its limits allow (sends nothing)',
      (y) =>
        y
          .positional('suite', { type: 'string', demandOption: true, describe: 'Suite file (YAML or JSON)' })
          .option('format', { choices: ['table', 'json'] as const, default: 'table' as const })
          .option('reuse', {
            type: 'string',
            array: true,
            describe: 'Stored jobs whose answers the job would copy: the plan leaves those turns out',
          }),
      async (args) => {
        await (
          await import('./commands/plan.js')
        ).runPlan(
          { suite: args.suite, dataDir: args['data-dir'], format: args.format, reuse: args.reuse },
          stdoutLine,
        );
      },
    )
    .command(
      'results <job>',
      "Print a job's turns (also while it runs)",
      (y) =>
        y
          .positional('job', { type: 'string', demandOption: true, describe: 'Job id' })
          .option('format', {
            choices: ['jsonl', 'csv', 'table'] as const,
            default: 'jsonl' as const,
            describe:
              "Output format. csv: a text cell starting with = + - @ tab or CR gets a leading ' (OWASP's CSV-injection advice), so spreadsheets never run it as a formula",
          })
          .option('model', { type: 'string', describe: 'Only this model' })
          .option('sequence', { type: 'string', describe: 'Only this sequence' }),
      async (args) => {
        exitCode = await readInReader(
          {
            type: 'results',
            options: {
              job: args.job,
              dataDir: args['data-dir'],
              format: args.format,
              ...(args.model === undefined ? {} : { model: args.model }),
              ...(args.sequence === undefined ? {} : { sequence: args.sequence }),
            },
          },
          args['data-dir'],
        );
      },
    )
    .command(
      'report <job>',
      'Write one self-contained HTML report of a job: scores, charts, conversations side by side',
      (y) =>
        y
          .positional('job', { type: 'string', demandOption: true, describe: 'Job id' })
          .option('out', { type: 'string', default: 'report.html', describe: 'The HTML file to write' })
          .option('compare-to', {
            type: 'string',
            describe: 'A baseline job: add the paired tests of this job against it (as troupe compare)',
          }),
      async (args) => {
        exitCode = await readInReader(
          {
            type: 'report',
            options: {
              job: args.job,
              dataDir: args['data-dir'],
              out: args.out,
              ...(args['compare-to'] === undefined ? {} : { compareTo: args['compare-to'] }),
            },
          },
          args['data-dir'],
        );
      },
    )
    .command(
      'compare <before> <after>',
      'What got better or worse between two jobs, per model and sequence',
      (y) =>
        y
          .positional('before', { type: 'string', demandOption: true, describe: 'Job id (before)' })
          .positional('after', { type: 'string', demandOption: true, describe: 'Job id (after)' })
          .option('format', { choices: ['table', 'json'] as const, default: 'table' as const }),
      async (args) => {
        exitCode = await readInReader(
          {
            type: 'compare',
            options: {
              before: args.before,
              after: args.after,
              dataDir: args['data-dir'],
              format: args.format,
            },
          },
          args['data-dir'],
        );
      },
    )
    .command(
      'verify',
      'Check every record of a store (read-only); --salvage --out DIR copies the intact ones into a new store',
      (y) =>
        y
          .option('salvage', {
            type: 'boolean',
            default: false,
            describe: 'Copy every intact record into a new store in --out',
          })
          .option('out', { type: 'string', describe: 'With --salvage: a new or empty directory' })
          .check((args) => {
            if (args.salvage && args.out === undefined) throw new Error('--salvage needs --out DIR');
            if (!args.salvage && args.out !== undefined) throw new Error('--out goes with --salvage');
            return true;
          }),
      async (args) => {
        exitCode = await (
          await import('./commands/verify.js')
        ).runVerify({ dataDir: args['data-dir'], salvage: args.salvage, out: args.out }, stdoutLine);
      },
    )
    .command(
      'simulate',
      'Serve the OpenAI and Anthropic APIs locally with simulated models (rehearse a suite for free)',
      (y) =>
        y
          .option('port', { type: 'number', default: 8080, describe: 'TCP port' })
          .option('host', { type: 'string', default: '127.0.0.1', describe: 'Address to listen on' })
          .option('latency-ms', { type: 'number', default: 200, describe: 'Latency of every reply' })
          .option('requests-per-minute', { type: 'number', describe: 'Answer 429 above this rate' })
          .option('tokens-per-minute', { type: 'number', describe: 'Answer 429 above this token rate' })
          .option('api-key', { type: 'string', describe: 'Accept only this key (default: any)' })
          .option('dialect', {
            choices: DIALECT_NAMES,
            describe: "Rate-limit headers as this provider writes them (default: each API's own)",
          })
          .option('window-ms', {
            type: 'number',
            describe:
              'Each limit counts over this window (60 per 6 s: --requests-per-minute 600 --window-ms 6000)',
          })
          .option('tokens-window-ms', {
            type: 'number',
            describe:
              "The tokens limit counts over this window instead (Groq: --window-ms 86400000 for the requests' day, --tokens-window-ms 60000)",
          })
          .option('fail-matching', {
            type: 'string',
            describe: 'Requests whose last prompt matches this regular expression fail (500, or --fault)',
          })
          .option('fault', {
            type: 'string',
            describe:
              'Fail with this: hang, bad-json, empty, html, reset or status:N (every request, or those --fail-matching)',
          })
          .option('models', {
            type: 'string',
            describe:
              'Serve only these model names (comma-separated); any other is answered 404 model not found',
          }),
      async (args) => {
        const { runSimulate, describeServed } = await import('./commands/simulate.js');
        const simulator = await runSimulate(
          {
            port: args.port,
            host: args.host,
            latencyMs: args['latency-ms'],
            requestsPerMinute: args['requests-per-minute'],
            tokensPerMinute: args['tokens-per-minute'],
            apiKey: args['api-key'],
            dialect: args.dialect,
            windowMs: args['window-ms'],
            tokensWindowMs: args['tokens-window-ms'],
            failMatching: args['fail-matching'],
            fault: args.fault,
            ...(args.models !== undefined && {
              models: args.models
                .split(',')
                .map((name) => name.trim())
                .filter((name) => name !== ''),
            }),
          },
          stdoutLine,
        );
        await new Promise<void>((resolve) => {
          const stop = (): void => {
            // What it served, by status: a rehearsal's outcome as the provider saw it.
            void simulator.close().then(() => {
              stdoutLine(describeServed(simulator));
              resolve();
            });
          };
          process.once('SIGINT', stop);
          process.once('SIGTERM', stop);
        });
      },
    )
    .demandCommand(1, 'name a command; see --help')
    .strict()
    .version(packageVersion())
    .help()
    .alias('help', 'h')
    .wrap(Math.min(110, process.stdout.columns ?? 110))
    .fail((message, error) => {
      if (error) throw error;
      // A usage mistake (unknown flag, missing argument): exit 2, like any bad input.
      throw new ExitError(`${message}\n(see troupe --help)`, ExitCode.badInput);
    })
    .parseAsync();
  return exitCode;
}

main(hideBin(process.argv)).then(
  (code) => {
    process.exitCode = code;
  },
  (error: unknown) => {
    process.exitCode = reportFailure(error);
  },
);
