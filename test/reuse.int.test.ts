import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import type { JobForecast } from '../src/planning/forecast-types.js';
import { startSimulator, type Simulator } from '../src/simulator/server.js';
import { runCli } from './helpers/cli.js';
import { DaemonProcess } from './helpers/daemon.js';
import { TEST_KEY, TEST_KEY_ENV } from './helpers/job.js';
import { tempDir } from './helpers/temp.js';

interface Shape {
  readonly models: readonly string[];
  readonly sequences: Readonly<Record<string, readonly string[]>>;
  readonly runs: number;
}

function suiteText(sim: Simulator, shape: Shape): string {
  const models = shape.models.map(
    (id) => `  - { id: ${id}, provider: sim, model: model-${id}, temperature: 0, maxTokens: 60 }`,
  );
  const sequences = Object.entries(shape.sequences).map(
    ([id, prompts]) => `  - id: ${id}\n    prompts: [${prompts.map((p) => JSON.stringify(p)).join(', ')}]`,
  );
  return `name: reuse
runs: ${shape.runs}
providers:
  sim: { type: openai, baseURL: "${sim.openaiBaseURL}", apiKeyEnv: ${TEST_KEY_ENV} }
models:
${models.join('\n')}
sequences:
${sequences.join('\n')}
`;
}

interface TurnLine {
  model: string;
  sequence: string;
  run: number;
  turn: number;
  response: string;
  reusedFrom?: string;
}

