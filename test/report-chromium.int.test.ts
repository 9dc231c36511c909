/**
 * The HTML report of a real job, opened in real headless Chromium. Chromium is driven through the
 * DevTools protocol over `--remote-debugging-pipe` (JSON messages on file descriptors 3 and 4,
 * NUL-terminated): Node 20 has no WebSocket client without a flag, and the pipe needs no port.
 */
import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Readable, Writable } from 'node:stream';
import { fileURLToPath, pathToFileURL } from 'node:url';
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
/** Longest a DevTools command (navigation included) may take, in ms. */
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

interface DevToolsEvent {
  readonly method: string;
  readonly params: Record<string, unknown>;
  readonly sessionId?: string;
}

/** A DevTools protocol client over Chromium's debugging pipe. */
class DevTools {
  private nextId = 1;
  private buffer = '';
  private readonly pending = new Map<number, { resolve: (v: unknown) => void; reject: (e: Error) => void }>();
  readonly events: DevToolsEvent[] = [];
  private readonly waiters: { method: string; resolve: () => void }[] = [];

  constructor(
    private readonly child: ChildProcess,
    private readonly input: Writable,
    output: Readable,
  ) {
    output.setEncoding('utf8');
    output.on('data', (chunk: string) => {
      this.buffer += chunk;
      let end: number;
      while ((end = this.buffer.indexOf('\0')) >= 0) {
        this.receive(JSON.parse(this.buffer.slice(0, end)) as Record<string, unknown>);
        this.buffer = this.buffer.slice(end + 1);
      }
    });
    child.on('exit', () => {
      for (const { reject } of this.pending.values()) reject(new Error('chromium exited'));
      this.pending.clear();
    });
  }

  private receive(message: Record<string, unknown>): void {
    if (typeof message.id === 'number') {
      const waiting = this.pending.get(message.id);
      this.pending.delete(message.id);
      const error = message.error as { message: string } | undefined;
      if (error) waiting?.reject(new Error(`DevTools: ${error.message}`));
      else waiting?.resolve(message.result);
      return;
    }
    const event = message as unknown as DevToolsEvent;
    this.events.push(event);
    for (const waiter of this.waiters.filter((w) => w.method === event.method)) {
      this.waiters.splice(this.waiters.indexOf(waiter), 1);
      waiter.resolve();
    }
  }

  send<T = Record<string, unknown>>(method: string, params: object = {}, sessionId?: string): Promise<T> {
    const id = this.nextId++;
    return new Promise<T>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`DevTools: ${method} timed out`)), COMMAND_TIMEOUT_MS);
      this.pending.set(id, {
        resolve: (value) => {
          clearTimeout(timer);
          resolve(value as T);
        },
        reject: (error) => {
          clearTimeout(timer);
          reject(error);
        },
      });
      this.input.write(`${JSON.stringify({ id, method, params, ...(sessionId && { sessionId }) })}\0`);
    });
  }

  /** Resolves at the next event named `method`. */
  next(method: string): Promise<void> {
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`DevTools: no ${method}`)), COMMAND_TIMEOUT_MS);
      this.waiters.push({
        method,
        resolve: () => {
          clearTimeout(timer);
          resolve();
        },
      });
    });
  }

  async close(): Promise<void> {
    if (this.child.exitCode !== null || this.child.signalCode !== null) return;
    const exited = new Promise((resolve) => this.child.once('exit', resolve));
    await this.send('Browser.close').catch(() => this.child.kill('SIGKILL'));
    await exited;
  }
}

/** Starts headless Chromium with a fresh profile and attaches to a blank page. */
async function launch(
  profile: string,
): Promise<{ devtools: DevTools; session: string; stderr: () => string }> {
  const child = spawn(
    CHROMIUM,
    [
      '--headless',
      '--no-sandbox',
      '--disable-gpu',
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
      `--user-data-dir=${profile}`,
      '--remote-debugging-pipe',
      'about:blank',
    ],
    { stdio: ['ignore', 'ignore', 'pipe', 'pipe', 'pipe'] },
  );
  let stderr = '';
  child.stderr?.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
  const devtools = new DevTools(child, child.stdio[3] as Writable, child.stdio[4] as Readable);
  const { targetId } = await devtools.send<{ targetId: string }>('Target.createTarget', {
    url: 'about:blank',
  });
  const { sessionId } = await devtools.send<{ sessionId: string }>('Target.attachToTarget', {
    targetId,
    flatten: true,
  });
  return { devtools, session: sessionId, stderr: () => stderr };
}

