/**
 * plan and run --reuse on a sequences file of 100 000 lines: the real CLI in a child with a heap
 * smaller than the suite and the copied turns would need held, against a real store whose earlier
 * job answered every one of those sequences, and the simulator on loopback counting what is sent.
 */
import { createWriteStream } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { once } from 'node:events';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { JobForecast } from '../src/planning/forecast-types.js';
import { createJob } from '../src/runtime/jobs.js';
import { startSimulator, type Simulator } from '../src/simulator/server.js';
import { openLmdbStore } from '../src/store/lmdb-store.js';
import type { TurnRecord } from '../src/store/records.js';
import { openSuite } from '../src/suite/load.js';
import { TEST_KEY, TEST_KEY_ENV } from './helpers/job.js';
import { measuredCli } from './helpers/measured-cli.js';
import { tempDir } from './helpers/temp.js';

/** Lines of the sequences file, each a sequence of two prompts. */
const SEQUENCES = 100_000;
const PROMPTS = 2;
/** Sequences the second suite adds in its own file. */
const NEW_SEQUENCES = 10;
/** The child's heap, in MB: the 200 000 stored answers alone are about 60 MB as records. */
const HEAP_MB = 64;
/** Peak resident memory of its own allowed to the child: Node itself, buffers, the heap. */
const PEAK_RSS_BYTES = 200 * 1024 * 1024;
/**
 * Longest a test or a CLI call here may take, in ms: on an idle machine plan takes seconds and
 * run --reuse about a minute (the engine walks 100 000 finished conversations); a machine shared
 * with other test files may be several times slower.
 */
const SLOW_MS = 600_000;
/** Turns written per transaction while the earlier job is made. */
const WRITE_BATCH = 5_000;

let sim: Simulator;
let dir: Awaited<ReturnType<typeof tempDir>>;
let dataDir: string;
let widerSuite: string;
let earlier: string;

function suiteText(extra: string): string {
  return `name: wide
providers:
  sim:
    type: openai
    baseURL: "${sim.openaiBaseURL}"
    apiKeyEnv: ${TEST_KEY_ENV}
models:
  - { id: m, provider: sim, model: wide-model, temperature: 0, maxTokens: 64, pricePerMillionTokens: { input: 1, output: 2 } }
${extra}sequencesFile: questions.jsonl
`;
}

/** The answered turns of the earlier job, for one page of its stored sequences. */
function answers(job: string, ids: readonly string[]): TurnRecord[] {
  return ids.flatMap((sequence) =>
    Array.from({ length: PROMPTS }, (_, i) => ({
      job,
      model: 'm',
      sequence,
      run: 1,
      turn: i + 1,
      prompt: `Question ${i + 1} about ${sequence}?`,
      response: `Answer ${i + 1} about ${sequence}.`,
      status: 'ok' as const,
      error: null,
      usage: { inputTokens: 20 * (i + 1), outputTokens: 8 },
      latencyMs: 40,
      attempts: 1,
      startedAt: '2026-12-01T00:00:00.000Z',
      finishedAt: '2026-12-01T00:00:01.000Z',
      requestHash: null,
    })),
  );
}

beforeAll(async () => {
  sim = await startSimulator({ port: 0, latencyMs: 0 });
  dir = await tempDir('troupe-plan-scale-');
  dataDir = join(dir.path, 'data');
  const lines = createWriteStream(join(dir.path, 'questions.jsonl'));
  for (let i = 0; i < SEQUENCES; i += 1) {
    const id = `q${String(i).padStart(6, '0')}`;
    const prompts = Array.from({ length: PROMPTS }, (_, p) => `Question ${p + 1} about ${id}?`);
    if (!lines.write(`${JSON.stringify({ id, prompts })}\n`)) await once(lines, 'drain');
  }
  lines.end();
  await once(lines, 'finish');
  const base = join(dir.path, 'base.yaml');
  await writeFile(base, suiteText(''));
  widerSuite = join(dir.path, 'wider.yaml');
  const added = Array.from(
    { length: NEW_SEQUENCES },
    (_, i) => `  - { id: new-${i + 1}, prompts: ["New question ${i + 1}?", "And its follow-up?"] }\n`,
  );
  await writeFile(widerSuite, suiteText(`sequences:\n${added.join('')}`));

  // The earlier job: every sequence of the file answered (written as a finished job would be).
  const store = await openLmdbStore(dataDir);
  try {
    const job = await createJob(store, await openSuite(base), base);
    earlier = job.id;
    let pending: TurnRecord[] = [];
    for (const page of store.sequencePages(job.id)) {
      pending.push(
        ...answers(
          job.id,
          page.map((s) => s.id),
        ),
      );
      if (pending.length >= WRITE_BATCH) {
        await store.putTurns(pending);
        pending = [];
      }
    }
    await store.putTurns(pending);
    await store.putJob({ ...job, state: 'done', finishedAt: '2026-12-01T00:10:00.000Z' });
  } finally {
    await store.close();
  }
}, SLOW_MS);

