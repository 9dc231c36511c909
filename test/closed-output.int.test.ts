import { spawn } from 'node:child_process';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CLI_PATH, CLI_TIMEOUT_MS, runCli } from './helpers/cli.js';
import { tempDir } from './helpers/temp.js';

/**
 * 2 sequences × 6 prompts × 40 runs = 480 turns of 1 s each: the job takes at least 6 s, long
 * after its first progress line (1 s in), and its results are far more than a pipe's 64 KiB.
 */
const SUITE = `name: piped
runs: 40
providers:
  sim: { type: simulated, latencyMs: 1000 }
models:
  - { id: a, provider: sim, model: m }
sequences:
  - { id: s1, prompts: ["1", "2", "3", "4", "5", "6"] }
  - { id: s2, prompts: ["1", "2", "3", "4", "5", "6"] }
`;
const TURNS = 480;

/**
 * Runs `troupe <args>` with its stdout on a real pipe that this end closes after the first line,
 * as `| head -1` does; resolves with that line, the exit code and stderr.
 */
function runClosingAfterFirstLine(
  args: readonly string[],
): Promise<{ first: string; code: number | null; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [CLI_PATH, ...args], {
      env: { PATH: process.env.PATH ?? '' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    let first: string | undefined;
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => {
      out += chunk;
      const end = out.indexOf('\n');
      if (first === undefined && end >= 0) {
        first = out.slice(0, end);
        child.stdout.destroy();
      }
    });
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
    const timer = setTimeout(() => child.kill('SIGKILL'), CLI_TIMEOUT_MS);
    child.on('error', reject);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ first: first ?? '', code, stderr });
    });
  });
}

/** Every turn key of a job's JSON lines, in order. */
function turnKeys(jsonl: string): string[] {
  return jsonl
    .trim()
    .split('\n')
    .filter((line) => line !== '')
    .map((line) => {
      const turn = JSON.parse(line) as { model: string; sequence: string; run: number; turn: number };
      return `${turn.model}/${turn.sequence}/${turn.run}/${turn.turn}`;
    });
}

describe('a closed stdout ends the process quietly, exit 0, once the work is safe', () => {
  let dir: Awaited<ReturnType<typeof tempDir>>;
  let dataDir: string;
  let job: string;

  beforeAll(async () => {
    dir = await tempDir();
    dataDir = join(dir.path, 'data');
    await writeFile(join(dir.path, 'suite.yaml'), SUITE);
  });
  afterAll(async () => dir.cleanup());

  it('troupe run … | head -1: the job stops as at Ctrl-C, its committed turns resumable, no EPIPE', async () => {
    const run = await runClosingAfterFirstLine([
      'run',
      join(dir.path, 'suite.yaml'),
      '--workers',
      '0',
      '--data-dir',
      dataDir,
    ]);
    expect(run.stderr).toBe('');
    expect(run.code).toBe(0);
    job = /^job (\S+):/.exec(run.first)?.[1] ?? '';
    expect(job).not.toBe('');

    // Stopped, not finished: the job is still to be continued, and what was committed is intact.
    const stored = await runCli(['results', job, '--data-dir', dataDir]);
    expect(stored.code).toBe(0);
    const before = turnKeys(stored.stdout);
    expect(before.length).toBeLessThan(TURNS);
    expect(new Set(before).size).toBe(before.length);
    expect((await runCli(['verify', '--data-dir', dataDir])).code).toBe(0);

    const resumed = await runCli(['run', '--resume', job, '--workers', '0', '--data-dir', dataDir]);
    expect(resumed.stderr).toBe('');
    expect(resumed.code).toBe(0);
    const after = turnKeys((await runCli(['results', job, '--data-dir', dataDir])).stdout);
    expect(after).toHaveLength(TURNS);
    expect(new Set(after).size).toBe(TURNS);
  });

  it('troupe results … | head -1, in every format: exit 0, nothing on stderr', async () => {
    for (const format of ['jsonl', 'csv', 'table']) {
      const results = await runClosingAfterFirstLine([
        'results',
        job,
        '--data-dir',
        dataDir,
        '--format',
        format,
      ]);
      expect(results.stderr, format).toBe('');
      expect(results.code, format).toBe(0);
      expect(results.first, format).not.toBe('');
    }
  });
});
