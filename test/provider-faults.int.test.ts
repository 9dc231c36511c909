/**
 * Providers that misbehave, as a user meets them: `troupe simulate` in a child process fails on
 * purpose (--fault, --fail-matching, --api-key), `troupe run` in another drives a suite through
 * the real OpenAI and Anthropic SDKs, and the test reads what both printed and what the store
 * holds (`troupe results`). Every job must end, within its retry budget, and say why.
 */
import { spawn } from 'node:child_process';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { startSimulator } from '../src/simulator/server.js';
import type { TurnRecord } from '../src/store/records.js';
import { CLI_PATH, runCli } from './helpers/cli.js';
import type { CliResult } from './helpers/cli.js';
import { startSimulateCli } from './helpers/simulate-cli.js';
import type { Sdk, SimulatorChild } from './helpers/simulate-cli.js';
import { tempDir } from './helpers/temp.js';

/** The key the suites read; the simulator takes any key unless told otherwise. */
const KEY_ENV = { SIMULATOR_API_KEY: 'sk-test-faults-0123456789' };

/**
 * A retry budget small enough to spend in a test: 2 attempts, each at most 1 s, 50–100 ms apart,
 * a pause of at most 1 s: a turn's deadline of 2 × 1 s + 100 ms + 1 s. The breaker's cool-down
 * is long (60 s): a job that waited on it instead of ending would not end within the CLI's timeout.
 */
const RETRY = { maxAttempts: 2, baseDelayMs: 50, maxDelayMs: 100, timeoutMs: 1_000, maxPauseMs: 1_000 };
const BREAKER = { coolDownMs: 60_000, maxCoolDownMs: 60_000 };

interface SuiteShape {
  readonly sdk: Sdk;
  readonly baseURL: string;
  readonly sequences: number;
  readonly prompts: number;
  readonly runs: number;
  readonly retry?: Record<string, number>;
  readonly breaker?: Record<string, number>;
}

/** A suite of one model on one provider; sequence i's prompt k is `s<i> p<k>`. */
function suiteText(shape: SuiteShape): string {
  const sequences = Array.from({ length: shape.sequences }, (_, i) => ({
    id: `s${i}`,
    prompts: Array.from({ length: shape.prompts }, (_, k) => `s${i} p${k + 1}`),
  }));
  return JSON.stringify({
    name: 'faults',
    runs: shape.runs,
    providers: {
      sim: {
        type: shape.sdk,
        baseURL: shape.baseURL,
        apiKeyEnv: 'SIMULATOR_API_KEY',
        ...(shape.retry && { retry: shape.retry }),
        ...(shape.breaker && { breaker: shape.breaker }),
      },
    },
    models: [
      {
        id: 'm',
        provider: 'sim',
        model: shape.sdk === 'openai' ? 'gpt-4o-mini' : 'claude-3-5-haiku-latest',
        maxTokens: 32,
      },
    ],
    sequences,
  });
}

/** The job id `troupe run` printed first. */
function jobIdOf(result: CliResult): string {
  const id = /^job (\S+):/m.exec(result.stdout)?.[1];
  if (id === undefined) throw new Error(`no job id in: ${result.stdout}\n${result.stderr}`);
  return id;
}

