/**
 * `npm run bench`: runs the named workloads (all by default), prints a compact report per
 * workload and writes every figure to bench/results/latest.json. Exit 1 when a job did not
 * answer every turn (or, with --strict, when a target is missed); 2 on a bad command line.
 */
import { parseArgs, usage, UsageError } from './lib/args.js';
import { formatWorkload, writeResults } from './lib/report.js';
import type { WorkloadFailure } from './lib/report.js';
import type { Workload, WorkloadResult } from './lib/types.js';
import { dialects } from './workloads/dialects.js';
import { interrupt } from './workloads/interrupt.js';
import { limited } from './workloads/limited.js';
import { overhead } from './workloads/overhead.js';
import { poison } from './workloads/poison.js';
import { recovery } from './workloads/recovery.js';
import { scale } from './workloads/scale.js';
import { seed } from './workloads/seed.js';
import { shared } from './workloads/shared.js';

const WORKLOADS: readonly Workload[] = [
  seed,
  limited,
  dialects,
  poison,
  interrupt,
  overhead,
  recovery,
  scale,
  shared,
];

async function main(argv: readonly string[]): Promise<number> {
  let args;
  try {
    args = parseArgs(
      argv,
      WORKLOADS.map((w) => w.name),
    );
  } catch (error) {
    if (!(error instanceof UsageError)) throw error;
    process.stderr.write(`bench: ${error.message}\n\n${usage(WORKLOADS)}\n`);
    return 2;
  }
  if (args.help) {
    process.stdout.write(`${usage(WORKLOADS)}\n`);
    return 0;
  }
  const selected =
    args.workloads.length === 0 ? WORKLOADS : WORKLOADS.filter((w) => args.workloads.includes(w.name));
  const results: WorkloadResult[] = [];
  const failures: WorkloadFailure[] = [];
  for (const workload of selected) {
    process.stdout.write(
      `\n▶ ${workload.name}${args.options.quick ? ' (quick)' : ''}: ${workload.summary}\n`,
    );
    try {
      const result = await workload.run(args.options);
      results.push(result);
      process.stdout.write(`${formatWorkload(result)}\n`);
    } catch (error) {
      const message = error instanceof Error ? (error.stack ?? error.message) : String(error);
      failures.push({ name: workload.name, error: error instanceof Error ? error.message : String(error) });
      process.stderr.write(`bench: workload ${workload.name} FAILED: ${message}\n`);
    }
  }
  const file = await writeResults(args.options, results, failures);
  const missed = results.flatMap((r) => r.targets.filter((t) => !t.met).map((t) => `${r.name}: ${t.label}`));
  process.stdout.write(
    `\nresults written to ${file}; ${failures.length} workload(s) failed, ${missed.length} target(s) missed\n`,
  );
  if (failures.length > 0) return 1;
  return args.strict && missed.length > 0 ? 1 : 0;
}

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (error: unknown) => {
    process.stderr.write(
      `bench: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`,
    );
    process.exitCode = 1;
  },
);
