import type { SharedKeyView } from '../coordination/shared-view.js';
import { sanitizeForTerminal } from '../results/terminal-text.js';
import { renderTable } from '../results/text-table.js';

const COLUMNS = [
  { header: 'PROCESS' },
  { header: 'JOBS' },
  { header: 'REQUESTS', align: 'right' as const },
  { header: 'TOKENS', align: 'right' as const },
  { header: 'SLOTS', align: 'right' as const },
];

const percent = (ratio: number | undefined): string =>
  ratio === undefined ? '' : ` (${Math.round(ratio * 100)}%)`;

/**
 * A shared key for a terminal: a heading with the budget in force, then one row per participant
 * with what it was granted in the current window and holds now, and its share of the budget.
 */
export function sharedKeyLines(view: SharedKeyView): string[] {
  const budget = [
    view.budget.requestsPerMinute !== undefined && `${view.budget.requestsPerMinute} requests/min`,
    view.budget.tokensPerMinute !== undefined && `${view.budget.tokensPerMinute} tokens/min`,
    view.budget.maxConcurrency !== undefined && `${view.budget.maxConcurrency} at once`,
  ].filter((part): part is string => part !== false);
  const state = !view.reachable
    ? 'paused: coordination store unreachable'
    : view.pausedUntil !== undefined
      ? `paused until ${view.pausedUntil.slice(0, 10)} ${view.pausedUntil.slice(11, 19)} UTC`
      : `${view.participants.length} participant${view.participants.length === 1 ? '' : 's'}`;
  // The heading's names come from suites, the rows' from other processes (the table cleans those).
  const lines = [
    sanitizeForTerminal(
      `shared limits ${view.key} (provider ${view.provider}, store ${view.store}): ${budget.join(', ') || 'no limit'}; ${state}`,
    ),
  ];
  if (view.participants.length === 0) return lines;
  const rows = view.participants.map((p) => [
    p.self ? `${p.process} (this daemon)` : p.process,
    p.jobs.join(' ') || '-',
    `${Math.round(p.requests)}${percent(p.share.requests)}`,
    `${Math.round(p.tokens)}${percent(p.share.tokens)}`,
    `${p.slots}${percent(p.share.slots)}`,
  ]);
  for (const line of renderTable(COLUMNS, rows)) lines.push(`  ${line}`);
  return lines;
}
