import { spawn } from 'node:child_process';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it, vi } from 'vitest';
import { silentLogger } from '../src/log/logger.js';
import { PrometheusMetrics } from '../src/metrics/prometheus.js';
import { estimateOutputTokens } from '../src/providers/token-estimate.js';
import { systemClock } from '../src/resilience/clock.js';
import { estimateInputTokens } from '../src/resilience/token-estimate.js';
import { Engine } from '../src/runtime/engine.js';
import { createJob } from '../src/runtime/jobs.js';
import type { Simulator } from '../src/simulator/server.js';
import type { RecordedRequest } from '../src/simulator/types.js';
import { openLmdbStore } from '../src/store/lmdb-store.js';
import { CLI_PATH, runCli } from './helpers/cli.js';
import { DaemonProcess } from './helpers/daemon.js';
import { suiteFromText, TEST_KEY, TEST_KEY_ENV } from './helpers/job.js';
import { useTestResources } from './helpers/test-resources.js';

/** $1 000 per million tokens, in and out: a token costs a tenth of a cent. */
const USD_PER_TOKEN = 0.001;
/** 32 sequences × 3 prompts × 4 runs: 128 conversations, more than the 64 allowed in flight. */
const TURNS = 384;

function suiteText(sim: Simulator, capLine: string): string {
  const sequences = Array.from(
    { length: 32 },
    (_, s) =>
      `  - id: s${s + 1}\n    prompts: [${Array.from({ length: 3 }, (_, p) => `"Prompt ${p + 1} of sequence ${s + 1}."`).join(', ')}]`,
  );
  return `name: capped
runs: 4
${capLine}
providers:
  sim:
    type: openai
    baseURL: "${sim.openaiBaseURL}"
    apiKeyEnv: ${TEST_KEY_ENV}
    limits: { maxConcurrency: 64 }
models:
  - { id: m, provider: sim, model: capped-model, maxTokens: 40, pricePerMillionTokens: { input: 1000, output: 1000 } }
sequences:
${sequences.join('\n')}
`;
}

/**
 * Longest the daemon's kill test may take, in ms: two daemon starts, a recovery, a resumed run and
 * its results, each a child process; a loaded machine takes several times its idle 25 s.
 */
const DAEMON_TEST_MS = 240_000;

/** What the simulator's answered requests cost: the usage it reported, at the model's prices. */
function chargedUsd(records: readonly RecordedRequest[]): number {
  return records
    .filter((r) => r.status === 200)
    .reduce(
      (sum, r) =>
        sum + (estimateInputTokens(r.messages) + estimateOutputTokens(r.response ?? '')) * USD_PER_TOKEN,
      0,
    );
}

/** Each of the job's turns is in its results exactly once. */
async function expectEveryTurnOnce(job: string, dataDir: string): Promise<void> {
  const lines = (await runCli(['results', job, '--data-dir', dataDir])).stdout.trim().split('\n');
  const keys = lines.map((line) => {
    const t = JSON.parse(line) as { model: string; sequence: string; run: number; turn: number };
    return `${t.model}/${t.sequence}/${t.run}/${t.turn}`;
  });
  expect(keys).toHaveLength(TURNS);
  expect(new Set(keys).size).toBe(TURNS);
}

