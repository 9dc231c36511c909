import type { LearnedBucketView, LearnedView, SharedKeyView } from '../coordination/shared-view.js';
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

const MS_PER_SECOND = 1_000;

function bucketText(kind: string, bucket: LearnedBucketView): string {
  const of = bucket.limit === undefined ? '' : ` of ${bucket.limit}`;
  const at = `${bucket.resetAt.slice(11, 19)} UTC`;
  return `${kind} ${bucket.remaining}${of} left, full again at ${at} (in ${Math.ceil(bucket.resetInMs / MS_PER_SECOND)} s)`;
}

/**
 * What the providers' headers taught, in one line: the learned buckets in force (shared by every
 * participant) and the rates this process's provider announced; undefined when there is nothing
 * to say (no dialect known, nothing learned).
 */
function learnedLine(learned: LearnedView): string | undefined {
  const parts = [
    learned.requests && bucketText('requests', learned.requests),
    learned.tokens && bucketText('tokens', learned.tokens),
    learned.announced?.requestsPerMinute !== undefined &&
      `announced ${learned.announced.requestsPerMinute} requests/min`,
    learned.announced?.tokensPerMinute !== undefined &&
      `announced ${learned.announced.tokensPerMinute} tokens/min`,
  ].filter((part): part is string => typeof part === 'string');
  if (learned.dialect === undefined && parts.length === 0) return undefined;
  const dialect = learned.dialect === undefined ? '' : ` (${learned.dialect} dialect)`;
  return `learned from headers${dialect}: ${parts.join('; ') || 'nothing in force'}`;
}

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
  const learned = learnedLine(view.learned);
  if (learned !== undefined) lines.push(sanitizeForTerminal(`  ${learned}`));
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
