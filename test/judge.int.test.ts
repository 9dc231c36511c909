import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { silentLogger } from '../src/log/logger.js';
import { systemClock } from '../src/resilience/clock.js';
import { Engine } from '../src/runtime/engine.js';
import { createJob } from '../src/runtime/jobs.js';
import { startSimulator } from '../src/simulator/server.js';
import type { Simulator } from '../src/simulator/server.js';
import { openLmdbStore } from '../src/store/lmdb-store.js';
import type { LmdbCheckpointStore } from '../src/store/lmdb-store.js';
import { parseSuite } from '../src/suite/load.js';
import type { Suite } from '../src/suite/types.js';
import { TEST_KEY, TEST_KEY_ENV } from './helpers/job.js';
import { tempDir } from './helpers/temp.js';

const env = { ...process.env, [TEST_KEY_ENV]: TEST_KEY };
const JUDGE_MODEL = 'judge-model';

async function judgedSuite(sim: Simulator, maxUnparsableRetries: number): Promise<Suite> {
  const text = `name: judged
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
  return (await parseSuite(text, 'judged.yaml', () => Promise.reject(new Error('none')))).suite;
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
      expect(
        gradings.some((r) => r.messages.some((m) => m.content.includes(turn.response ?? '\u0000'))),
      ).toBe(true);
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
});
