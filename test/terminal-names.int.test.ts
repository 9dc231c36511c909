import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli } from './helpers/cli.js';
import { DaemonProcess } from './helpers/daemon.js';
import { tempDir } from './helpers/temp.js';

/** A suite name that sets the terminal's title, turns it red, clears it with a C1 CSI, and reverses the line. */
const EVIL_NAME = 'evil\u001b]0;owned\u0007\u001b[31mred\u009b2J\u202eright';

/** The provider's model name (free text, unlike ids) with a screen clear and a C1 colour. */
const EVIL_MODEL = 'm\u001b[2J\u009b31m';

/** What no output may carry raw: C0 controls but the line break, DEL, C1 controls, bidi overrides. */
const UNSAFE = /[^\P{Cc}\n]|[\u202a-\u202e\u2066-\u2069]/u;

const SUITE = {
  name: EVIL_NAME,
  providers: { sim: { type: 'simulated', latencyMs: 0 } },
  models: [{ id: 'a', provider: 'sim', model: EVIL_MODEL }],
  sequences: [{ id: 's1', prompts: ['one', 'two'] }],
};

describe('every name printed on a terminal goes through the sanitiser', () => {
  let dir: Awaited<ReturnType<typeof tempDir>>;
  let suitePath: string;
  let runDir: string;

  beforeAll(async () => {
    dir = await tempDir();
    suitePath = join(dir.path, 'suite.json');
    runDir = join(dir.path, 'run-data');
    await writeFile(suitePath, JSON.stringify(SUITE));
  });
  afterAll(async () => dir.cleanup());

  /** Runs `troupe <args>`, expects exit 0 and output free of raw escapes; returns stdout. */
  async function safely(args: readonly string[]): Promise<string> {
    const result = await runCli(args);
    expect(result.code, `${args.join(' ')}: ${result.stderr}`).toBe(0);
    expect(result.stdout, args.join(' ')).not.toMatch(UNSAFE);
    expect(result.stderr, args.join(' ')).not.toMatch(UNSAFE);
    return result.stdout;
  }

  it('in validate, run, plan, results and compare', async () => {
    const validated = await safely(['validate', suitePath]);
    expect(validated).toContain('suite evil\ufffd]0;owned\ufffd\ufffd[31mred\ufffd2J\ufffdright');
    expect(validated).toContain('m\ufffd[2J\ufffd31m');

    const first = await safely(['run', suitePath, '--workers', '0', '--data-dir', runDir]);
    expect(first).toContain(': evil\ufffd]0;owned');
    const second = await safely(['run', suitePath, '--workers', '0', '--data-dir', runDir]);
    const [jobA, jobB] = [first, second].map((out) => /^job (\S+):/.exec(out)?.[1] ?? '');

    await safely(['plan', suitePath, '--data-dir', runDir]);
    const plan = await safely(['plan', suitePath, '--data-dir', runDir, '--format', 'json']);
    expect(() => JSON.parse(plan) as unknown).not.toThrow();

    await safely(['results', jobA ?? '', '--data-dir', runDir]);
    await safely(['results', jobA ?? '', '--data-dir', runDir, '--format', 'table']);
    await safely(['compare', jobA ?? '', jobB ?? '', '--data-dir', runDir]);
    await safely(['compare', jobA ?? '', jobB ?? '', '--data-dir', runDir, '--format', 'json']);
  });

  it('in submit, jobs and status of the daemon', async () => {
    const dataDir = join(dir.path, 'daemon-data');
    const daemon = await DaemonProcess.start(dataDir, {}, ['--workers', '0']);
    try {
      const job = (await safely(['submit', suitePath, '--data-dir', dataDir])).trim();
      await expect
        .poll(async () => (await runCli(['jobs', '--data-dir', dataDir])).stdout)
        .toMatch(new RegExp(`${job}\\s+evil\ufffd\\]0;owned.*\\s+done`));
      await safely(['jobs', '--data-dir', dataDir]);
      expect(await safely(['status', job, '--data-dir', dataDir])).toContain('suite evil\ufffd]0;owned');
      const status = JSON.parse(await safely(['status', job, '--data-dir', dataDir, '--json'])) as {
        jobs: { suite: string }[];
      };
      expect(status.jobs[0]?.suite).toBe(EVIL_NAME);
    } finally {
      await daemon.terminate();
    }
  });
});
