import { describe, expect, it } from 'vitest';
import { escapeHtml, renderReport } from '../src/report/html-report.js';
import { grade, jobOf, passedCheck, scoredTurn } from './helpers/records.js';

const NASTY = '</pre></script><img src=x onerror=alert(1)>&"\'';

function turns() {
  return [
    scoredTurn('j1', 'alpha', 'greet', 1, 1, {
      response: NASTY,
      checks: [passedCheck(false, 'missing "hi"')],
      judge: grade(7),
    }),
    scoredTurn('j1', 'alpha', 'greet', 1, 2, { checks: [passedCheck(true)], judge: grade(9) }),
    scoredTurn('j1', 'beta', 'count', 2, 1, { status: 'failed' }),
  ];
}

describe('the HTML report', () => {
  const html = renderReport(jobOf('j1'), turns());

  it('shows every model and sequence of the job', () => {
    for (const id of ['alpha', 'beta', 'greet', 'count', 'j1']) expect(html).toContain(id);
  });

  it('escapes answers: no markup from a model reaches the page', () => {
    expect(html).not.toContain('<img src=x');
    expect(html).not.toContain('</script><img');
    expect(html).toContain(escapeHtml(NASTY));
  });

  it('is self-contained: no script, stylesheet, image or font from anywhere', () => {
    expect(html).not.toMatch(/(src|href)\s*=\s*["']?(https?:)?\/\//i);
    expect(html).not.toMatch(/@import|url\(/i);
    expect(html).not.toContain('<script');
  });

  it('highlights failed checks with their reasons, failed turns with their error, and the grades', () => {
    expect(html).toContain('<li class="fail">contains: missing &quot;hi&quot;</li>');
    expect(html).toContain('failed: HTTP 401: bad key');
    expect(html).toContain('judge: 7');
    // alpha's mean over its one graded sequence (7 and 9 → 8), and its estimated cost (2 turns).
    expect(html).toMatch(/<th>alpha<\/th>.*<td>8\.00<\/td>/s);
    expect(html).toContain('$0.0000');
  });

  it('says so when a suite has no checks and no judge', () => {
    const plain = { ...jobOf('j2').suite, judge: undefined };
    const text = renderReport({ ...jobOf('j2'), suite: plain }, [scoredTurn('j2', 'alpha', 'greet', 1, 1)]);
    expect(text).toContain('no checks and no judge');
  });
});
