import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough, Writable } from 'node:stream';

import { afterEach, beforeEach, describe, expect, it } from 'vitest';

import { runResults } from '../src/cli/commands/results.js';
import { ExitCode, InputError } from '../src/errors.js';
import { formatTurns } from '../src/results/format.js';
import { openLmdbStore, StoreError } from '../src/store/lmdb-store.js';
import type { LmdbCheckpointStore } from '../src/store/lmdb-store.js';
import type { JobRecord, TurnRecord } from '../src/store/records.js';

const JOB = '20261126-2350-k3f9q2';
const MODELS = ['model-a', 'model-b'];
const SEQUENCES = ['seq-1', 'seq-2'];
const RUNS = 3;
const TURNS_PER_RUN = 4;

function jobRecord(id: string, minute: number): JobRecord {
  return {
    id,
    suite: {
      name: 'suite',
      runs: RUNS,
      providers: {},
      models: MODELS.map((model) => ({ id: model, provider: 'sim', model, maxTokens: 16 })),
    },
    sequences: { count: SEQUENCES.length, prompts: 4 * SEQUENCES.length, longest: 4, shortest: 4 },
    suitePath: '/suites/suite.yaml',
    state: 'running',
    createdAt: `2026-11-26T23:${String(minute).padStart(2, '0')}:00.000Z`,
    finishedAt: null,
  };
}

function turnsOfJob(job: string): TurnRecord[] {
  const turns: TurnRecord[] = [];
  for (const model of MODELS) {
    for (const sequence of SEQUENCES) {
      for (let run = 1; run <= RUNS; run++) {
        for (let turn = 1; turn <= TURNS_PER_RUN; turn++) {
          turns.push({
            job,
            model,
            sequence,
            run,
            turn,
            prompt: `prompt ${turn}`,
            response: `answer of ${model}, "${sequence}"\nrun ${run} turn ${turn}`,
            status: 'ok',
            error: null,
            usage: { inputTokens: turn * 10, outputTokens: turn },
            latencyMs: 100 + turn,
            attempts: 1,
            startedAt: '2026-11-26T23:50:00.000Z',
            finishedAt: '2026-11-26T23:50:01.000Z',
            requestHash: 'cd'.repeat(32),
          });
        }
      }
    }
  }
  return turns;
}

/** A sink that takes one small chunk at a time, slowly, so the writer must wait for 'drain'. */
function slowSink(): { stream: Writable; text: () => string } {
  const chunks: string[] = [];
  const stream = new Writable({
    highWaterMark: 64,
    write(chunk: Buffer, _encoding, callback) {
      chunks.push(chunk.toString('utf8'));
      setImmediate(callback);
    },
  });
  return { stream, text: () => chunks.join('') };
}

describe('troupe results', () => {
  let dataDir: string;
  let store: LmdbCheckpointStore;

  beforeEach(async () => {
    dataDir = await mkdtemp(join(tmpdir(), 'troupe-results-'));
    store = await openLmdbStore(dataDir);
    for (let i = 0; i < 7; i++)
      await store.putJob(jobRecord(`20261126-23${String(i).padStart(2, '0')}-aaaaaa`, i));
    await store.putSequences(
      JOB,
      SEQUENCES.map((sequence, index) => ({ id: sequence, prompts: ['a', 'b', 'c', 'd'], index })),
    );
    await store.putJob(jobRecord(JOB, 50));
    await store.putTurns(turnsOfJob(JOB));
  });

  afterEach(async () => {
    await store.close();
    await rm(dataDir, { recursive: true, force: true });
  });

  it('writes every turn in each format, waiting for a slow reader', async () => {
    const all = turnsOfJob(JOB);
    for (const format of ['jsonl', 'csv', 'table'] as const) {
      const sink = slowSink();
      await runResults({ job: JOB, dataDir, format }, sink.stream);
      expect(sink.text()).toBe(formatTurns(all, format));
    }
  });

  it('narrows to a model and a sequence', async () => {
    const sink = slowSink();
    await runResults(
      { job: JOB, dataDir, format: 'jsonl', model: 'model-b', sequence: 'seq-2' },
      sink.stream,
    );
    const lines = sink
      .text()
      .trim()
      .split('\n')
      .map((line) => JSON.parse(line) as TurnRecord);
    expect(lines).toHaveLength(RUNS * TURNS_PER_RUN);
    expect(lines.every((t) => t.model === 'model-b' && t.sequence === 'seq-2')).toBe(true);

    const bySequence = slowSink();
    await runResults({ job: JOB, dataDir, format: 'jsonl', sequence: 'seq-1' }, bySequence.stream);
    expect(bySequence.text().trim().split('\n')).toHaveLength(MODELS.length * RUNS * TURNS_PER_RUN);
  });

  it('sees turns committed after the previous call, while the writer keeps the store open', async () => {
    const late = 'late-job';
    await store.putJob(jobRecord(late, 59));
    const first = new PassThrough();
    await runResults({ job: late, dataDir, format: 'jsonl' }, first);
    expect(first.read()).toBeNull();
    await store.putTurns(turnsOfJob(late).slice(0, 5));
    const second = new PassThrough();
    await runResults({ job: late, dataDir, format: 'jsonl' }, second);
    expect(String(second.read()).trim().split('\n')).toHaveLength(5);
  });

  it('names the latest jobs when the job is unknown, and the suite ids for a wrong filter', async () => {
    const error: unknown = await runResults(
      { job: 'nope', dataDir, format: 'jsonl' },
      new PassThrough(),
    ).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(InputError);
    expect((error as InputError).exitCode).toBe(ExitCode.badInput);
    const message = (error as InputError).message;
    expect(message).toContain('"nope"');
    expect(message).toContain(dataDir);
    expect(message).toContain(
      `20261126-2303-aaaaaa, 20261126-2304-aaaaaa, 20261126-2305-aaaaaa, 20261126-2306-aaaaaa, ${JOB}`,
    );
    expect(message).not.toContain('20261126-2302-aaaaaa');

    await expect(
      runResults({ job: JOB, dataDir, format: 'csv', model: 'gpt-5' }, new PassThrough()),
    ).rejects.toThrow(/--model.*"gpt-5".*model-a, model-b/);
    await expect(
      runResults({ job: JOB, dataDir, format: 'csv', sequence: 'seq-9' }, new PassThrough()),
    ).rejects.toThrow(/--sequence.*"seq-9".*seq-1, seq-2/);
  });

  it('refuses a data directory without a store, creating nothing', async () => {
    const missing = join(dataDir, 'nothing-here');
    const error: unknown = await runResults(
      { job: JOB, dataDir: missing, format: 'jsonl' },
      new PassThrough(),
    ).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(StoreError);
    expect(error).toMatchObject({ code: 'troupe:store-missing', exitCode: ExitCode.badInput });
    await expect(import('node:fs/promises').then((fs) => fs.stat(missing))).rejects.toMatchObject({
      code: 'ENOENT',
    });
  });

  it('stops quietly when the reader of its output goes away', async () => {
    const closed = new Writable({
      highWaterMark: 16,
      write(_chunk, _encoding, callback) {
        callback(Object.assign(new Error('write EPIPE'), { code: 'EPIPE' }));
      },
    });
    closed.on('error', () => undefined);
    await expect(runResults({ job: JOB, dataDir, format: 'jsonl' }, closed)).resolves.toBeUndefined();
  });
});
