/**
 * The report's inline stylesheet and script. The script only filters what the page already
 * shows; it reads the embedded job data and never builds markup from it (`textContent`,
 * `new Option`), so no answer can turn into code.
 */
import { createHash } from 'node:crypto';

/** Id of the `<script type="application/json">` block that holds the whole job. */
export const REPORT_DATA_ID = 'troupe-data';

/** The stylesheet. */
export const REPORT_STYLE = `
:root{--fg:#1d2330;--muted:#667085;--line:#dde1ea;--head:#f3f4f8;--bar:#4f6fd0;--tail:#b9c6ee;--bad:#b3261e;--good:#1f7a3a;--warn:#a05a00}
[hidden]{display:none!important}
body{font:14px/1.45 system-ui,sans-serif;margin:2rem;color:var(--fg);background:#fff}
h1{margin:0 0 .3rem}h2{margin-top:2rem;border-bottom:1px solid var(--line)}h3{margin:1.2rem 0 .3rem;font-size:15px}
code{font-size:12px}.muted,.note{color:var(--muted)}.facts{display:flex;flex-wrap:wrap;gap:.2rem 1.4rem;margin:.3rem 0}
table{border-collapse:collapse;margin:.5rem 0}th,td{border:1px solid var(--line);padding:.3rem .5rem;vertical-align:top;text-align:left}
thead th{background:var(--head)}.num{text-align:right;font-variant-numeric:tabular-nums}
.chart{display:block;max-width:100%;height:auto}.chart text{font-size:12px;fill:var(--fg)}.chart .label{text-anchor:end}
.chart .tick{text-anchor:middle;fill:var(--muted);font-size:11px}.chart .grid{stroke:var(--line)}
.chart .bar{fill:var(--bar)}.chart .tail{fill:var(--tail)}.chart .whisker{stroke:var(--fg);stroke-width:1.5;fill:none}
.legend{font-size:12px;color:var(--muted)}.swatch{display:inline-block;width:.8em;height:.8em;margin:0 .3em 0 .8em;vertical-align:-1px;background:var(--bar)}.swatch.tail{background:var(--tail)}
#filters{display:flex;flex-wrap:wrap;gap:.5rem 1rem;align-items:center;margin:.6rem 0;padding:.5rem .7rem;background:var(--head);border-radius:6px}
.sequence{margin:.35rem 0;border:1px solid var(--line);border-radius:6px;padding:.2rem .6rem}
.sequence>summary{cursor:pointer;padding:.2rem 0}.sequence .id{font-weight:600}.category{color:var(--muted);font-style:italic}
.badge{display:inline-block;margin-left:.5rem;padding:0 .45rem;border-radius:9px;background:var(--head);font-size:12px}.badge.bad{background:#fbe4e2;color:var(--bad)}
.scroll{overflow-x:auto}.conversation td{min-width:15rem;max-width:28rem}
.conversation th.prompt{min-width:12rem;max-width:20rem;font-weight:500;background:#fafbfd}.prompt .n{color:var(--muted);margin-right:.4rem}
.system{color:var(--muted);font-style:italic;margin:.3rem 0}
pre{white-space:pre-wrap;overflow-wrap:anywhere;margin:0;font:12px/1.4 ui-monospace,monospace}
.has-fail{box-shadow:inset 3px 0 0 var(--bad);background:#fff7f6}
.checks{margin:.35rem 0 0;padding-left:1rem;font-size:12px;list-style:none}
.pass{color:var(--good)}.fail{color:var(--bad);font-weight:600}.error{color:var(--warn)}
td.failed{color:var(--bad)}td.skipped,td.missing{color:var(--muted)}.status{font-weight:600}
.grade{font-size:12px;margin-top:.3rem}.grade summary{cursor:pointer;color:#344}.grade pre{margin-top:.2rem;color:#344}
.meta{font-size:11px;color:var(--muted);margin-top:.25rem}
`;

/** The filter: by model (columns and rows), by sequence, problems only; expand and collapse all. */
export const REPORT_SCRIPT = `
(function () {
  'use strict';
  var data = JSON.parse(document.getElementById('${REPORT_DATA_ID}').textContent);
  var byId = function (id) { return document.getElementById(id); };
  var model = byId('filter-model'), sequence = byId('filter-sequence'), problems = byId('filter-problems');
  var count = byId('filter-count');
  data.job.suite.models.forEach(function (m) { model.add(new Option(m.id, m.id)); });
  var sequences = Array.prototype.slice.call(document.querySelectorAll('details.sequence'));
  sequences.forEach(function (el) { var id = el.getAttribute('data-sequence'); sequence.add(new Option(id, id)); });
  var modelled = Array.prototype.slice.call(document.querySelectorAll('.conversation [data-model], #models tr[data-model]'));
  function apply() {
    var m = model.value, s = sequence.value, shown = 0;
    sequences.forEach(function (el) {
      var flagged = JSON.parse(el.getAttribute('data-problems') || '[]');
      var visible = (s === '' || el.getAttribute('data-sequence') === s) &&
        (!problems.checked || (m === '' ? flagged.length > 0 : flagged.indexOf(m) >= 0));
      el.hidden = !visible;
      if (visible) shown += 1;
    });
    modelled.forEach(function (el) { el.hidden = m !== '' && el.getAttribute('data-model') !== m; });
    count.textContent = shown + ' of ' + sequences.length + ' sequences shown';
  }
  function openAll(open) {
    sequences.forEach(function (el) { if (!el.hidden) el.open = open; });
  }
  model.addEventListener('change', apply);
  sequence.addEventListener('change', apply);
  problems.addEventListener('change', apply);
  byId('expand-all').addEventListener('click', function () { openAll(true); });
  byId('collapse-all').addEventListener('click', function () { openAll(false); });
  byId('filters').hidden = false;
  apply();
})();
`;

/**
 * The Content-Security-Policy of the page: nothing may be fetched, and only the report's own
 * script (by its hash) may run, so even markup that slipped through could neither load nor run.
 */
export function contentSecurityPolicy(): string {
  const hash = createHash('sha256').update(REPORT_SCRIPT).digest('base64');
  return [
    "default-src 'none'",
    "style-src 'unsafe-inline'",
    `script-src 'sha256-${hash}'`,
    'img-src data:',
    "base-uri 'none'",
    "form-action 'none'",
  ].join('; ');
}
