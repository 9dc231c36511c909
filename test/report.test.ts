import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { niceAxis } from '../src/report/charts.js';
import { REPORT_DATA_ID, escapeHtml, jsonForScript, renderReport } from '../src/report/html-report.js';
import type { ReportData } from '../src/report/html-report.js';
import { turnJson } from '../src/results/format.js';
import type { TurnJson } from '../src/results/format.js';
import type { Suite } from '../src/suite/types.js';
import { SCORED_SUITE, grade, jobOf, passedCheck, scoredTurn, storedJobOf } from './helpers/records.js';

const NASTY = '</script><img onerror=alert(1)></pre><!-- &"\'\u2028';

/** SCORED_SUITE with a check on greet's first prompt. */
const SUITE: Suite = {
  ...SCORED_SUITE,
  sequences: [
    {
      id: 'greet',
      prompts: ['Hello?', 'And again?'],
      checks: [[{ kind: 'contains', value: 'hi', ignoreCase: false }], []],
    },
    { id: 'count', prompts: ['Count to three.'], category: 'math <b>' },
  ],
};

function turns() {
  return [
    scoredTurn('j1', 'alpha', 'greet', 1, 1, {
      response: NASTY,
      checks: [passedCheck(false, 'missing "hi"')],
      judge: grade(7),
    }),
    scoredTurn('j1', 'alpha', 'greet', 1, 2, { judge: grade(9) }),
    scoredTurn('j1', 'alpha', 'greet', 2, 1, { checks: [passedCheck(true, 'found "hi"')], judge: grade(8) }),
    scoredTurn('j1', 'beta', 'count', 2, 1, { status: 'failed' }),
    scoredTurn('j1', 'beta', 'greet', 1, 1, {
      checks: [passedCheck(null, 'script threw')],
      judge: grade(null),
    }),
  ];
}

/** The text of the embedded JSON block. */
function dataBlock(html: string): string {
  const match = new RegExp(`<script type="application/json" id="${REPORT_DATA_ID}">(.*?)</script>`, 's').exec(
    html,
  );
  if (!match?.[1]) throw new Error('no data block');
  return match[1];
}

