import { existsSync } from 'node:fs';
import { mkdir, readFile, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it, onTestFailed } from 'vitest';
import { startSimulator } from '../src/simulator/server.js';
import type { Simulator } from '../src/simulator/server.js';
import { openLmdbStore } from '../src/store/lmdb-store.js';
import type { TurnRecord } from '../src/store/records.js';
import { loadSuite } from '../src/suite/load.js';
import { runCli } from './helpers/cli.js';
import { expectContractHolds, expectExactlyOnceAcrossCrashes } from './helpers/contract.js';
import type { Crash } from './helpers/contract.js';
import { DAEMON_WAIT_MS, DaemonProcess } from './helpers/daemon.js';
import { TEST_KEY, TEST_KEY_ENV } from './helpers/job.js';
import { tempDir } from './helpers/temp.js';
import { testRandom } from './helpers/seed.js';

const env = { [TEST_KEY_ENV]: TEST_KEY };

function suiteText(
  sim: Simulator,
  name: string,
  options: { sequences: number; maxConcurrency: number },
): string {
  const sequences = Array.from(
    { length: options.sequences },
    (_, s) =>
      `  - { id: ${name}-s${s + 1}, system: "System ${s + 1}", prompts: ["${name} ${s} a", "${name} ${s} b", "${name} ${s} c"] }`,
  );
  return `name: ${name}
runs: 2
providers:
  sim:
    type: openai
    baseURL: "${sim.openaiBaseURL}"
    apiKeyEnv: ${TEST_KEY_ENV}
    limits: { maxConcurrency: ${options.maxConcurrency} }
models:
  - { id: ${name}-m1, provider: sim, model: ${name}-model-1, maxTokens: 64 }
  - { id: ${name}-m2, provider: sim, model: ${name}-model-2, maxTokens: 64 }
sequences:
${sequences.join('\n')}
`;
}

async function storedTurns(dataDir: string, job: string): Promise<TurnRecord[]> {
  const store = await openLmdbStore(dataDir, { readOnly: true });
  try {
    return store.turnsOf(job);
  } finally {
    await store.close();
  }
}

async function jobState(dataDir: string, job: string): Promise<string | undefined> {
  const store = await openLmdbStore(dataDir, { readOnly: true });
  try {
    return store.getJob(job)?.state;
  } finally {
    await store.close();
  }
}