describe('troupe run against a misbehaving troupe simulate (real CLI, real SDKs)', () => {
  let dir: Awaited<ReturnType<typeof tempDir>>;
  let sim: SimulatorChild | undefined;

  beforeEach(async () => {
    dir = await tempDir();
  });
  afterEach(async () => {
    await sim?.stop();
    sim = undefined;
    await dir.cleanup();
  });

  const run = async (shape: Omit<SuiteShape, 'baseURL'>, workers = 0, env = KEY_ENV) => {
    const path = join(dir.path, 'suite.json');
    await writeFile(path, suiteText({ ...shape, baseURL: sim!.baseURL[shape.sdk] }));
    return runCli(['run', path, '--data-dir', join(dir.path, 'data'), '--workers', String(workers)], env);
  };
  const turnsOf = async (job: string): Promise<TurnRecord[]> => {
    const out = await runCli(['results', job, '--data-dir', join(dir.path, 'data'), '--format', 'jsonl']);
    expect(out.code).toBe(0);
    return out.stdout
      .split('\n')
      .filter((line) => line.length > 0)
      .map((line) => JSON.parse(line) as TurnRecord);
  };

  const FAULTS: readonly { fault: string; sdk: Sdk; workers: number; cause: RegExp }[] = [
    { fault: 'hang', sdk: 'openai', workers: 0, cause: /no answer within 1000 ms/ },
    { fault: 'bad-json', sdk: 'openai', workers: 0, cause: /not valid JSON/ },
    { fault: 'empty', sdk: 'openai', workers: 1, cause: /unusable answer.*no choices/ },
    {
      fault: 'html',
      sdk: 'anthropic',
      workers: 0,
      cause: /unusable answer|not valid JSON|not a JSON object/,
    },
    { fault: 'reset', sdk: 'anthropic', workers: 1, cause: /connection failed/ },
    { fault: 'status:500', sdk: 'anthropic', workers: 0, cause: /HTTP 500/ },
  ];

  it.each(FAULTS)(
    '--fault $fault ($sdk, $workers workers): every turn ends within its attempts, the cause on the terminal, exit 1',
    async ({ fault, sdk, workers, cause }) => {
      sim = await startSimulateCli(['--fault', fault]);
      const result = await run(
        // Too few conversations to open the breaker: each turn spends its own attempts (a provider
        // that stays open past the pause cap ends the job paused: tested below).
        {
          sdk,
          sequences: 3,
          prompts: 2,
          runs: 2,
          retry: RETRY,
          breaker: { ...BREAKER, consecutiveFailures: 100, minRequests: 100 },
        },
        workers,
      );
      expect(result.code, result.stderr).toBe(1);
      const why = result.stdout.slice(result.stdout.indexOf('why turns failed:')).split('\n');
      expect(why[0]).toBe('why turns failed:');
      expect(why[1]).toMatch(/^ {2}sim: \d turns? troupe:retries-exhausted, first: /);
      expect(why[1]).toMatch(cause);
      const turns = await turnsOf(jobIdOf(result));
      const failed = turns.filter((t) => t.status === 'failed');
      expect(failed).toHaveLength(6);
      expect(turns.filter((t) => t.status === 'skipped')).toHaveLength(6);
      for (const turn of failed) {
        expect(turn.turn).toBe(1);
        expect(turn.attempts).toBeLessThanOrEqual(RETRY.maxAttempts);
        expect(turn.error?.message).toMatch(cause);
        // Within its deadline (2 × 1 s + 100 ms + 1 s) and the scheduling slack of a loaded machine.
        expect(Date.parse(turn.finishedAt) - Date.parse(turn.startedAt)).toBeLessThan(3_100 + 2_000);
      }
      const served = (await sim.stop()).trim().split('\n').at(-1);
      sim = undefined;
      // Nothing beyond the attempts: 6 conversations × 2 attempts.
      const count = Number(/^served (\d+) requests/.exec(served ?? '')?.[1]);
      expect(count).toBe(6 * RETRY.maxAttempts);
    },
  );

  it.each(['openai', 'anthropic'] as const)(
    'poison requests (%s): exactly those turns fail, the rest of their runs is skipped, all else is ok',
    async (sdk) => {
      sim = await startSimulateCli(['--fail-matching', '^s[01] p2$']);
      const result = await run({
        sdk,
        sequences: 6,
        prompts: 3,
        runs: 2,
        retry: { ...RETRY, maxAttempts: 3 },
      });
      expect(result.code, result.stderr).toBe(1);
      const turns = await turnsOf(jobIdOf(result));
      expect(turns).toHaveLength(6 * 3 * 2);
      const poisoned = (t: TurnRecord) => ['s0', 's1'].includes(t.sequence);
      for (const turn of turns) {
        const expected = !poisoned(turn) || turn.turn === 1 ? 'ok' : turn.turn === 2 ? 'failed' : 'skipped';
        expect({ id: `${turn.sequence}/${turn.run}/${turn.turn}`, status: turn.status }).toEqual({
          id: `${turn.sequence}/${turn.run}/${turn.turn}`,
          status: expected,
        });
        if (turn.status === 'failed') {
          expect(turn.attempts).toBe(3);
          expect(turn.error).toMatchObject({ code: 'troupe:retries-exhausted' });
          expect(turn.error?.message).toContain('HTTP 500');
        }
      }
      expect(result.stdout).toContain('sim: 4 turns troupe:retries-exhausted, first: HTTP 500');
    },
  );

  it.each([0, 1])(
    'a refused key (%i workers) stops the provider at once: one message, few requests, every turn failed or skipped',
    async (workers) => {
      sim = await startSimulateCli(['--api-key', 'the-right-key']);
      const result = await run({ sdk: 'openai', sequences: 10, prompts: 2, runs: 2 }, workers);
      expect(result.code, result.stderr).toBe(1);
      expect(result.stderr.match(/refused the credentials/g)).toHaveLength(1);
      expect(result.stdout).toMatch(/sim: 20 turns troupe:unauthorized, first: HTTP 401/);
      expect(result.stdout).not.toContain(KEY_ENV.SIMULATOR_API_KEY);
      const turns = await turnsOf(jobIdOf(result));
      expect(turns.filter((t) => t.status === 'failed')).toHaveLength(20);
      expect(turns.filter((t) => t.status === 'skipped')).toHaveLength(20);
      const served = (await sim.stop()).trim().split('\n').at(-1) ?? '';
      sim = undefined;
      expect(served).toMatch(/^served \d+ requests: 401 ×\d+;/);
      expect(Number(/^served (\d+)/.exec(served)?.[1])).toBeLessThan(20);
    },
  );

  it('a base URL with a wrong path (404 for every request) stops the provider after a few requests, with one message', async () => {
    sim = await startSimulateCli([]);
    const path = join(dir.path, 'suite.json');
    const shape = { sdk: 'openai' as const, sequences: 20, prompts: 2, runs: 2 };
    await writeFile(path, suiteText({ ...shape, baseURL: `${sim.baseURL.openai}/wrong` }));
    const result = await runCli(
      ['run', path, '--data-dir', join(dir.path, 'data'), '--workers', '0'],
      KEY_ENV,
    );
    expect(result.code, result.stderr).toBe(1);
    expect(result.stderr.match(/refused every request/g)).toHaveLength(1);
    expect(result.stdout).toMatch(/sim: 40 turns troupe:client-error, first: HTTP 404/);
    const served = (await sim.stop()).trim().split('\n').at(-1) ?? '';
    sim = undefined;
    expect(Number(/^served (\d+)/.exec(served)?.[1])).toBeLessThan(20);
  });

  it.each([0, 1])(
    'a provider unavailable past retry.maxPauseMs (%i workers): run ends the job paused, exit 1, and --resume finishes it once the provider is back',
    async (workers) => {
      sim = await startSimulateCli(['--fault', 'status:500']);
      const shape = {
        sdk: 'openai' as const,
        sequences: 10,
        prompts: 2,
        runs: 2,
        // Attempts and deadlines far beyond the pause cap: only giving up on the provider ends the job.
        retry: { maxAttempts: 6, timeoutMs: 60_000, maxPauseMs: 2_000 },
        breaker: { ...BREAKER, consecutiveFailures: 2 },
      };
      const result = await run(shape, workers);
      expect(result.code, result.stderr).toBe(1);
      const job = jobIdOf(result);
      expect(result.stdout).toMatch(
        /paused, its unanswered turns kept: sim has been unavailable since \S+ \(circuit (open|half-open)\), longer than retry\.maxPauseMs \(2000 ms\); last failure: .*500/,
      );
      expect(result.stdout).toContain(`resume with troupe run --resume ${job}`);
      // Nothing was given up as failed: every turn is left for the resume.
      expect(await turnsOf(job)).toEqual([]);

      // The provider is back, where it was.
      const port = Number(new URL(sim.baseURL.openai).port);
      await sim.stop();
      sim = await startSimulateCli([], port);
      const resumed = await runCli(
        ['run', '--resume', job, '--data-dir', join(dir.path, 'data'), '--workers', String(workers)],
        KEY_ENV,
      );
      expect(resumed.code, resumed.stdout + resumed.stderr).toBe(0);
      const turns = await turnsOf(job);
      expect(turns).toHaveLength(10 * 2 * 2);
      expect(turns.every((t) => t.status === 'ok')).toBe(true);
    },
  );

  it.each([0, 1])(
    'Ctrl-C while the breaker is open (%i workers) exits once the requests in flight settle: no cool-down keeps the process alive',
    async (workers) => {
      // In this process, so that its record says when each request ended. Answers 500 after 300 ms
      // to 3.3 s: the breaker opens on the first two while others are still out.
      const server = await startSimulator({
        latencyMs: 300,
        latencyJitterMs: 3_000,
        faults: [{ fault: { kind: 'status', status: 500 } }],
      });
      try {
        const path = join(dir.path, 'suite.json');
        const shape = {
          sdk: 'openai' as const,
          sequences: 10,
          prompts: 2,
          runs: 2,
          // No give-up (paused) within the test: the breaker must still be open when Ctrl-C comes.
          retry: { ...RETRY, maxAttempts: 6, timeoutMs: 10_000, maxPauseMs: 120_000 },
          breaker: { ...BREAKER, consecutiveFailures: 2 },
        };
        await writeFile(path, suiteText({ ...shape, baseURL: server.openaiBaseURL }));
        const child = spawn(
          process.execPath,
          [CLI_PATH, 'run', path, '--data-dir', join(dir.path, 'data'), '--workers', String(workers)],
          { env: { PATH: process.env.PATH ?? '', ...KEY_ENV }, stdio: ['ignore', 'pipe', 'pipe'] },
        );
        let stdout = '';
        child.stdout.setEncoding('utf8').on('data', (chunk: string) => (stdout += chunk));
        const exited = new Promise<{ code: number | null; at: number }>((resolve) =>
          child.on('exit', (code) => resolve({ code, at: Date.now() })),
        );
        try {
          // Ctrl-C once the breaker has seen its two failures (four answered, to leave troupe time to
          // read them) while other requests are still out: Ctrl-C lets those finish, then troupe leaves.
          await expect
            .poll(() => server.records.filter((r) => r.finishedAt > 0).length >= 4 && server.inFlight >= 2, {
              timeout: 60_000,
              interval: 10,
            })
            .toBe(true);
          const interruptedAt = Date.now();
          child.kill('SIGINT');
          const { code, at } = await exited;
          expect(code).toBe(1);
          expect(stdout).toContain('resume it with: troupe run --resume');
          const records = server.records;
          expect(records.every((r) => r.finishedAt > 0)).toBe(true);
          // Measured from the later of the signal and the last request's end (as the server saw
          // it): what follows is troupe's own leaving. A cool-down timer would have kept it 60 s;
          // the bound is a quarter of that, so that a busy machine's slow exit cannot fail it.
          // How soon it leaves (within 1 s) is measured by `npm run bench -- interrupt`.
          const lastSettledAt = Math.max(...records.map((r) => r.finishedAt));
          // The breaker was open (its cool-down is a minute): the progress lines said so.
          expect(stdout).toContain('circuit open until');
          const settled = `last request ended ${lastSettledAt - interruptedAt} ms after the signal`;
          expect(at - Math.max(interruptedAt, lastSettledAt), settled).toBeLessThan(BREAKER.coolDownMs / 4);
        } finally {
          child.kill('SIGKILL');
        }
      } finally {
        await server.close();
      }
    },
  );
});
