/**
 * One sequence of the report: its conversations side by side, a column per model and run, a row
 * per prompt; failed checks marked with their reasons, each grade with the judge's explanation.
 * Collapsed in a `<details>`, so that a large job opens quickly.
 */
import type { TurnRecord } from '../store/records.js';
import type { SequenceConfig, SuiteSettings } from '../suite/types.js';
import { MAX_RATING } from '../scoring/judge-prompt.js';
import { escapeHtml, fixed } from './html.js';

const keyOf = (model: string, run: number, turn: number): string => `${model}\u0000${run}\u0000${turn}`;

/** The `<details>` of `sequence`, from its stored `turns` (those of other sequences are ignored). */
export function sequenceView(
  suite: SuiteSettings,
  sequence: SequenceConfig,
  turns: readonly TurnRecord[],
): string {
  const own = new Map<string, TurnRecord>();
  for (const turn of turns) {
    if (turn.sequence === sequence.id) own.set(keyOf(turn.model, turn.run, turn.turn), turn);
  }
  const runs = Array.from({ length: suite.runs }, (_, i) => i + 1);
  const modelHeader = suite.models
    .map(
      (m) =>
        `<th class="model" colspan="${suite.runs}" data-model="${escapeHtml(m.id)}" scope="colgroup">${escapeHtml(m.id)}</th>`,
    )
    .join('');
  const runHeader =
    suite.runs > 1
      ? `<tr>${suite.models
          .flatMap((m) =>
            runs.map((run) => `<th class="run" data-model="${escapeHtml(m.id)}">run ${run}</th>`),
          )
          .join('')}</tr>`
      : '';
  const rows = sequence.prompts.map((prompt, index) => {
    const cells = suite.models.flatMap((model) =>
      runs.map((run) => turnCell(model.id, own.get(keyOf(model.id, run, index + 1)))),
    );
    return `<tr><th class="prompt" scope="row"><span class="n">${index + 1}</span>${escapeHtml(prompt)}</th>${cells.join('')}</tr>`;
  });
  const system = sequence.system ? `<p class="system">system: ${escapeHtml(sequence.system)}</p>` : '';
  return (
    `<details class="sequence" data-sequence="${escapeHtml(sequence.id)}" data-problems="${escapeHtml(JSON.stringify(modelsWithProblems(own.values())))}">` +
    `<summary>${summaryOf(sequence, [...own.values()])}</summary>${system}<div class="scroll"><table class="conversation">` +
    `<thead><tr><th class="prompt" rowspan="${suite.runs > 1 ? 2 : 1}">prompt</th>${modelHeader}</tr>${runHeader}</thead>` +
    `<tbody>${rows.join('')}</tbody></table></div></details>`
  );
}

const hasFailedCheck = (turn: TurnRecord): boolean => turn.checks?.some((c) => c.passed === false) ?? false;

/** Models with a failed turn or a failed check in this sequence (for the "problems only" filter). */
function modelsWithProblems(turns: Iterable<TurnRecord>): string[] {
  const models = new Set<string>();
  for (const turn of turns) if (turn.status === 'failed' || hasFailedCheck(turn)) models.add(turn.model);
  return [...models];
}

function summaryOf(sequence: SequenceConfig, turns: readonly TurnRecord[]): string {
  const failed = turns.filter((t) => t.status === 'failed').length;
  const failedChecks = turns.filter(hasFailedCheck).length;
  const grades = turns.map((t) => t.judge?.score).filter((s): s is number => typeof s === 'number');
  const parts = [
    `${sequence.prompts.length} prompt${sequence.prompts.length === 1 ? '' : 's'}`,
    `${turns.length} answers recorded`,
  ];
  const badges = [
    failed > 0 ? `<span class="badge bad">${failed} failed</span>` : '',
    failedChecks > 0 ? `<span class="badge bad">${failedChecks} with failed checks</span>` : '',
    grades.length > 0
      ? `<span class="badge">judge ${fixed(grades.reduce((sum, s) => sum + s, 0) / grades.length, 2)}</span>`
      : '',
  ].join('');
  const category = sequence.category ? ` <span class="category">${escapeHtml(sequence.category)}</span>` : '';
  return `<span class="id">${escapeHtml(sequence.id)}</span>${category} <span class="muted">${parts.join(' · ')}</span>${badges}`;
}

function turnCell(model: string, turn: TurnRecord | undefined): string {
  const attr = `data-model="${escapeHtml(model)}"`;
  if (!turn) return `<td class="missing" ${attr}>not recorded</td>`;
  if (turn.status !== 'ok') {
    const error = turn.error ? `: ${escapeHtml(turn.error.message)}` : '';
    const code = turn.error ? ` <code>${escapeHtml(turn.error.code)}</code>` : '';
    return `<td class="${turn.status}" ${attr}><span class="status">${turn.status}</span>${error}${code}</td>`;
  }
  const checks = (turn.checks ?? [])
    .map((c) => {
      const cls = c.passed === null ? 'error' : c.passed ? 'pass' : 'fail';
      const mark = c.passed === null ? '!' : c.passed ? '✓' : '✗';
      return `<li class="${cls}">${mark} ${escapeHtml(c.kind)}: ${escapeHtml(c.reason)}</li>`;
    })
    .join('');
  const meta = [
    turn.latencyMs === null ? '' : `${Math.round(turn.latencyMs)} ms`,
    turn.usage ? `${turn.usage.inputTokens}→${turn.usage.outputTokens} tokens` : '',
    turn.attempts > 1 ? `${turn.attempts} attempts` : '',
  ].filter((part) => part !== '');
  return (
    `<td class="ok${hasFailedCheck(turn) ? ' has-fail' : ''}" ${attr}><pre class="answer">${escapeHtml(turn.response ?? '')}</pre>` +
    `${checks ? `<ul class="checks">${checks}</ul>` : ''}${gradeOf(turn)}<div class="meta">${meta.join(' · ')}</div></td>`
  );
}

function gradeOf(turn: TurnRecord): string {
  const judge = turn.judge;
  if (!judge) return '';
  const verdict =
    judge.score === null
      ? `<span class="error">judge: ${escapeHtml(judge.status)}</span>`
      : `judge <b>${judge.score}</b>/${MAX_RATING}`;
  return `<details class="grade"><summary>${verdict}</summary><pre>${escapeHtml(judge.explanation)}</pre></details>`;
}
