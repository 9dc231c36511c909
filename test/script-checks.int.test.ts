import { spawn } from 'node:child_process';
import { chmod, mkdir, readdir, readFile, stat, symlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { existsSync } from 'node:fs';
import { runChecks } from '../src/scoring/checks.js';
import { CLI_PATH, CLI_TIMEOUT_MS, runCli } from './helpers/cli.js';
import { DaemonProcess } from './helpers/daemon.js';
import { tempDir } from './helpers/temp.js';

const FIRST = "export default () => ({ pass: true, reason: 'the frozen script' });\n";
const EDITED = "export default () => ({ pass: false, reason: 'the edited script' });\n";

function suiteText(script: string, latencyMs = 0, extra = ''): string {
  return `name: scripted
runs: 2
providers:
  sim: { type: simulated, latencyMs: ${latencyMs} }
models:
  - { id: a, provider: sim, model: m }
sequences:
  - { id: s1, prompts: ["hello"], expect: { script: ${JSON.stringify(script)} } }
${extra}`;
}

describe('check scripts come only from the suite’s own directory tree', () => {
  let dir: Awaited<ReturnType<typeof tempDir>>;
  let suiteDir: string;
  let outside: string;

  beforeAll(async () => {
    dir = await tempDir();
    suiteDir = join(dir.path, 'suite');
    outside = join(dir.path, 'outside.mjs');
    await mkdir(join(suiteDir, 'checks'), { recursive: true });
    await writeFile(outside, FIRST);
    await writeFile(join(suiteDir, 'checks', 'inside.mjs'), FIRST);
    await symlink(outside, join(suiteDir, 'checks', 'link.mjs'));
    await writeFile(
      join(suiteDir, 'q.jsonl'),
      `${JSON.stringify({ id: 'q1', prompts: ['p'], expect: { script: '../outside.mjs' } })}\n`,
    );
  });
  afterAll(async () => dir.cleanup());

  const CASES = [
    {
      name: 'a relative path out of the tree',
      script: '../outside.mjs',
      field: 'sequences[0].expect.script',
    },
    { name: 'an absolute path', script: '<outside>', field: 'sequences[0].expect.script' },
    {
      name: 'a symbolic link out of the tree',
      script: './checks/link.mjs',
      field: 'sequences[0].expect.script',
    },
    {
      name: 'a sequences file line',
      script: './checks/inside.mjs',
      extra: 'sequencesFile: q.jsonl\n',
      field: 'q.jsonl:1: expect.script',
    },
  ];

  for (const testCase of CASES) {
    it(`refuses ${testCase.name}: exit 2 naming the field, nothing stored`, async () => {
      const script = testCase.script === '<outside>' ? outside : testCase.script;
      const suitePath = join(suiteDir, 'suite.yaml');
      await writeFile(suitePath, suiteText(script, 0, testCase.extra));
      const dataDir = join(dir.path, `data-${testCase.name.replace(/\W+/g, '-')}`);
      for (const args of [
        ['validate', suitePath],
        ['run', suitePath, '--workers', '0', '--data-dir', dataDir],
      ]) {
        const result = await runCli(args);
        expect(result.code, result.stderr).toBe(2);
        expect(result.stderr).toContain(testCase.field);
        expect(result.stderr).toContain("expected a JS module inside the suite's directory");
        expect(result.stderr).toContain('is outside it');
      }
      expect(existsSync(dataDir)).toBe(false);
    });
  }

  it('refuses one submitted to the daemon the same way', async () => {
    const suitePath = join(suiteDir, 'submitted.yaml');
    await writeFile(suitePath, suiteText('../outside.mjs'));
    const dataDir = join(dir.path, 'daemon-data');
    const daemon = await DaemonProcess.start(dataDir, {}, ['--workers', '0']);
    try {
      const submit = await runCli(['submit', suitePath, '--data-dir', dataDir]);
      expect(submit.code).toBe(2);
      expect(submit.stderr).toContain('sequences[0].expect.script');
      expect(submit.stderr).toContain('is outside it');
      expect((await runCli(['jobs', '--data-dir', dataDir])).stdout).toContain('no jobs yet');
    } finally {
      await daemon.terminate();
    }
  });
});

describe('a job runs the check scripts frozen when it was created', () => {
  let dir: Awaited<ReturnType<typeof tempDir>>;

  beforeAll(async () => {
    dir = await tempDir();
  });
  afterAll(async () => dir.cleanup());

  it('an edit of the script after the job was created changes nothing it runs', async () => {
    const scriptPath = join(dir.path, 'check.mjs');
    const suitePath = join(dir.path, 'suite.yaml');
    const dataDir = join(dir.path, 'data');
    await writeFile(scriptPath, FIRST);
    // Answers take 5 s: the run is interrupted (Ctrl-C, no grace) as soon as the job exists, long
    // before one is answered. (Had one been, it too ran the frozen script: the test holds either way.)
    await writeFile(suitePath, suiteText('./check.mjs', 5_000));
    const job = await createThenInterrupt([
      'run',
      suitePath,
      '--workers',
      '0',
      '--grace-ms',
      '0',
      '--data-dir',
      dataDir,
    ]);

    const frozenDir = join(dataDir, 'scripts');
    expect((await stat(frozenDir)).mode & 0o777).toBe(0o700);
    const [copy, ...others] = await readdir(frozenDir);
    expect(others).toEqual([]);
    expect(copy).toMatch(/^[0-9a-f]{64}\.mjs$/);
    expect(await readFile(join(frozenDir, copy ?? ''), 'utf8')).toBe(FIRST);
    expect((await stat(join(frozenDir, copy ?? ''))).mode & 0o777).toBe(0o400);

    // The suite's file is edited; the job goes on with what was frozen. Its latency is frozen too,
    // so the suite file (not the job) gets the quick one, to show the job never reads it again.
    await writeFile(scriptPath, EDITED);
    await writeFile(suitePath, suiteText('./check.mjs', 0));
    const resumed = await runCli(['run', '--resume', job, '--workers', '0', '--data-dir', dataDir]);
    expect(resumed.stderr).toBe('');
    const lines = (await runCli(['results', job, '--data-dir', dataDir])).stdout.trim().split('\n');
    const reasons = lines.map(
      (line) => (JSON.parse(line) as { checks: { reason: string }[] }).checks[0]?.reason,
    );
    expect(reasons).toEqual(['the frozen script', 'the frozen script']);
  });

  it('a frozen copy whose contents changed is not run', async () => {
    const copy = join(dir.path, 'tampered.mjs');
    await writeFile(copy, EDITED);
    await chmod(copy, 0o400);
    const [result] = await runChecks(
      [{ kind: 'script', path: copy, sha256: '0'.repeat(64) }],
      'an answer',
      [],
    );
    expect(result).toMatchObject({ kind: 'script', passed: null });
    expect(result?.reason).toContain('is not the script frozen with the job');
  });
});

/**
 * Starts `troupe <args>` (a run), waits for its first line (the job was created), sends SIGINT
 * (Ctrl-C), and resolves with the job's id once the process has exited.
 */
function createThenInterrupt(args: readonly string[]): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [CLI_PATH, ...args], {
      env: { PATH: process.env.PATH ?? '' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    let job: string | undefined;
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => {
      out += chunk;
      const found = /^job (\S+):/m.exec(out)?.[1];
      if (job === undefined && found !== undefined) {
        job = found;
        child.kill('SIGINT');
      }
    });
    const timer = setTimeout(() => child.kill('SIGKILL'), CLI_TIMEOUT_MS);
    child.on('error', reject);
    child.on('close', () => {
      clearTimeout(timer);
      if (job === undefined) reject(new Error(`no job line in: ${out}`));
      else resolve(job);
    });
  });
}