describe.skipIf(missing)('the HTML report in real headless Chromium', () => {
  let dir: Awaited<ReturnType<typeof tempDir>>;
  let reportUrl: string;
  let job: JobRecord;

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
      await writeFile(file, renderReport(job, store.turnsOf(job.id)));
      reportUrl = pathToFileURL(file).href;
    } finally {
      await store.close();
    }
  });
  afterAll(async () => dir?.cleanup());

  it('renders without console errors, fetches nothing, runs no injected script, shows every model and sequence', async () => {
    const { devtools, session, stderr } = await launch(join(dir.path, 'profile'));
    try {
      for (const domain of ['Page', 'Runtime', 'Log', 'Network'])
        await devtools.send(`${domain}.enable`, {}, session);
      await devtools.send(
        'Emulation.setDeviceMetricsOverride',
        { width: VIEWPORT_WIDTH_PX, height: VIEWPORT_HEIGHT_PX, deviceScaleFactor: 1, mobile: false },
        session,
      );
      const loaded = devtools.next('Page.loadEventFired');
      await devtools.send('Page.navigate', { url: reportUrl }, session);
      await loaded;
      const evaluate = async <T>(expression: string): Promise<T> => {
        const { result, exceptionDetails } = await devtools.send<{
          result: { value: T };
          exceptionDetails?: unknown;
        }>('Runtime.evaluate', { expression, returnByValue: true }, session);
        expect(exceptionDetails).toBeUndefined();
        return result.value;
      };

      const text = await evaluate<string>('document.body.innerText');
      const ids = [job.id, ...job.suite.models.map((m) => m.id), ...job.suite.sequences.map((s) => s.id)];
      for (const id of ids) expect(text).toContain(id);
      expect(await evaluate<number>('document.querySelectorAll("svg.chart").length')).toBe(2);

      // The nasty answer is text on the page, not markup: no image, title untouched, no dialog.
      await evaluate('document.querySelectorAll("details.sequence").forEach((d) => (d.open = true))');
      expect(await evaluate<string>('document.body.innerText')).toContain(NASTY);
      expect(await evaluate<number>('document.querySelectorAll("img").length')).toBe(0);
      expect(await evaluate<number>('document.scripts.length')).toBe(2);
      expect(await evaluate<string>('document.title')).not.toContain('pwned');
      expect(devtools.events.filter((e) => e.method === 'Page.javascriptDialogOpening')).toEqual([]);

      // The filter shows one model's columns, then one sequence.
      const filter = (id: string, value: string) =>
        evaluate(
          `(() => { const s = document.getElementById(${JSON.stringify(id)}); s.value = ${JSON.stringify(value)}; s.dispatchEvent(new Event('change')); })()`,
        );
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

      const { cssContentSize } = await devtools.send<{ cssContentSize: { width: number; height: number } }>(
        'Page.getLayoutMetrics',
        {},
        session,
      );
      const { data } = await devtools.send<{ data: string }>(
        'Page.captureScreenshot',
        {
          format: 'png',
          captureBeyondViewport: true,
          clip: { x: 0, y: 0, width: cssContentSize.width, height: cssContentSize.height, scale: 1 },
        },
        session,
      );
      await mkdir(ARTIFACTS, { recursive: true });
      await writeFile(join(ARTIFACTS, 'report.png'), Buffer.from(data, 'base64'));

      const errors = devtools.events.flatMap((event) => {
        const p = event.params as {
          type?: string;
          entry?: { level?: string; text?: string };
          exceptionDetails?: { text?: string };
          args?: { value?: unknown }[];
        };
        if (event.method === 'Runtime.exceptionThrown') return [`exception: ${p.exceptionDetails?.text}`];
        if (event.method === 'Runtime.consoleAPICalled' && (p.type === 'error' || p.type === 'assert'))
          return [`console.${p.type}: ${JSON.stringify(p.args?.map((a) => a.value))}`];
        if (event.method === 'Log.entryAdded' && p.entry?.level === 'error') return [`log: ${p.entry.text}`];
        return [];
      });
      expect(errors, stderr()).toEqual([]);
      const requested = devtools.events
        .filter((e) => e.method === 'Network.requestWillBeSent')
        .map((e) => (e.params as { request: { url: string } }).request.url);
      expect(requested.filter((url) => url !== reportUrl)).toEqual([]);
    } finally {
      await devtools.close();
    }
  });
});
