import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { silentLogger } from '../src/log/logger.js';
import { renderReport } from '../src/report/html-report.js';
import { systemClock } from '../src/resilience/clock.js';
import { Engine } from '../src/runtime/engine.js';
import { createJob } from '../src/runtime/jobs.js';
import { openLmdbStore } from '../src/store/lmdb-store.js';
import { parseSuite } from '../src/suite/load.js';
import { tempDir } from './helpers/temp.js';

const CHROMIUM = '/usr/bin/chromium';
const ARTIFACTS = fileURLToPath(new URL('../test-artifacts/', import.meta.url));
/** Longest a Chromium run may take, in ms. */
const CHROMIUM_TIMEOUT_MS = 60_000;

const missing = !existsSync(CHROMIUM);
if (missing && process.env.CI)
  throw new Error(`${CHROMIUM} is missing: .ci/run installs Debian's chromium package`);
if (missing)
  console.warn(`report-chromium: skipped, ${CHROMIUM} is not installed (apt-get install chromium)`);

const SUITE = `name: reported
runs: 2
providers:
  sim: { type: simulated, latencyMs: 0 }
models:
  - { id: writer, provider: sim, model: sim-writer }
  - { id: critic, provider: sim, model: sim-judge }
judge: { model: critic }
sequences:
  - id: story
    expect: { maxLength: 400 }
    prompts:
      - prompt: Start a story.
        expect: { contains: lighthouse }
      - Continue it.
  - id: numbers
    prompts: ["Count to three."]
`;

/** Runs headless Chromium with `args`; resolves with its stdout and stderr. */
function chromium(args: readonly string[], profile: string): Promise<{ stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(CHROMIUM, [
      '--headless',
      '--no-sandbox',
      '--disable-gpu',
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
      `--user-data-dir=${profile}`,
      '--enable-logging=stderr',
      '--v=0',
      ...args,
    ]);
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => (stdout += chunk));
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
    const timer = setTimeout(() => child.kill('SIGKILL'), CHROMIUM_TIMEOUT_MS);
    child.on('error', reject);
    child.on('close', () => {
      clearTimeout(timer);
      resolve({ stdout, stderr });
    });
  });
}

describe.skipIf(missing)('the HTML report in real headless Chromium', () => {
  let dir: Awaited<ReturnType<typeof tempDir>>;
  let reportUrl: string;
  let expectedIds: string[];

  beforeAll(async () => {
    dir = await tempDir();
    const store = await openLmdbStore(join(dir.path, 'data'));
    const { suite } = await parseSuite(SUITE, 'reported.yaml', () => Promise.reject(new Error('none')));
    const job = await createJob(store, suite, 'reported.yaml');
    const engine = await Engine.start({ store, log: silentLogger(), clock: systemClock, env: {} });
    expect((await engine.runJob(job)).state).toBe('done');
    await engine.close();
    const turns = store.turnsOf(job.id);
    expect(turns.every((t) => t.judge?.status === 'ok')).toBe(true);
    expect(turns.filter((t) => t.sequence === 'story').every((t) => (t.checks?.length ?? 0) > 0)).toBe(true);
    const file = join(dir.path, 'report.html');
    await writeFile(file, renderReport(job, turns));
    reportUrl = pathToFileURL(file).href;
    expectedIds = [job.id, ...suite.models.map((m) => m.id), ...suite.sequences.map((s) => s.id)];
    await store.close();
  });
  afterAll(async () => dir?.cleanup());

  it('renders without console errors and shows every model and sequence; a screenshot is kept', async () => {
    const dom = await chromium(['--dump-dom', reportUrl], join(dir.path, 'profile-dom'));
    for (const id of expectedIds) expect(dom.stdout).toContain(id);
    expect(dom.stdout).toContain('<svg');
    // Console messages of the page are logged as CONSOLE lines; none may be an error.
    expect(
      dom.stderr.split('\n').filter((line) => /CONSOLE|Uncaught/.test(line) && /error/i.test(line)),
    ).toEqual([]);

    await mkdir(ARTIFACTS, { recursive: true });
    const screenshot = join(ARTIFACTS, 'report.png');
    await chromium(
      ['--window-size=1280,1600', `--screenshot=${screenshot}`, reportUrl],
      join(dir.path, 'profile-shot'),
    );
    expect(existsSync(screenshot)).toBe(true);
  });
});
