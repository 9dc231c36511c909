import type { JobStatus } from '../../actors/supervisor.js';
import { callDaemon } from '../../daemon/control-client.js';
import { forecastBesideActual, wallTimeOf } from '../../planning/outcome.js';
import { renderTable } from '../../results/text-table.js';
import { describeProviderStatus } from '../../runtime/provider-status.js';
import { formatDuration } from '../progress-display.js';
import { jsonForTerminal } from '../../results/terminal-text.js';
import { sharedKeyLines } from '../shared-key-text.js';

/** Options of `troupe status`. */
export interface StatusOptions {
  readonly dataDir: string;
  /** One job; default every job. */
  readonly job?: string;
  /** Print the status as JSON instead of a table. */
  readonly json: boolean;
}

/**
 * `troupe status [job]`: per job and model, turns done/failed/total, rate, ETA
 * and the provider's state ("rate limited", "circuit open", …); then, per shared key
 * (`sharedLimits`), the budget in force and every participant with its share of it.
 * `--json` prints `{ jobs, sharedLimits }`.
 */
export async function runStatus(options: StatusOptions, out: (line: string) => void): Promise<void> {
  const answer = await callDaemon(options.dataDir, { type: 'status', job: options.job });
  if (answer.type !== 'status') throw new Error(`unexpected answer ${answer.type}`);
  const shared = answer.shared ?? [];
  if (options.json) {
    out(jsonForTerminal({ jobs: answer.jobs, sharedLimits: shared }));
    return;
  }
  if (answer.jobs.length === 0) out('no jobs yet');
  // The daemon read them in a reader process: this one never opens the store.
  const records = new Map((answer.records ?? []).map((stored) => [stored.record.id, stored]));
  for (const job of answer.jobs) {
    out(`job ${job.job}  suite ${job.suite}  ${job.state}`);
    for (const line of renderTable(COLUMNS, job.models.map(row))) out(`  ${line}`);
    const stored = records.get(job.job);
    if (stored === undefined) continue;
    const { record, spentUsd } = stored;
    const turns = job.models.reduce((sum, m) => sum + m.counts.ok + m.counts.failed + m.counts.skipped, 0);
    const actual = {
      turns,
      wallMs: wallTimeOf(record, Date.now()),
      ...(spentUsd !== undefined && { costUsd: spentUsd }),
    };
    for (const line of forecastBesideActual(record, actual)) {
      out(`  ${line}`);
    }
  }
  for (const view of shared) for (const line of sharedKeyLines(view)) out(line);
}

const COLUMNS = [
  { header: 'MODEL' },
  { header: 'DONE', align: 'right' as const },
  { header: 'FAILED', align: 'right' as const },
  { header: 'SKIPPED', align: 'right' as const },
  { header: 'TOTAL', align: 'right' as const },
  { header: 'TURNS/S', align: 'right' as const },
  { header: 'ETA', align: 'right' as const },
  { header: 'PROVIDER' },
];

function row(model: JobStatus['models'][number]): string[] {
  const { ok, failed, skipped, total } = model.counts;
  const done = ok + failed + skipped;
  // A model its provider refused is told apart from its provider's state: the provider's other
  // models may well go on.
  const provider = model.refused
    ? `${model.provider}: refused this model: ${model.refused.reason}`
    : model.providerStatus
      ? `${model.provider}: ${describeProviderStatus(model.providerStatus)}`
      : model.provider;
  return [
    model.model,
    String(done),
    String(failed),
    String(skipped),
    String(total),
    model.turnsPerSecond.toFixed(1),
    done >= total ? 'done' : formatDuration(model.etaSeconds),
    provider,
  ];
}