describe('a spend cap', () => {
  const resources = useTestResources();

  it('is never exceeded with 64 requests in flight; the job ends budget-exhausted and a higher cap finishes it', async () => {
    // Answers slow enough that a loaded machine still starts many requests before the first returns.
    const sim = await resources.simulator({ latencyMs: 1500 });
    const dir = await resources.tempDir('troupe-cap-');
    const store = await resources.store(dir.path);
    const capUsd = 12;
    const suite = await suiteFromText(suiteText(sim, `budget: { maxCostUsd: ${capUsd} }`), 'capped.yaml');
    const metrics = new PrometheusMetrics({ defaultMetrics: false });
    const start = (): Promise<Engine> =>
      Engine.start({
        store,
        log: silentLogger(),
        clock: systemClock,
        env: { [TEST_KEY_ENV]: TEST_KEY },
        metrics,
      });
    let engine = await start();
    try {
      const job = await createJob(store, suite, 'capped.yaml');
      // The whole job would cost more than the cap.
      expect(job.forecast?.costUsd).toBeGreaterThan(capUsd);
      const outcome = await engine.runJob(job);
      expect(outcome).toMatchObject({ state: 'budget-exhausted' });
      expect(outcome.state === 'budget-exhausted' && outcome.reason).toMatch(
        /the job's cap of \$12\.00 would be exceeded/,
      );
      // Up to 64 allowed in flight: at 500 ms answers, 59 were measured on an idle machine and under
      // 32 at a load of 16 on 2 cores (how fast the engine starts its conversations); 1.5 s answers
      // leave it the time. Many at once, in any case, each reserved before it left.
      expect(sim.maxInFlight).toBeGreaterThanOrEqual(32);
      const charged = chargedUsd(sim.records);
      expect(charged).toBeLessThanOrEqual(capUsd);
      // It stopped near the cap, not long before: within a round of 64 worst cases.
      expect(charged).toBeGreaterThan(capUsd / 3);
      // Metrics: the spend per job and provider, and what the job's cap leaves.
      const value = async (name: string): Promise<number | undefined> =>
        (await metrics.registry.getMetricsAsJSON()).find((m) => m.name === name)?.values[0]?.value;
      expect(await value('troupe_spend_usd')).toBeCloseTo(charged, 9);
      expect(await value('troupe_job_budget_remaining_usd')).toBeCloseTo(capUsd - charged, 9);
      // The answers that arrived within the cap are committed by the time the engine has closed.
      await engine.close();
      const stored = store.getJob(job.id);
      expect(stored?.state).toBe('budget-exhausted');
      const kept = store.turnsOf(job.id);
      expect(kept.length).toBeGreaterThan(0);
      expect(kept.length).toBeLessThan(TURNS);
      expect(kept.every((t) => t.status === 'ok')).toBe(true);
      // The checkpoint holds the spend: every answered request, nothing reserved left.
      const spend = store.getSpend(job.id);
      expect(Object.values(spend?.spentUsd ?? {}).reduce((a, b) => a + b, 0)).toBeCloseTo(charged, 9);

      // A higher cap continues it (as run --resume --max-cost does, in a new process): only the
      // missing turns are asked.
      engine = await start();
      const sentBefore = sim.records.length;
      const more = {
        ...job,
        suite: { ...job.suite, budget: { maxCostUsd: 100 } },
        state: 'running' as const,
      };
      await store.putJob(more);
      expect(await engine.runJob(more)).toEqual({ state: 'done' });
      const turns = store.turnsOf(job.id);
      expect(turns).toHaveLength(TURNS);
      expect(sim.records.length - sentBefore).toBe(TURNS - kept.length);
    } finally {
      await engine.close();
    }
  });

  /** A simulator slow enough (300 ms) to kill troupe with many requests in flight, and the suite on it (no cap of its own). */
  async function slowSuite() {
    const sim = await resources.simulator({ latencyMs: 300 });
    const dir = await resources.tempDir('troupe-cap-');
    const suitePath = join(dir.path, 'capped.yaml');
    await writeFile(suitePath, suiteText(sim, ''));
    return { sim, suitePath, dataDir: join(dir.path, 'store') };
  }

  it('holds after a kill -9: the reservations in flight were on disk, and count as spent', async () => {
    const { sim, suitePath, dataDir } = await slowSuite();
    const capUsd = 12;
    const env = { PATH: process.env.PATH ?? '', [TEST_KEY_ENV]: TEST_KEY };
    const child = spawn(
      process.execPath,
      [CLI_PATH, 'run', suitePath, '--max-cost', String(capUsd), '--workers', '0', '--data-dir', dataDir],
      { env, stdio: ['ignore', 'pipe', 'pipe'] },
    );
    let stdout = '';
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => (stdout += chunk));
    const exited = new Promise<void>((resolve) => child.on('exit', () => resolve()));
    // Killed while many requests are in flight, before the cap is reached.
    await vi.waitFor(
      () => {
        if (sim.records.length < 100) throw new Error(`${sim.records.length} requests so far`);
      },
      { timeout: 60_000, interval: 20 },
    );
    child.kill('SIGKILL');
    await exited;
    const chargedAtKill = chargedUsd(sim.records);
    expect(chargedAtKill).toBeLessThan(capUsd);
    const id = /^job (\S+):/m.exec(stdout)?.[1];
    if (id === undefined) throw new Error(`no job id in ${stdout}`);

    // The requests in flight at the kill had their worst case on disk.
    const afterKill = await openLmdbStore(dataDir, { readOnly: true });
    const spend = afterKill.getSpend(id);
    await afterKill.close();
    expect(Object.values(spend?.reservedUsd ?? {}).reduce((a, b) => a + b, 0)).toBeGreaterThan(0);

    const resumed = await runCli(['run', '--resume', id, '--workers', '0', '--data-dir', dataDir], {
      [TEST_KEY_ENV]: TEST_KEY,
    });
    expect(resumed.stderr).not.toContain(TEST_KEY);
    expect(resumed.code).toBe(1);
    expect(resumed.stdout).toContain(
      `job ${id} stopped at its spend cap: the job's cap of $12.00 would be exceeded`,
    );
    expect(resumed.stdout).toContain(
      `continue it with a higher cap: troupe run --resume ${id} --max-cost <usd>`,
    );
    // Across the killed run and the resumed one, what the provider charged stays within the cap.
    expect(chargedUsd(sim.records)).toBeLessThanOrEqual(capUsd);

    // A higher cap finishes it, each turn recorded once.
    const finished = await runCli(
      ['run', '--resume', id, '--max-cost', '100', '--workers', '0', '--data-dir', dataDir],
      {
        [TEST_KEY_ENV]: TEST_KEY,
      },
    );
    expect(finished.code).toBe(0);
    await expectEveryTurnOnce(id, dataDir);
  });

  it(
    'holds after a kill -9 of the daemon and its worker processes; a higher cap finishes the job',
    async () => {
      const { sim, suitePath, dataDir } = await slowSuite();
      const capUsd = 12;
      const env = { [TEST_KEY_ENV]: TEST_KEY };
      let daemon = await DaemonProcess.start(dataDir, env, ['--workers', '2']);
      try {
        const submitted = await runCli(
          ['submit', suitePath, '--max-cost', String(capUsd), '--data-dir', dataDir],
          env,
        );
        expect(submitted.code).toBe(0);
        const id = submitted.stdout.trim();
        // Killed while many requests are in flight, before the cap is reached.
        await vi.waitFor(
          () => {
            if (sim.records.length < 100) throw new Error(`${sim.records.length} requests so far`);
          },
          { timeout: 60_000, interval: 20 },
        );
        await daemon.stop('SIGKILL');
        expect(chargedUsd(sim.records)).toBeLessThan(capUsd);
        const afterKill = await openLmdbStore(dataDir, { readOnly: true });
        const reserved = Object.values(afterKill.getSpend(id)?.reservedUsd ?? {}).reduce((a, b) => a + b, 0);
        await afterKill.close();
        // The requests in flight at the kill had their worst case on disk.
        expect(reserved).toBeGreaterThan(0);

        // The restarted daemon recovers the job and stops it at its cap, counting those reservations as spent.
        daemon = await DaemonProcess.start(dataDir, env, ['--workers', '2']);
        await expect
          .poll(async () => (await runCli(['jobs', '--data-dir', dataDir])).stdout, { timeout: 120_000 })
          .toMatch(new RegExp(`${id}.*budget-exhausted`));
        const status = await runCli(['status', id, '--data-dir', dataDir]);
        // status shows the state, and the forecast beside what happened.
        expect(status.stdout).toMatch(new RegExp(`^job ${id} .*budget-exhausted$`, 'm'));
        expect(status.stdout).toMatch(/^ {2}forecast: 384 turns, .*\$\d+\.\d{2}, bound by sim's /m);
        // The actual spend is the ledger's: within the cap.
        const spent = /^ {2}actual: {3}\d+ turns, \$(\d+\.\d+), /m.exec(status.stdout)?.[1];
        expect(Number(spent)).toBeGreaterThan(0);
        expect(Number(spent)).toBeLessThanOrEqual(capUsd);
        await daemon.stop('SIGTERM');
        // Across the killed daemon and the restarted one, what the provider charged stays within the cap.
        expect(chargedUsd(sim.records)).toBeLessThanOrEqual(capUsd);

        const finished = await runCli(
          ['run', '--resume', id, '--max-cost', '100', '--workers', '0', '--data-dir', dataDir],
          env,
        );
        expect(finished.stderr).toBe('');
        expect(finished.code).toBe(0);
        await expectEveryTurnOnce(id, dataDir);
      } finally {
        await daemon.stop('SIGTERM').catch(() => undefined);
      }
    },
    DAEMON_TEST_MS,
  );

  it('a model without prices cannot have a cap: exit 2, nothing written', async () => {
    const sim = await resources.simulator({ latencyMs: 0 });
    const dir = await resources.tempDir('troupe-cap-');
    const text = suiteText(sim, '').replace(', pricePerMillionTokens: { input: 1000, output: 1000 }', '');
    const path = `${dir.path}/unpriced.yaml`;
    await writeFile(
      path,
      text.replace('limits: { maxConcurrency: 64 }', 'limits: { maxConcurrency: 64, maxCostUsd: 2 }'),
    );
    const validate = await runCli(['validate', path], { [TEST_KEY_ENV]: TEST_KEY });
    expect(validate.code).toBe(2);
    expect(validate.stderr).toContain(
      'providers.sim.limits.maxCostUsd: a spend cap needs the prices of every model it covers; models[0] (m) has no pricePerMillionTokens',
    );
    await writeFile(path, text);
    const run = await runCli(['run', path, '--max-cost', '1', '--data-dir', `${dir.path}/store`], {
      [TEST_KEY_ENV]: TEST_KEY,
    });
    expect(run.code).toBe(2);
    expect(run.stderr).toContain(
      '--max-cost: a spend cap needs the prices of every model it covers; models[0] (m) has no pricePerMillionTokens',
    );
    expect(sim.records).toHaveLength(0);
  });
});
