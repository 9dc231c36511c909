import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startSimulator } from '../src/simulator/server.js';
import type { Simulator } from '../src/simulator/server.js';
import type { TurnRecord } from '../src/store/records.js';
import { loadSuite } from '../src/suite/load.js';
import { runCli } from './helpers/cli.js';
import { expectContractHolds } from './helpers/contract.js';
import { tempDir } from './helpers/temp.js';

const KEYS = { SIM_OPENAI_KEY: 'sk-test-openai-000', SIM_ANTHROPIC_KEY: 'sk-ant-test-000' };
const LATENCY_MS = 200;

function contractSuite(sim: Simulator): string {
  const sequences = ['alpha', 'bravo', 'charlie', 'delta']
    .map(
      (id, i) => `  - id: ${id}
${i % 2 === 0 ? `    system: You are assistant ${id}.\n` : ''}    prompts: ["${id} one", "${id} two, about your last answer", "${id} three"]`,
    )
    .join('\n');
  return `name: contract
runs: 3
providers:
  oai: { type: openai, baseURL: "${sim.openaiBaseURL}", apiKeyEnv: SIM_OPENAI_KEY }
  ant: { type: anthropic, baseURL: "${sim.anthropicBaseURL}", apiKeyEnv: SIM_ANTHROPIC_KEY }
models:
  - { id: small, provider: oai, model: gpt-small, temperature: 0, maxTokens: 200 }
  - { id: large, provider: oai, model: gpt-large, maxTokens: 200, system: Be brief. }
  - { id: claude, provider: ant, model: claude-sim, maxTokens: 200 }
sequences:
${sequences}
`;
}

describe('a suite end to end through the real SDKs (contract 1, 2, 3)', () => {
  let sim: Simulator;
  let dir: Awaited<ReturnType<typeof tempDir>>;

  beforeAll(async () => {
    sim = await startSimulator({ latencyMs: LATENCY_MS });
    dir = await tempDir();
  });
  afterAll(async () => {
    await sim.close();
    await dir.cleanup();
  });

  it('accumulates context per conversation, never mixes conversations, records every turn once, concurrently', async () => {
    const suitePath = join(dir.path, 'contract.yaml');
    await writeFile(suitePath, contractSuite(sim));
    const dataDir = join(dir.path, 'data');

    const run = await runCli(['run', suitePath, '--data-dir', dataDir], KEYS);
    expect(run.stderr).toBe('');
    expect(run.code).toBe(0);
    const jobId = /job (\S+):/.exec(run.stdout)?.[1];
    expect(jobId).toBeDefined();

    const results = await runCli(['results', jobId ?? '', '--data-dir', dataDir, '--format', 'jsonl']);
    expect(results.code).toBe(0);
    const turns = results.stdout
      .trim()
      .split('\n')
      .map((line) => JSON.parse(line) as TurnRecord);

    const suite = await loadSuite(suitePath);
    expectContractHolds(suite, turns, sim.records);
    // 36 conversations could all be in flight at once; anything near that proves real concurrency.
    expect(sim.maxInFlight).toBeGreaterThanOrEqual(20);
    // Secrets never reach the output or the results.
    for (const key of Object.values(KEYS)) {
      expect(run.stdout + results.stdout).not.toContain(key);
    }
  });
});