afterAll(async () => {
  await sim?.close();
  await dir?.cleanup();
});

describe('a suite of 100 000 sequences', () => {
  it(
    'plan reads it in batches: every turn counted, the reusable ones left out, in bounded memory',
    async () => {
      const plain = await measuredCli(['plan', widerSuite, '--format', 'json', '--data-dir', dataDir], {
        workDir: dir.path,
        heapMb: HEAP_MB,
        timeoutMs: SLOW_MS,
      });
      expect(plain.stderr).toBe('');
      expect(plain.code).toBe(0);
      const all = JSON.parse(plain.stdout) as JobForecast;
      expect(all).toMatchObject({ turns: (SEQUENCES + NEW_SEQUENCES) * PROMPTS, reusedTurns: 0 });
      // Answer lengths from the earlier job's sample.
      expect(all.models[0]).toMatchObject({ answerSource: 'history', answerTokens: 8, latencyMs: 40 });
      expect(plain.peakRssBytes).toBeLessThan(PEAK_RSS_BYTES);

      const reusing = await measuredCli(
        ['plan', widerSuite, '--reuse', earlier, '--format', 'json', '--data-dir', dataDir],
        { workDir: dir.path, heapMb: HEAP_MB, timeoutMs: SLOW_MS },
      );
      expect(reusing.stderr).toBe('');
      expect(reusing.code).toBe(0);
      expect(JSON.parse(reusing.stdout)).toMatchObject({
        turns: NEW_SEQUENCES * PROMPTS,
        reusedTurns: SEQUENCES * PROMPTS,
      });
      expect(reusing.peakRssBytes).toBeLessThan(PEAK_RSS_BYTES);
      expect(sim.records).toHaveLength(0);
    },
    SLOW_MS,
  );

  it(
    'run --reuse copies every answered turn and sends exactly the new sequences’ requests',
    async () => {
      const run = await measuredCli(
        ['run', widerSuite, '--reuse', earlier, '--workers', '0', '--data-dir', dataDir],
        { workDir: dir.path, heapMb: HEAP_MB, env: { [TEST_KEY_ENV]: TEST_KEY }, timeoutMs: SLOW_MS },
      );
      expect(run.stderr).toBe('');
      expect(run.code).toBe(0);
      expect(run.stdout).toContain(`reused ${SEQUENCES * PROMPTS} turns from ${earlier}`);
      expect(run.stdout).toMatch(/^forecast: 20 turns, /m);
      expect(run.stdout).toMatch(/^actual: {3}20 turns requested \+ 200 000 copied, /m);
      expect(sim.records).toHaveLength(NEW_SEQUENCES * PROMPTS);
      expect(new Set(sim.records.map((r) => r.messages.at(-1)?.content.split(' ')[0]))).toEqual(
        new Set(['New', 'And']),
      );
      expect(run.peakRssBytes).toBeLessThan(PEAK_RSS_BYTES);

      const id = /^job (\S+):/m.exec(run.stdout)?.[1] ?? '';
      const store = await openLmdbStore(dataDir, { readOnly: true });
      try {
        let copied = 0;
        let requested = 0;
        for (const page of store.turnPages(id)) {
          for (const turn of page) {
            if (turn.reusedFrom === earlier) copied += 1;
            else requested += 1;
          }
        }
        expect({ copied, requested }).toEqual({
          copied: SEQUENCES * PROMPTS,
          requested: NEW_SEQUENCES * PROMPTS,
        });
        expect(store.getJob(id)).toMatchObject({
          state: 'done',
          forecast: { turns: NEW_SEQUENCES * PROMPTS },
        });
      } finally {
        await store.close();
      }
    },
    SLOW_MS,
  );
});
