import { describe, expect, it, vi } from 'vitest';
import { silentLogger } from '../src/log/logger.js';
import { systemClock } from '../src/resilience/clock.js';
import { createJob } from '../src/runtime/jobs.js';
import { WorkerCore } from '../src/runtime/worker-core.js';
import { parseSuite } from '../src/suite/load.js';
import { createInMemoryPair } from './helpers/in-memory-transport.js';
import { isFromWorker, isToWorker, sequenceKey } from '../src/transport/protocol.js';
import type { FromWorker, ToWorker } from '../src/transport/protocol.js';
import { useTempStore } from './helpers/temp.js';

const SUITE = `name: core
runs: 2
providers:
  sim: { type: simulated, latencyMs: 0 }
models:
  - { id: m, provider: sim, model: sim-model }
sequences:
  - { id: s, prompts: ["first", "second"] }
`;

describe('worker core over an in-memory transport', () => {
  const temp = useTempStore();

  function harness() {
    const pair = createInMemoryPair<ToWorker, FromWorker>({
      isWorkerMessage: isToWorker,
      isPrimaryMessage: isFromWorker,
    });
    const received: FromWorker[] = [];
    const malformed: string[] = [];
    pair.primary.onMessage((_peer, message) => {
      received.push(message);
      // The primary's side of the gates: grant every admit at once.
      if (message.type === 'gate-admit')
        void pair.primary.send('worker-1', { type: 'gate-permit', id: message.id, probe: false });
    });
    pair.primary.onMalformed((_peer, reason) => malformed.push(reason));
    const core = new WorkerCore({
      transport: pair.worker,
      store: temp.store,
      env: {},
      clock: systemClock,
      log: silentLogger(),
      maxSequenceRestarts: 2,
    });
    return { pair, core, received, malformed };
  }

  it('hosts a sequence: asks the primary for every permit, reports every turn, commits them to the store', async () => {
    const { suite } = await parseSuite(SUITE, 'core.yaml', () => Promise.reject(new Error('none')));
    const job = await createJob(temp.store, suite, 'core.yaml');
    const { pair, core, received } = harness();
    core.announceReady();
    const key = sequenceKey(job.id, 'm', 's', 1);
    await pair.primary.send('worker-1', {
      type: 'spawn-sequence',
      key,
      job: job.id,
      model: 'm',
      sequence: 's',
      firstRun: 1,
      runs: 2,
    });
    await pair.primary.send('worker-1', { type: 'sequence-command', key, command: 'start' });
    await expect
      .poll(
        () => received.some((m) => m.type === 'sequence-report' && m.report.type === 'sequence-finished'),
        { message: 'the sequence to finish' },
      )
      .toBe(true);
    expect(received[0]).toEqual({ type: 'worker-ready', pid: process.pid });
    expect(received.filter((m) => m.type === 'gate-admit')).toHaveLength(4);
    expect(received.filter((m) => m.type === 'gate-settle')).toHaveLength(4);
    const turns = temp.store.turnsOf(job.id);
    expect(turns.map((t) => [t.run, t.turn, t.status])).toEqual([
      [1, 1, 'ok'],
      [1, 2, 'ok'],
      [2, 1, 'ok'],
      [2, 2, 'ok'],
    ]);
    core.stop();
  });

  it('sets sequences up a placement step at a time; commands sent before a spawn wait for it, a stop drops it', async () => {
    // 300 runs: one sequence is more than a placement step of 256 conversations.
    const { suite } = await parseSuite(
      SUITE.replace('runs: 2', 'runs: 300').replace(
        '  - { id: s, prompts: ["first", "second"] }',
        ['a', 'b', 'c'].map((id) => `  - { id: ${id}, prompts: ["only"] }`).join('\n'),
      ),
      'core.yaml',
      () => Promise.reject(new Error('none')),
    );
    const job = await createJob(temp.store, suite, 'core.yaml');
    const { pair, core, received } = harness();
    const keys = ['a', 'b', 'c'].map((id) => sequenceKey(job.id, 'm', id, 1));
    for (const key of keys) {
      const sequence = key.split('/')[2] ?? '';
      await pair.primary.send('worker-1', {
        type: 'spawn-sequence',
        key,
        job: job.id,
        model: 'm',
        sequence,
        firstRun: 1,
        runs: 300,
      });
      await pair.primary.send('worker-1', { type: 'sequence-command', key, command: 'start' });
    }
    await pair.primary.send('worker-1', { type: 'stop-sequence', key: keys[2] ?? '' });
    // Watch once per turn of the event loop: one step sets up the first sequence alone, the
    // second comes a turn later (without steps, both would appear in the same turn).
    const seen: number[] = [];
    for (let turn = 0; turn < 1_000 && core.hostedCount < 2; turn += 1) {
      if (seen.at(-1) !== core.hostedCount) seen.push(core.hostedCount);
      await new Promise((resolve) => setImmediate(resolve));
    }
    expect(seen).toEqual([0, 1]);
    const finished = (): string[] =>
      received.flatMap((m) =>
        m.type === 'sequence-report' && m.report.type === 'sequence-finished' ? [m.report.sequence] : [],
      );
    await expect.poll(() => finished().length === 2, { message: 'both sequences to finish' }).toBe(true);
    expect(finished().sort()).toEqual(['a', 'b']);
    expect(core.hostedCount).toBe(2);
    expect(temp.store.turnsOf(job.id).filter((turn) => turn.status === 'ok')).toHaveLength(600);
    core.stop();
  });

  it('a burst of spawns starts with a step of 16 conversations, and the steps double', async () => {
    const ids = Array.from({ length: 20 }, (_, i) => `s${i}`);
    const { suite } = await parseSuite(
      SUITE.replace('runs: 2', 'runs: 8').replace(
        '  - { id: s, prompts: ["first", "second"] }',
        ids.map((id) => `  - { id: ${id}, prompts: ["only"] }`).join('\n'),
      ),
      'core.yaml',
      () => Promise.reject(new Error('none')),
    );
    const job = await createJob(temp.store, suite, 'core.yaml');
    const reads = vi.spyOn(temp.store, 'getJob');
    const { pair, core } = harness();
    for (const id of ids) {
      const key = sequenceKey(job.id, 'm', id, 1);
      await pair.primary.send('worker-1', {
        type: 'spawn-sequence',
        key,
        job: job.id,
        model: 'm',
        sequence: id,
        firstRun: 1,
        runs: 8,
      });
    }
    const seen: number[] = [];
    for (let turn = 0; turn < 1_000 && core.hostedCount < ids.length; turn += 1) {
      if (seen.at(-1) !== core.hostedCount) seen.push(core.hostedCount);
      await new Promise((resolve) => setImmediate(resolve));
    }
    // Steps of 16, 32, 64 and 128 conversations: 2, 4, 8 and (the last) 6 sequences of 8 runs.
    expect([...seen, core.hostedCount]).toEqual([0, 2, 6, 14, 20]);
    // The job is read from the store once, not once per sequence.
    expect(reads).toHaveBeenCalledTimes(1);
    core.stop();
  });

  it('a sequence of an unknown job is reported failed, not a crash', async () => {
    const { pair, core, received } = harness();
    await pair.primary.send('worker-1', {
      type: 'spawn-sequence',
      key: 'x/m/s',
      job: 'x',
      model: 'm',
      sequence: 's',
      firstRun: 1,
      runs: 1,
    });
    await expect
      .poll(() => received.some((m) => m.type === 'sequence-failed'), { message: 'the failure' })
      .toBe(true);
    expect(received.find((m) => m.type === 'sequence-failed')).toMatchObject({
      key: 'x/m/s',
      error: { code: 'troupe:cannot-start' },
    });
    core.stop();
  });

  it('a malformed frame is reported and dropped; the core keeps working', async () => {
    const { pair, core, received, malformed } = harness();
    pair.worker.injectRaw(Buffer.from([0xc1, 0x00, 0xff]));
    pair.primary.injectRaw(Buffer.from('not msgpack at all'));
    await pair.primary.send('worker-1', {
      type: 'spawn-sequence',
      key: 'y/m/s',
      job: 'y',
      model: 'm',
      sequence: 's',
      firstRun: 1,
      runs: 1,
    });
    await expect
      .poll(() => received.some((m) => m.type === 'sequence-failed'), {
        message: 'an answer after the garbage',
      })
      .toBe(true);
    expect(malformed).toHaveLength(1);
    core.stop();
  });
});
