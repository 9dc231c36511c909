/** Prints a workload's results as a compact table and writes every result as JSON. */
import { mkdir, writeFile } from 'node:fs/promises';
import { cpus } from 'node:os';
import { dirname } from 'node:path';
import { mb } from './memory.js';
import type { BenchOptions, CaseResult, WorkloadResult } from './types.js';

/** Where the results go, relative to the working directory. */
export const RESULTS_FILE = 'bench/results/latest.json';

const seconds = (ms: number): string => `${(ms / 1000).toFixed(3)} s`;
const fixed = (value: number | undefined, digits = 2): string =>
  value === undefined || Number.isNaN(value) ? '–' : value.toFixed(digits);

const COLUMNS: readonly { title: string; cell: (c: CaseResult) => string }[] = [
  { title: 'case', cell: (c) => c.label },
  { title: 'turns', cell: (c) => String(c.turns) },
  { title: 'wall', cell: (c) => seconds(c.wallMs) },
  { title: 'lower bound', cell: (c) => (c.lowerBoundMs === undefined ? '–' : seconds(c.lowerBoundMs)) },
  {
    title: '÷ bound',
    cell: (c) => (c.lowerBoundMs === undefined ? '–' : fixed(c.wallMs / c.lowerBoundMs)),
  },
  { title: 'turns/s', cell: (c) => fixed(c.turnsPerSecond, 1) },
  { title: '429s', cell: (c) => String(c.rateLimited) },
  { title: 'in flight', cell: (c) => (c.maxInFlight === undefined ? '–' : String(c.maxInFlight)) },
  {
    title: 'CPU µs/turn',
    cell: (c) =>
      c.cpuMs === undefined || c.turns === 0 ? '–' : String(Math.round((c.cpuMs * 1000) / c.turns)),
  },
  // 0: not measured (the work ran in another process).
  { title: 'peak RSS', cell: (c) => (c.peakRssBytes > 0 ? `${mb(c.peakRssBytes)} MB` : '–') },
];

/** The table and the lines under it, as printed. */
export function formatWorkload(result: WorkloadResult): string {
  const rows = [
    COLUMNS.map((column) => column.title),
    ...result.cases.map((c) => COLUMNS.map((k) => k.cell(c))),
  ];
  const widths = COLUMNS.map((_, i) => Math.max(...rows.map((row) => (row[i] ?? '').length)));
  const line = (row: readonly string[]): string =>
    `  ${row.map((cell, i) => (i === 0 ? cell.padEnd(widths[i] ?? 0) : cell.padStart(widths[i] ?? 0))).join('  ')}`;
  const out = [`${result.name} — ${result.description}`, ...rows.map(line)];
  for (const c of result.cases) {
    if (c.details === undefined || Object.keys(c.details).length === 0) continue;
    const parts = Object.entries(c.details).map(
      ([key, value]) =>
        `${key} ${typeof value === 'number' ? fixed(value, Number.isInteger(value) ? 0 : 1) : value}`,
    );
    out.push(`  · ${c.label}: ${parts.join(', ')}`);
  }
  for (const [name, value] of Object.entries(result.ratios)) out.push(`  ${name}: ${fixed(value)}`);
  for (const target of result.targets) {
    out.push(
      `  target ${target.label} ${target.op} ${target.target}: ${fixed(target.value)} ${target.met ? 'met' : 'MISSED'}`,
    );
  }
  for (const note of result.notes) out.push(`  note: ${note}`);
  return out.join('\n');
}

/** A workload that threw. */
export interface WorkloadFailure {
  readonly name: string;
  readonly error: string;
}

/** Writes every result, with what they ran on, to `RESULTS_FILE`. */
export async function writeResults(
  options: BenchOptions,
  results: readonly WorkloadResult[],
  failures: readonly WorkloadFailure[],
): Promise<string> {
  const document = {
    finishedAt: new Date().toISOString(),
    node: process.version,
    cpus: cpus().length,
    options,
    workloads: results.map((result) => ({
      ...result,
      cases: result.cases.map((c) => ({
        ...c,
        ratioToBound: c.lowerBoundMs === undefined ? undefined : c.wallMs / c.lowerBoundMs,
      })),
    })),
    failures,
  };
  await mkdir(dirname(RESULTS_FILE), { recursive: true });
  await writeFile(RESULTS_FILE, `${JSON.stringify(document, null, 2)}\n`);
  return RESULTS_FILE;
}
