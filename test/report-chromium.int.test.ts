/**
 * The HTML report of a real job, opened in real headless Chromium (Debian's), driven by
 * puppeteer-core over a pipe: no port, no browser download.
 */
import { existsSync } from 'node:fs';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import puppeteer from 'puppeteer-core';
import type { Browser } from 'puppeteer-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { silentLogger } from '../src/log/logger.js';
import { renderReport } from '../src/report/html-report.js';
import { systemClock } from '../src/resilience/clock.js';
import { Engine } from '../src/runtime/engine.js';
import { createJob } from '../src/runtime/jobs.js';
import { openLmdbStore } from '../src/store/lmdb-store.js';
import type { JobRecord, TurnRecord } from '../src/store/records.js';
import { parseSuite } from '../src/suite/load.js';
import { tempDir } from './helpers/temp.js';

const CHROMIUM = '/usr/bin/chromium';
const ARTIFACTS = fileURLToPath(new URL('../test-artifacts/', import.meta.url));
/** Longest a browser command (navigation included) may take, in ms. */
const COMMAND_TIMEOUT_MS = 30_000;
/** Width of the page for the screenshot, in px. */
const VIEWPORT_WIDTH_PX = 1400;
const VIEWPORT_HEIGHT_PX = 900;

const missing = !existsSync(CHROMIUM);
if (missing && process.env.CI) {
  throw new Error(`${CHROMIUM} is missing: .ci/run installs Debian's chromium package`);
}
if (missing) {
  console.warn(`report-chromium: skipped, ${CHROMIUM} is not installed (apt-get install chromium)`);
}

/** An answer that would run script if the report did not escape it. */
const NASTY = '</script><img src=x onerror="document.title=\'pwned\'"><script>alert(1)</script>';

const SUITE = `name: reported
runs: 2
providers:
  sim: { type: simulated, latencyMs: 0 }
models:
  - { id: writer, provider: sim, model: sim-writer, pricePerMillionTokens: { input: 1, output: 4 } }
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

describe.skipIf(missing)('the HTML report in real headless Chromium', () => {
  let dir: Awaited<ReturnType<typeof tempDir>>;
  let reportUrl: string;
  let job: JobRecord;
  let sequenceIds: string[] = [];

  beforeAll(async () => {
    dir = await tempDir();
    const store = await openLmdbStore(join(dir.path, 'data'));
    try {
      const { suite } = await parseSuite(SUITE, 'reported.yaml', () => Promise.reject(new Error('none')));
      job = await createJob(store, suite, 'reported.yaml');
      const engine = await Engine.start({ store, log: silentLogger(), clock: systemClock, env: {} });
      expect((await engine.runJob(job)).state).toBe('done');
      await engine.close();
      const turns = store.turnsOf(job.id);
      expect(turns.every((t) => t.judge?.status === 'ok')).toBe(true);
      expect(turns.filter((t) => t.sequence === 'story').every((t) => (t.checks?.length ?? 0) > 0)).toBe(
        true,
      );
      // One answer carries markup and script, as an untrusted model may write; one turn failed.
      const first = turns[0] as TurnRecord;
      const second = turns[1] as TurnRecord;
      await store.putTurns([
        { ...first, response: NASTY },
        {
          ...second,
          status: 'failed',
          response: null,
          error: { code: 'troupe:client-error', message: 'HTTP 400: <b>bad</b>' },
        },
      ]);
      const file = join(dir.path, 'report.html');
      await writeFile(file, renderReport({ job, sequences: suite.sequences, turns: store.turnsOf(job.id) }));
      sequenceIds = suite.sequences.map((s) => s.id);
      reportUrl = pathToFileURL(file).href;
    } finally {
      await store.close();
    }
  });
  afterAll(async () => dir?.cleanup());

  it('renders without console errors, fetches nothing, runs no injected script, shows every model and sequence', async () => {
    const browser: Browser = await puppeteer.launch({
      executablePath: CHROMIUM,
      headless: true,
      pipe: true,
      userDataDir: join(dir.path, 'profile'),
      protocolTimeout: COMMAND_TIMEOUT_MS,
      args: [
        '--no-sandbox',
        '--disable-gpu',
        '--disable-quic',
        '--disable-background-networking',
        '--disable-component-update',
        '--disable-sync',
      ],
    });
    try {
      const page = await browser.newPage();
      page.setDefaultTimeout(COMMAND_TIMEOUT_MS);
      await page.setViewport({ width: VIEWPORT_WIDTH_PX, height: VIEWPORT_HEIGHT_PX });
      const errors: string[] = [];
      const dialogs: string[] = [];
      const requested: string[] = [];
      page.on('pageerror', (error) => errors.push(`exception: ${String(error)}`));
      // Console messages include the browser's own (a blocked resource, a CSP violation).
      page.on('console', (message) => {
        if (message.type() === 'error' || message.type() === 'assert') {
          errors.push(`console.${message.type()}: ${message.text()}`);
        }
      });
      page.on('dialog', (dialog) => {
        dialogs.push(dialog.message());
        void dialog.dismiss();
      });
      page.on('request', (request) => requested.push(request.url()));

      await page.goto(reportUrl, { waitUntil: 'load' });
      // Expressions, not functions: the tests are type-checked without the DOM's types.
      const evaluate = <T>(expression: string): Promise<T> => page.evaluate(expression) as Promise<T>;

      const text = await evaluate<string>('document.body.innerText');
      const ids = [job.id, ...job.suite.models.map((m) => m.id), ...sequenceIds];
      for (const id of ids) expect(text).toContain(id);
      expect(await evaluate<number>('document.querySelectorAll("svg.chart").length')).toBe(2);

      // The nasty answer is text on the page, not markup: no image, title untouched, no dialog.
      await evaluate('document.querySelectorAll("details.sequence").forEach((d) => (d.open = true))');
      expect(await evaluate<string>('document.body.innerText')).toContain(NASTY);
      expect(await evaluate<number>('document.querySelectorAll("img").length')).toBe(0);
      expect(await evaluate<number>('document.scripts.length')).toBe(2);
      expect(await page.title()).not.toContain('pwned');
      expect(dialogs).toEqual([]);

      // The filter shows one model's columns, then one sequence.
      const filter = async (id: string, value: string): Promise<void> => {
        await page.select(`#${id}`, value);
      };
      expect(await evaluate<boolean>('document.getElementById("filters").hidden')).toBe(false);
      await filter('filter-model', 'critic');
      const visibleModels = await evaluate<string[]>(
        '[...new Set([...document.querySelectorAll(".conversation td[data-model]")].filter((e) => e.offsetParent !== null).map((e) => e.dataset.model))]',
      );
      expect(visibleModels).toEqual(['critic']);
      await filter('filter-model', '');
      await filter('filter-sequence', 'numbers');
      expect(
        await evaluate<string[]>(
          '[...document.querySelectorAll("details.sequence")].filter((e) => !e.hidden).map((e) => e.dataset.sequence)',
        ),
      ).toEqual(['numbers']);
      await filter('filter-sequence', '');

      await mkdir(ARTIFACTS, { recursive: true });
      await page.screenshot({ path: join(ARTIFACTS, 'report.png'), fullPage: true });

      expect(errors).toEqual([]);
      expect(requested.filter((url) => url !== reportUrl)).toEqual([]);
    } finally {
      await browser.close();
    }
  });
});