describe('reuse of answers already paid for', () => {
  let sim: Simulator | undefined;
  let dir: Awaited<ReturnType<typeof tempDir>> | undefined;
  let daemon: DaemonProcess | undefined;
  afterEach(async () => {
    await daemon?.stop('SIGKILL');
    daemon = undefined;
    await sim?.close();
    await dir?.cleanup();
  });

  it('sends exactly the new conversations’ requests, reuses a common prefix, never across runs', async () => {
    sim = await startSimulator({ port: 0, latencyMs: 0 });
    dir = await tempDir('troupe-reuse-');
    const dataDir = join(dir.path, 'store');
    const env = { [TEST_KEY_ENV]: TEST_KEY };
    const write = async (name: string, shape: Shape): Promise<string> => {
      const path = join(dir!.path, name);
      await writeFile(path, suiteText(sim!, shape));
      return path;
    };
    const first = await write('a.yaml', {
      models: ['m1', 'm2'],
      sequences: { s1: ['one', 'two', 'three'], s2: ['alpha', 'beta'] },
      runs: 2,
    });
    const ran = await runCli(['run', first, '--workers', '0', '--data-dir', dataDir], env);
    expect(ran.code).toBe(0);
    const a = /^job (\S+):/m.exec(ran.stdout)?.[1] ?? '';
    expect(sim.records).toHaveLength(2 * 5 * 2);

    // A model, a sequence and a run more; s1's third prompt changed.
    const second = await write('b.yaml', {
      models: ['m1', 'm2', 'm3'],
      sequences: { s1: ['one', 'two', 'THREE?'], s2: ['alpha', 'beta'], s3: ['x', 'y'] },
      runs: 3,
    });
    // What would be reused: m1 and m2, runs 1 and 2, s1's first two turns and s2's two.
    const planned = await runCli(['plan', second, '--reuse', a, '--format', 'json', '--data-dir', dataDir]);
    expect(planned.code).toBe(0);
    const forecast = JSON.parse(planned.stdout) as JobForecast;
    expect(forecast).toMatchObject({ turns: 47, reusedTurns: 16 });
    expect((await runCli(['plan', second, '--reuse', a, '--data-dir', dataDir])).stdout).toContain(
      '16 turns reused from earlier jobs: not sent, not counted above',
    );

    const before = sim.records.length;
    const rerun = await runCli(['run', second, '--reuse', a, '--workers', '0', '--data-dir', dataDir], env);
    expect(rerun.stderr).toBe('');
    expect(rerun.code).toBe(0);
    expect(rerun.stdout).toContain(`reused 16 turns from ${a}`);
    // 63 turns, 16 copied: exactly 47 requests reach the provider.
    expect(sim.records.length - before).toBe(47);
    const b = /^job (\S+):/m.exec(rerun.stdout)?.[1] ?? '';
    const lines = (await runCli(['results', b, '--data-dir', dataDir])).stdout
      .trim()
      .split('\n')
      .map((line) => JSON.parse(line) as TurnLine);
    expect(lines).toHaveLength(63);
    const reused = lines.filter((t) => t.reusedFrom !== undefined);
    expect(reused).toHaveLength(16);
    expect(reused.every((t) => t.reusedFrom === a && t.run <= 2 && ['m1', 'm2'].includes(t.model))).toBe(
      true,
    );
    expect(reused.filter((t) => t.sequence === 's1').every((t) => t.turn <= 2)).toBe(true);
    // The CSV says the same in its last column.
    const csv = (await runCli(['results', b, '--format', 'csv', '--data-dir', dataDir])).stdout.split('\r\n');
    expect(csv[0]?.endsWith(',requestHash,reusedFrom')).toBe(true);
    expect(csv.filter((row) => row.endsWith(`,${a}`))).toHaveLength(16);
    // Run 3 asks everything again, though its prompts are run 1's.
    expect(lines.filter((t) => t.run === 3 && t.reusedFrom !== undefined)).toHaveLength(0);

    // The requested third turn carries the copied answers as its context.
    const old = (
      await runCli(['results', a, '--data-dir', dataDir, '--model', 'm1', '--sequence', 's1'])
    ).stdout
      .trim()
      .split('\n')
      .map((line) => JSON.parse(line) as TurnLine)
      .filter((t) => t.run === 1);
    const third = sim.records
      .slice(before)
      .find(
        (r) =>
          r.model === 'model-m1' &&
          r.messages.at(-1)?.content === 'THREE?' &&
          r.messages.some((m) => m.content === old[0]?.response),
      );
    expect(third?.messages.filter((m) => m.role === 'assistant').map((m) => m.content)).toEqual([
      old[0]?.response,
      old[1]?.response,
    ]);
  });

  it('submit --reuse and --max-cost reach the daemon', async () => {
    sim = await startSimulator({ port: 0, latencyMs: 0 });
    dir = await tempDir('troupe-reuse-');
    const dataDir = join(dir.path, 'store');
    const env = { [TEST_KEY_ENV]: TEST_KEY };
    const path = join(dir.path, 'a.yaml');
    const shape: Shape = { models: ['m1'], sequences: { s1: ['one', 'two'] }, runs: 2 };
    await writeFile(path, suiteText(sim, shape));
    const ran = await runCli(['run', path, '--workers', '0', '--data-dir', dataDir], env);
    const a = /^job (\S+):/m.exec(ran.stdout)?.[1] ?? '';
    const sent = sim.records.length;

    daemon = await DaemonProcess.start(dataDir, env, ['--workers', '0']);
    // Without prices a cap is refused before the daemon hears of it.
    const refused = await runCli(['submit', path, '--max-cost', '5', '--data-dir', dataDir], env);
    expect(refused.code).toBe(2);
    expect(refused.stderr).toContain('--max-cost: a spend cap needs the prices of every model it covers');

    const submitted = await runCli(['submit', path, '--reuse', a, '--data-dir', dataDir], env);
    expect(submitted.code).toBe(0);
    const b = submitted.stdout.trim();
    await expect
      .poll(async () => (await runCli(['jobs', '--data-dir', dataDir])).stdout)
      .toMatch(new RegExp(`${b}.*done`));
    // Everything was answered already: nothing more was sent.
    expect(sim.records.length).toBe(sent);
    const lines = (await runCli(['results', b, '--data-dir', dataDir])).stdout.trim().split('\n');
    expect(lines.map((line) => (JSON.parse(line) as TurnLine).reusedFrom)).toEqual([a, a, a, a]);
  });
});
