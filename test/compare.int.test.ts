/**
 * troupe compare on two real jobs, run by the CLI on the simulated provider: one model planted
 * worse (its answers stop containing what its checks ask for), one that does not change.
 */
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import type { Comparison } from '../src/report/compare.js';
import { runCli } from './helpers/cli.js';
import { tempDir } from './helpers/temp.js';

const SEQUENCES = 8;
const PROMPTS = 2;
const RUNS = 2;

/**
 * A suite whose model `m` is the provider's `name`; every answer is checked for "alpha" (a
 * simulated answer names its model).
 */
function suiteText(name: string): string {
  const sequences = Array.from(
    { length: SEQUENCES },
    (_, s) =>
      `  - { id: s${s + 1}, prompts: ["First question ${s + 1}?", "Second question ${s + 1}?"], expect: { contains: alpha } }`,
  );
  return `name: planted
runs: ${RUNS}
providers:
  sim: { type: simulated, latencyMs: 0 }
models:
  - { id: m, provider: sim, model: ${name} }
  - { id: steady, provider: sim, model: alpha-steady }
sequences:
${sequences.join('\n')}
`;
}

describe('troupe compare on stored jobs', () => {
  let dir: Awaited<ReturnType<typeof tempDir>> | undefined;
  afterEach(async () => dir?.cleanup());

  it('finds the planted difference, exactly as McNemar says, and none in the model that did not change', async () => {
    dir = await tempDir('troupe-compare-');
    const dataDir = join(dir.path, 'store');
    const run = async (name: string): Promise<string> => {
      const path = join(dir!.path, `${name}.yaml`);
      await writeFile(path, suiteText(name));
      const result = await runCli(['run', path, '--workers', '0', '--data-dir', dataDir]);
      return /^job (\S+):/m.exec(result.stdout)?.[1] ?? '';
    };
    const before = await run('alpha');
    const after = await run('beta');

    const json = await runCli(['compare', before, after, '--format', 'json', '--data-dir', dataDir]);
    expect(json.stderr).toBe('');
    expect(json.code).toBe(0);
    const comparison = JSON.parse(json.stdout) as Comparison;
    const model = (id: string) => comparison.models.find((m) => m.model === id);
    const pairs = SEQUENCES * PROMPTS * RUNS;
    // Every check of m passed before and fails after: all 32 pairs discordant one way. McNemar's
    // exact p = 2 · ½³², the only test made (nothing else moved), so the correction is × 1.
    expect(model('m')?.passRate.test).toMatchObject({
      method: 'mcnemar-exact',
      pairs,
      comparisons: 1,
      verdict: 'worse',
    });
    expect(model('m')?.passRate.test?.adjustedPValue).toBeCloseTo(2 * 0.5 ** pairs, 20);
    expect(model('m')?.passRate.test?.effect).toBe(-1);
    expect(model('m')?.verdict).toBe('worse');
    // steady answered alike in both jobs: nothing to test, no difference claimed.
    expect(model('steady')?.passRate).toMatchObject({ before: 1, after: 1, test: null });
    expect(model('steady')?.verdict).not.toMatch(/better|worse/);

    const table = await runCli(['compare', before, after, '--data-dir', dataDir]);
    expect(table.stdout).toMatch(
      /^m\s+check pass rate\s+−100\.0 pts \[[^\]]+\]\s+< 0\.0001\s+McNemar exact, 32 pairs\s+worse$/m,
    );

    const out = join(dir.path, 'report.html');
    const report = await runCli([
      'report',
      after,
      '--compare-to',
      before,
      '--out',
      out,
      '--data-dir',
      dataDir,
    ]);
    expect(report.code).toBe(0);
    const html = await readFile(out, 'utf8');
    expect(html).toMatch(
      /<td>m<\/td><td>check pass rate<\/td><td>100\.0 % → 0\.0 %<\/td><td>−100\.0 pts \[[^\]]+\]<\/td><td>[\d.e-]+<\/td><td>McNemar exact, 32 pairs<\/td><td class="verdict-worse"><b>worse<\/b><\/td>/,
    );
  });
});
