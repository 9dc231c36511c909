import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { silentLogger } from '../src/log/logger.js';
import { systemClock } from '../src/resilience/clock.js';
import { Engine } from '../src/runtime/engine.js';
import { createJob } from '../src/runtime/jobs.js';
import { startSimulator } from '../src/simulator/server.js';
import type { Simulator } from '../src/simulator/server.js';
import { openLmdbStore } from '../src/store/lmdb-store.js';
import type { LmdbCheckpointStore } from '../src/store/lmdb-store.js';
import type { Suite } from '../src/suite/types.js';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { runCli } from './helpers/cli.js';
import { DaemonProcess } from './helpers/daemon.js';
import { suiteFromText, TEST_KEY, TEST_KEY_ENV } from './helpers/job.js';
import { tempDir } from './helpers/temp.js';

const env = { ...process.env, [TEST_KEY_ENV]: TEST_KEY };
const JUDGE_MODEL = 'judge-model';

function judgedSuiteText(sim: Simulator, maxUnparsableRetries: number): string {
  return `name: judged
runs: 2
providers:
  sim: { type: openai, baseURL: "${sim.openaiBaseURL}", apiKeyEnv: ${TEST_KEY_ENV} }
models:
  - { id: student, provider: sim, model: student-model, maxTokens: 100 }
  - { id: judge, provider: sim, model: ${JUDGE_MODEL}, maxTokens: 400 }
judge: { model: judge, maxUnparsableRetries: ${maxUnparsableRetries} }
sequences:
  - id: s1
    prompts: ["first question", "second question, about your answer"]
  - id: s2
    prompts: ["another question"]
`;
}

async function judgedSuite(sim: Simulator, maxUnparsableRetries: number): Promise<Suite> {
  const text = judgedSuiteText(sim, maxUnparsableRetries);
  return suiteFromText(text, 'judged.yaml');
}

/** The answer a grading request grades (the conversation before it may quote earlier answers). */
function gradedAnswerOf(request: Simulator['records'][number]): string | undefined {
  const text = request.messages[1]?.content ?? '';
  return /### Assistant \(the answer to grade\):\n([\s\S]*?)\n\[The End of the Conversation\]/.exec(
    text,
  )?.[1];
}

/** Grading requests: the judge model asked with the judge's system prompt. */
function gradingsOf(sim: Simulator) {
  return sim.records.filter(
    (r) =>
      r.model === JUDGE_MODEL &&
      r.messages[0]?.role === 'system' &&
      r.messages[0].content.includes('impartial judge'),
  );
}

describe('LLM-as-judge through the real machinery', () => {
  let sim: Simulator;
  let dir: Awaited<ReturnType<typeof tempDir>>;
  let store: LmdbCheckpointStore;

  beforeEach(async () => {
    sim = await startSimulator({ latencyMs: 10 });
    dir = await tempDir();
    store = await openLmdbStore(dir.path);
  });
  afterEach(async () => {
    await store.close();
    await sim.close();
    await dir.cleanup();
  });

  it('grades every answer with the conversation it answered; the grade is in the turn record', async () => {
    const suite = await judgedSuite(sim, 2);
    const job = await createJob(store, suite, 'judged.yaml');
    const engine = await Engine.start({ store, log: silentLogger(), clock: systemClock, env });
    expect((await engine.runJob(job)).state).toBe('done');
    await engine.close();
    const turns = store.turnsOf(job.id);
    expect(turns).toHaveLength(2 * 3 * 2);
    for (const turn of turns) {
      expect(turn.judge?.status, `${turn.model}/${turn.sequence}/${turn.run}/${turn.turn}`).toBe('ok');
      expect(turn.judge?.score).toBeGreaterThanOrEqual(1);
      expect(turn.judge?.score).toBeLessThanOrEqual(10);
    }
    // Each grading request carried the graded answer (and so its conversation).
    const gradings = sim.records.filter(
      (r) =>
        r.model === JUDGE_MODEL &&
        r.messages[0]?.role === 'system' &&
        r.messages[0].content.includes('impartial judge'),
    );
    expect(gradings.length).toBe(turns.length);
    for (const turn of turns) {
      expect(gradings.filter((r) => gradedAnswerOf(r) === turn.response)).toHaveLength(1);
    }
  });

  it('asks again when the judge does not give a well-formed rating, then records it unparsable, never guessed', async () => {
    const suite = await judgedSuite(sim, 1);
    const job = await createJob(store, suite, 'judged.yaml');
    // Every grading answer is prose with numbers but no [[N]].
    sim.configure({
      faults: [
        { fault: { kind: 'text', text: 'I would give it 8 out of 10, Rating: 8' }, model: JUDGE_MODEL },
      ],
    });
    const engine = await Engine.start({ store, log: silentLogger(), clock: systemClock, env });
    expect((await engine.runJob(job)).state).toBe('done');
    await engine.close();
    const graded = store.turnsOf(job.id).filter((t) => t.model === 'student');
    for (const turn of graded) {
      expect(turn.judge).toMatchObject({ status: 'unparsable', score: null, attempts: 2 });
    }
  });

  it('gradings are resumed after kill -9 of the daemon like turns: every answer graded, none graded twice once recorded', async () => {
    sim.configure({ latencyMs: 80 });
    const suitePath = join(dir.path, 'judged.yaml');
    await writeFile(suitePath, judgedSuiteText(sim, 2));
    const dataDir = join(dir.path, 'daemon-data');
    await store.close();
    let daemon = await DaemonProcess.start(dataDir, { [TEST_KEY_ENV]: TEST_KEY }, ['--workers', '1']);
    try {
      const submit = await runCli(['submit', suitePath, '--data-dir', dataDir], { [TEST_KEY_ENV]: TEST_KEY });
      expect(submit.code).toBe(0);
      const job = submit.stdout.trim();
      await expect
        .poll(() => gradingsOf(sim).length, { message: 'gradings before the kill' })
        .toBeGreaterThanOrEqual(3);
      await daemon.stop('SIGKILL');
      const killedAt = Date.now();
      store = await openLmdbStore(dataDir, { readOnly: true });
      const gradedBeforeKill = store.turnsOf(job).filter((t) => t.judge !== undefined);
      daemon = await DaemonProcess.start(dataDir, { [TEST_KEY_ENV]: TEST_KEY }, ['--workers', '1']);
      await expect.poll(() => store.getJob(job)?.state, { message: 'the job to finish' }).toBe('done');
      const turns = store.turnsOf(job);
      expect(turns.every((t) => t.judge?.status === 'ok')).toBe(true);
      // A grade recorded before the kill is never asked for again.
      const gradingsAfterKill = gradingsOf(sim).filter((r) => r.receivedAt > killedAt);
      for (const graded of gradedBeforeKill) {
        const again = gradingsAfterKill.filter((r) => gradedAnswerOf(r) === graded.response);
        expect(again, `${graded.model}/${graded.sequence}/${graded.run}/${graded.turn} graded again`).toEqual(
          [],
        );
      }
    } finally {
      await daemon.stop('SIGTERM').catch(() => undefined);
    }
  });
});