describe('the HTML report', () => {
  const job = { ...jobOf('j1', SUITE), finishedAt: '2026-11-27T00:05:00.000Z' };
  const html = renderReport({ job, sequences: SUITE.sequences, turns: turns() });

  it('shows the job, every model and every sequence', () => {
    for (const id of ['j1', 'alpha', 'beta', 'greet', 'count', 'scored.yaml', '2026-11-27T00:05:00.000Z']) {
      expect(html).toContain(id);
    }
    expect(html).toContain('5 of 12 turns recorded');
    expect(html).toMatch(/<b>4<\/b> ok, <b>1<\/b> failed, <b>0<\/b> skipped/);
  });

  it('escapes answers and every other text: no markup from a model reaches the page', () => {
    expect(html).not.toContain('<img');
    expect(html).not.toContain('</script><img');
    expect(html).not.toContain('math <b>');
    expect(html).toContain(escapeHtml(NASTY));
    expect(html).toContain('math &lt;b&gt;');
  });

  it('embeds the whole job as JSON that no answer can break out of', () => {
    const block = dataBlock(html);
    expect(block).not.toMatch(/[<>]/);
    expect(block).not.toContain('\u2028');
    const data = JSON.parse(block) as ReportData;
    const keyed = (list: readonly TurnJson[]): TurnJson[] =>
      [...list].sort((a, b) => JSON.stringify(a).localeCompare(JSON.stringify(b)));
    expect(data.job).toEqual(JSON.parse(JSON.stringify(job)));
    expect(data.complete).toBe(true);
    expect(keyed(data.turns)).toEqual(keyed(JSON.parse(JSON.stringify(turns().map(turnJson))) as TurnJson[]));
    expect(data.turns.some((t) => t.response === NASTY)).toBe(true);
    // The only scripts: the data block and the report's own.
    expect(html.match(/<script/g)).toHaveLength(2);
  });

  it('is self-contained: nothing fetched from anywhere, only its own script may run', () => {
    expect(html).not.toMatch(/\b(src|href|action|poster|srcset)\s*=\s*["']?\s*(https?:)?\/\//i);
    expect(html).not.toMatch(/https?:\/\//i);
    expect(html).not.toMatch(/@import|url\(/i);
    expect(html).not.toMatch(/<(link|iframe|object|embed|img)\b/i);
    const script = /<script>(.*?)<\/script>/s.exec(html)?.[1] ?? '';
    const hash = createHash('sha256').update(script).digest('base64');
    const csp = /<meta http-equiv="Content-Security-Policy" content="([^"]*)">/.exec(html)?.[1] ?? '';
    expect(csp).toContain("default-src 'none'");
    expect(csp).toContain(`script-src 'sha256-${hash}'`);
  });

  it('marks failed checks with their reasons, failed turns with their error, and shows the grades', () => {
    expect(html).toMatch(/<td class="ok has-fail" data-model="alpha"><pre class="answer">&lt;\/script&gt;/);
    expect(html).toContain('<li class="fail">✗ contains: missing &quot;hi&quot;</li>');
    expect(html).toContain('<li class="pass">✓ contains: found &quot;hi&quot;</li>');
    expect(html).toContain('<li class="error">! contains: script threw</li>');
    expect(html).toMatch(/<td class="failed" data-model="beta">.*HTTP 401: bad key/);
    expect(html).toContain('judge <b>7</b>/10</summary><pre>graded 7</pre>');
    expect(html).toContain('judge: unparsable');
    expect(html).toContain('<td class="missing" data-model="beta">not recorded</td>');
  });

  it('has a score table per model: pass rate, judge mean ± interval, latency, tokens, cost', () => {
    const alpha = /<tr data-model="alpha">(.*?)<\/tr>/.exec(html)?.[1] ?? '';
    // 3 ok; checks 1 of 2; judge per sequence (greet: 7, 9, 8 → 8); 100 ms; 30 in, 15 out at $1/$2 per M.
    expect(alpha).toMatch(
      /<td class="num">3<\/td><td class="num">0<\/td><td class="num">0<\/td><td class="num">50\.0 %<\/td>/,
    );
    expect(alpha).toContain('8.00 <span class="muted">(1 seq.)</span>');
    expect(alpha).toContain('<td class="num">100</td><td class="num">100</td><td class="num">30</td>');
    expect(alpha).toContain('$0.0001');
    const beta = /<tr data-model="beta">(.*?)<\/tr>/.exec(html)?.[1] ?? '';
    expect(beta).toContain('<td class="num">1</td><td class="num">1</td><td class="num">0</td>');
    expect(beta.endsWith('<td class="num">–</td>')).toBe(true);
  });

  it('charts the judge means with their intervals and the latencies', () => {
    expect(html).toContain('Mean judge score per model');
    expect(html.match(/<svg class="chart"/g)).toHaveLength(2);
    expect(html).toContain('no grades');
    expect(html).toContain('p50 100 · p95 100 ms');
  });

  it('collapses every sequence and offers the filter', () => {
    expect(html.match(/<details class="sequence"/g)).toHaveLength(2);
    expect(html).not.toMatch(/<details class="sequence"[^>]*\bopen\b/);
    expect(html).toContain(`data-problems="${escapeHtml('["alpha"]')}"`);
    expect(html).toContain(`data-problems="${escapeHtml('["beta"]')}"`);
    for (const id of ['filter-model', 'filter-sequence', 'filter-problems']) expect(html).toContain(id);
  });

  it('charts the pass rate when there is no judge', () => {
    const suite = { ...SUITE, judge: undefined };
    const text = renderReport(
      storedJobOf('j3', suite, [scoredTurn('j3', 'alpha', 'greet', 1, 1, { checks: [passedCheck(true)] })]),
    );
    expect(text).toContain('No judge in this suite: the chart shows the check pass rate.');
    expect(text).toContain('This suite has no judge.');
    expect(text).toContain('100.0 %');
  });

  it('says so when a suite has no checks and no judge, and when nothing is recorded yet', () => {
    const plain = { ...SCORED_SUITE, judge: undefined };
    const text = renderReport(storedJobOf('j2', plain, [scoredTurn('j2', 'alpha', 'greet', 1, 1)]));
    expect(text).toContain('This suite has no checks and no judge: there are no scores to chart.');
    expect(text).toContain('This suite has no checks. This suite has no judge.');
    expect(text).not.toContain('<th>checks passed</th>');
    expect(text).not.toContain('<th>judge mean');
    expect(text).toContain('<th>est. cost</th>');
    const empty = renderReport(storedJobOf('j4', plain));
    expect(empty).toContain('0 of 12 turns recorded');
    expect(empty).toContain('no answers');
  });
});

describe('report pieces', () => {
  it('JSON for a script block round-trips and never closes the block', () => {
    const value = { a: '</script><!--<script>', b: '\u2028\u2029&' };
    const text = jsonForScript(value);
    expect(text).not.toMatch(/[<>&\u2028\u2029]/);
    expect(JSON.parse(text)).toEqual(value);
  });

  it('chart axes end on a round number with round ticks', () => {
    expect(niceAxis(23, String)).toMatchObject({ max: 25, ticks: [0, 5, 10, 15, 20, 25] });
    expect(niceAxis(4, String)).toMatchObject({ max: 4, ticks: [0, 1, 2, 3, 4] });
    expect(niceAxis(0, String)).toMatchObject({ max: 1 });
    expect(niceAxis(1234, String).max).toBe(1500);
  });
});