describe('troupe daemon (a real daemon process, real workers, the simulator server)', () => {
  let sim: Simulator;
  let dir: Awaited<ReturnType<typeof tempDir>>;
  let daemon: DaemonProcess | undefined;
  let dataDir: string;

  beforeEach(async () => {
    sim = await startSimulator({ latencyMs: 100 });
    dir = await tempDir();
    dataDir = join(dir.path, 'data');
  });
  afterEach(async () => {
    if (daemon && daemon.child.exitCode === null && daemon.child.signalCode === null)
      await daemon.stop('SIGKILL');
    daemon = undefined;
    await sim.close();
    await dir.cleanup();
  });

  async function submit(name: string, sequences: number, maxConcurrency: number): Promise<string> {
    const path = join(dir.path, `${name}.yaml`);
    await writeFile(path, suiteText(sim, name, { sequences, maxConcurrency }));
    const result = await runCli(['submit', path, '--data-dir', dataDir], env);
    expect(result.stderr).toBe('');
    expect(result.code).toBe(0);
    return result.stdout.trim();
  }

  it('survives kill -9 three times: both jobs complete, every turn once, context exact', async () => {
    daemon = await DaemonProcess.start(dataDir, env, ['--workers', '2']);
    // 12 sequences × 2 runs: more conversations per model than start in the daemon's own
    // process while its workers boot, so both places run some.
    const jobs = [await submit('alpha', 12, 4), await submit('bravo', 12, 4)];
    const crashes: Crash[] = [];
    // Kill at a random point of each third of the 288 turns (the seed replays them).
    const random = testRandom();
    onTestFailed(() => console.error(`kill points drawn with TROUPE_TEST_SEED=${random.seed}`));
    for (const third of [0, 1, 2]) {
      const threshold = 10 + third * 90 + Math.floor(random.next() * 50);
      await expect
        .poll(() => sim.records.length >= threshold, {
          timeout: DAEMON_WAIT_MS,
          message: `${threshold} requests (TROUPE_TEST_SEED=${random.seed})`,
        })
        .toBe(true);
      await daemon.stop('SIGKILL');
      const at = Date.now();
      const committed = (await Promise.all(jobs.map((job) => storedTurns(dataDir, job)))).flat();
      crashes.push({ at, committed });
      daemon = await DaemonProcess.start(dataDir, env, ['--workers', '2']);
    }
    await expect
      .poll(
        async () => (await Promise.all(jobs.map((j) => jobState(dataDir, j)))).every((s) => s === 'done'),
        { timeout: DAEMON_WAIT_MS, message: 'both jobs done' },
      )
      .toBe(true);
    const turns = (await Promise.all(jobs.map((job) => storedTurns(dataDir, job)))).flat();
    for (const [index, job] of jobs.entries()) {
      const suite = await loadSuite(join(dir.path, `${index === 0 ? 'alpha' : 'bravo'}.yaml`));
      const own = turns.filter((t) => t.job === job);
      expectContractHolds(
        suite,
        own,
        sim.records.filter((r) => suite.models.some((m) => m.model === r.model)),
        own.length,
      );
      expectExactlyOnceAcrossCrashes(
        suite,
        crashes.map((c) => ({ ...c, committed: c.committed.filter((t) => t.job === job) })),
        own,
        sim.records,
      );
    }
  });

  it('SIGTERM drains in-flight requests and exits 0; a restart completes the job with no turn lost or repeated', async () => {
    daemon = await DaemonProcess.start(dataDir, env, ['--workers', '2', '--grace-ms', '10000']);
    const job = await submit('gamma', 12, 6);
    await expect
      .poll(() => sim.records.length >= 15, { timeout: DAEMON_WAIT_MS, message: 'some requests' })
      .toBe(true);
    const exit = await daemon.stop('SIGTERM');
    expect(exit.code).toBe(0);
    expect(daemon.logs.some((line) => line.msg === 'daemon stopped')).toBe(true);
    expect(existsSync(join(dataDir, 'daemon.json'))).toBe(false);
    const interruptedAt = (await storedTurns(dataDir, job)).length;
    expect(interruptedAt).toBeLessThan(144);
    daemon = await DaemonProcess.start(dataDir, env, ['--workers', '2']);
    await expect
      .poll(async () => (await jobState(dataDir, job)) === 'done', {
        timeout: DAEMON_WAIT_MS,
        message: 'the job done',
      })
      .toBe(true);
    const suite = await loadSuite(join(dir.path, 'gamma.yaml'));
    // Drained: nothing was in flight when it stopped, so nothing is asked twice.
    expectContractHolds(suite, await storedTurns(dataDir, job), sim.records, 0);
  });

  it('SIGTERM at seeded points, three times, then a restart: every turn exactly once, none asked twice', async () => {
    // Latencies of 20–120 ms: turns and slices end out of order, so the stops fall while slices
    // start, finish and move the models' progress marks, with the workers booting or ready.
    sim.configure({ latencyMs: 20, latencyJitterMs: 100 });
    const random = testRandom();
    onTestFailed(() => console.error(`stop points drawn with TROUPE_TEST_SEED=${random.seed}`));
    daemon = await DaemonProcess.start(dataDir, env, ['--workers', '2', '--grace-ms', '20000']);
    const job = await submit('echo', 12, 6);
    const stops: Crash[] = [];
    for (let stop = 0; stop < 3; stop += 1) {
      const threshold = sim.records.length + 1 + Math.floor(random.next() * 30);
      await expect
        .poll(
          // Read as a user's status would, while the daemon writes: the store opened read-only.
          async () => sim.records.length >= threshold || (await jobState(dataDir, job)) === 'done',
          { timeout: DAEMON_WAIT_MS, message: `${threshold} requests (TROUPE_TEST_SEED=${random.seed})` },
        )
        .toBe(true);
      const exit = await daemon.stop('SIGTERM');
      expect(exit.code, `exit (TROUPE_TEST_SEED=${random.seed})`).toBe(0);
      // Drained: a stop that had to abort requests would say so.
      expect(daemon.logs.some((line) => line.event === 'grace-expired')).toBe(false);
      stops.push({ at: Date.now(), committed: await storedTurns(dataDir, job) });
      daemon = await DaemonProcess.start(dataDir, env, ['--workers', '2', '--grace-ms', '20000']);
    }
    await expect
      .poll(async () => (await jobState(dataDir, job)) === 'done', {
        timeout: DAEMON_WAIT_MS,
        message: `the job done (TROUPE_TEST_SEED=${random.seed})`,
      })
      .toBe(true);
    const suite = await loadSuite(join(dir.path, 'echo.yaml'));
    const turns = await storedTurns(dataDir, job);
    expectContractHolds(suite, turns, sim.records, 0);
    expectExactlyOnceAcrossCrashes(suite, stops, turns, sim.records);
  });

  it('cancel stops the job’s requests; its finished turns stay readable; status and results work while it runs', async () => {
    sim.configure({ latencyMs: 200 });
    daemon = await DaemonProcess.start(dataDir, env, ['--workers', '1']);
    const job = await submit('delta', 12, 2);
    await expect
      .poll(() => sim.records.length >= 6, { timeout: DAEMON_WAIT_MS, message: 'some requests' })
      .toBe(true);

    const status = await runCli(['status', job, '--data-dir', dataDir], env);
    expect(status.code).toBe(0);
    expect(status.stdout).toContain('delta-m1');
    expect(status.stdout).toContain('running');
    const midway = await runCli(['results', job, '--data-dir', dataDir, '--format', 'jsonl']);
    expect(midway.code).toBe(0);
    expect(midway.stdout.trim().split('\n').length).toBeGreaterThan(0);

    const cancel = await runCli(['cancel', job, '--data-dir', dataDir], env);
    expect(cancel.stderr).toBe('');
    expect(cancel.code).toBe(0);
    // What the simulator has heard of by the time cancel returned. Later, at most the requests
    // that held the provider's 2 slots when the cancel reached them may still arrive (they are
    // aborted); a job left running would send one every 200 ms per slot while the commands
    // below run, and the daemon's stop ends the record.
    const requestsAtCancel = sim.records.length;
    const jobs = await runCli(['jobs', '--data-dir', dataDir], env);
    expect(jobs.stdout).toMatch(new RegExp(`${job}\\s+delta\\s+cancelled`));
    const results = await runCli(['results', job, '--data-dir', dataDir, '--format', 'jsonl']);
    expect(results.code).toBe(0);
    const rows = results.stdout
      .trim()
      .split('\n')
      .map((line) => JSON.parse(line) as TurnRecord);
    expect(rows.length).toBeGreaterThan(0);
    expect(rows.length).toBeLessThan(144);
    expect(rows.every((row) => row.status === 'ok')).toBe(true);
    expect((await daemon.stop('SIGTERM')).code).toBe(0);
    expect(sim.records.length - requestsAtCancel).toBeLessThanOrEqual(2);
    // Nothing leaks the key.
    for (const text of [status.stdout, midway.stdout, results.stdout, JSON.stringify(daemon.logs)]) {
      expect(text).not.toContain(TEST_KEY);
    }
  });

  it('a second daemon on the same data directory refuses clearly', async () => {
    daemon = await DaemonProcess.start(dataDir, env, ['--workers', '0']);
    const second = await runCli(['daemon', '--data-dir', dataDir, '--workers', '0'], env);
    expect(second.code).toBe(2);
    expect(second.stderr).toContain(`another troupe daemon (pid ${daemon.pid})`);
    // The first one still answers.
    const jobs = await runCli(['jobs', '--data-dir', dataDir], env);
    expect(jobs.code).toBe(0);
  });

  it('a corrupt data directory is refused without being modified', async () => {
    const corrupt = join(dir.path, 'corrupt');
    await mkdir(corrupt);
    await writeFile(join(corrupt, 'data.mdb'), Buffer.alloc(8192, 0x5a));
    const before = await readFile(join(corrupt, 'data.mdb'));
    const beforeStat = await stat(join(corrupt, 'data.mdb'));
    const result = await runCli(['daemon', '--data-dir', corrupt, '--workers', '0'], env);
    expect(result.code).toBe(2);
    expect(result.stderr).toContain(corrupt);
    expect(await readFile(join(corrupt, 'data.mdb'))).toEqual(before);
    expect((await stat(join(corrupt, 'data.mdb'))).mtimeMs).toBe(beforeStat.mtimeMs);
    expect(existsSync(join(corrupt, 'daemon.json'))).toBe(false);
  });

  it('commands without a daemon say how to start one', async () => {
    const result = await runCli(['jobs', '--data-dir', dataDir], env);
    expect(result.code).toBe(2);
    expect(result.stderr).toContain('no troupe daemon is running');
  });
});
