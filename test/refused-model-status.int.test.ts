/**
 * `troupe status` through a real daemon shows what a provider refused, with why: a model the
 * provider does not know (404 naming it) beside a healthy model of the same provider, and a
 * provider that refuses the credentials (401). A third provider never answers, so the job is
 * still running while the test reads `status` (no race with the job's end). The daemon's
 * `/metrics` says the same: the refused model's gauge, the refused provider's breaker state.
 */
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { JobStatus, ModelStatus } from '../src/actors/supervisor.js';
import { runCli } from './helpers/cli.js';
import { DAEMON_WAIT_MS, DaemonProcess } from './helpers/daemon.js';
import { startSimulateCli } from './helpers/simulate-cli.js';
import type { SimulatorChild } from './helpers/simulate-cli.js';
import { tempDir } from './helpers/temp.js';

const KEY_ENV = { SIMULATOR_API_KEY: 'sk-test-refused-status-0123456789' };
const KNOWN = 'gpt-4o-mini';
const SIZE = { sequences: 4, prompts: 2, runs: 2 };
/** Bound of one request to the daemon's metrics endpoint. */
const REQUEST_TIMEOUT_MS = 5_000;
/** `troupe_circuit_breaker_state` of a provider that refused the credentials. */
const BREAKER_REFUSED = 3;

/** The value of the sample `name{labels}` in a Prometheus text exposition, whatever the labels' order. */
function sampleValue(exposition: string, name: string, labels: Record<string, string>): number | undefined {
  for (const line of exposition.split('\n')) {
    const match = /^(\w+)\{([^}]*)\} (\S+)$/.exec(line);
    if (match?.[1] !== name) continue;
    const found = new Map([...(match[2] ?? '').matchAll(/(\w+)="([^"]*)"/g)].map((m) => [m[1], m[2]]));
    if (
      found.size === Object.keys(labels).length &&
      Object.entries(labels).every(([k, v]) => found.get(k) === v)
    )
      return Number(match[3]);
  }
  return undefined;
}

function suiteText(sims: { sim: SimulatorChild; locked: SimulatorChild; hung: SimulatorChild }): string {
  const provider = (child: SimulatorChild) => ({
    type: 'openai',
    baseURL: child.baseURL.openai,
    apiKeyEnv: 'SIMULATOR_API_KEY',
    limits: { maxConcurrency: 2 },
  });
  return JSON.stringify({
    name: 'refused-status',
    runs: SIZE.runs,
    providers: { sim: provider(sims.sim), locked: provider(sims.locked), hung: provider(sims.hung) },
    models: [
      { id: 'right', provider: 'sim', model: KNOWN, maxTokens: 32 },
      { id: 'wrong', provider: 'sim', model: `${KNOWN}-no-such-model`, maxTokens: 32 },
      { id: 'keyless', provider: 'locked', model: KNOWN, maxTokens: 32 },
      { id: 'held', provider: 'hung', model: KNOWN, maxTokens: 32 },
    ],
    sequences: Array.from({ length: SIZE.sequences }, (_, i) => ({
      id: `s${i}`,
      prompts: Array.from({ length: SIZE.prompts }, (_, k) => `s${i} p${k + 1}`),
    })),
  });
}

describe('status shows a model or provider refused by the provider (real daemon, real SDK)', () => {
  let dir: Awaited<ReturnType<typeof tempDir>>;
  let daemon: DaemonProcess | undefined;
  const sims: SimulatorChild[] = [];

  beforeEach(async () => {
    dir = await tempDir();
  });
  afterEach(async () => {
    // A request of `held` is still out: nothing to drain, the daemon is only cleaned up.
    await daemon?.stop('SIGKILL');
    daemon = undefined;
    await Promise.all(sims.splice(0).map((sim) => sim.stop()));
    await dir.cleanup();
  });

  const started = async (args: readonly string[]): Promise<SimulatorChild> => {
    const sim = await startSimulateCli(args, 0, 10);
    sims.push(sim);
    return sim;
  };

  it('a 404 naming a model and a 401 of a provider: status --json and the table say which and why, the healthy model finishes', async () => {
    const [sim, locked, hung] = await Promise.all([
      started(['--models', KNOWN]),
      started(['--fault', 'status:401']),
      started(['--fault', 'hang']),
    ]);
    const dataDir = join(dir.path, 'data');
    const path = join(dir.path, 'suite.json');
    await writeFile(path, suiteText({ sim, locked, hung }));
    // Port 0: the daemon binds a free port and logs which.
    daemon = await DaemonProcess.start(dataDir, KEY_ENV, ['--workers', '1', '--metrics-port', '0']);
    const metricsPort = Number((await daemon.waitForLog('metrics served')).port);
    expect(metricsPort).toBeGreaterThan(0);
    const exposition = async (): Promise<string> => {
      const answer = await fetch(`http://127.0.0.1:${metricsPort}/metrics`, {
        signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS),
      });
      return answer.text();
    };
    const submitted = await runCli(['submit', path, '--data-dir', dataDir], KEY_ENV);
    expect(submitted.code, submitted.stdout + submitted.stderr).toBe(0);
    const job = submitted.stdout.trim();
    expect(job, submitted.stdout).toMatch(/^\S+$/);

    const perModel = SIZE.sequences * SIZE.prompts * SIZE.runs;
    const modelsNow = async (): Promise<Map<string, ModelStatus>> => {
      const out = await runCli(['status', job, '--data-dir', dataDir, '--json'], KEY_ENV);
      expect(out.code, out.stdout + out.stderr).toBe(0);
      const { jobs } = JSON.parse(out.stdout) as { jobs: JobStatus[] };
      return new Map((jobs[0]?.models ?? []).map((m) => [m.model, m]));
    };
    const doneOf = (m: ModelStatus | undefined) =>
      m ? m.counts.ok + m.counts.failed + m.counts.skipped : -1;
    // Until the healthy model and both refused ones are through (held never answers).
    await expect
      .poll(
        async () => {
          const models = await modelsNow();
          return ['right', 'wrong', 'keyless'].map((id) => doneOf(models.get(id)));
        },
        { timeout: DAEMON_WAIT_MS, interval: 200 },
      )
      .toEqual([perModel, perModel, perModel]);

    const models = await modelsNow();
    expect(models.get('right')?.counts.ok).toBe(perModel);
    expect(models.get('right')?.refused).toBeUndefined();
    expect(models.get('right')?.providerStatus?.state).toBe('ok');
    // The model the provider does not know: refused, with the provider's reason; its provider is fine.
    const wrong = models.get('wrong');
    expect(wrong?.refused?.code).toBe('troupe:client-error');
    expect(wrong?.refused?.reason).toMatch(
      /^sim refused model wrong, so none of its remaining turns is sent: .*404/,
    );
    expect(wrong?.providerStatus?.state).toBe('ok');
    // The provider that refused the credentials: refused as a whole, with its answer.
    const keyless = models.get('keyless');
    expect(keyless?.refused).toBeUndefined();
    expect(keyless?.providerStatus?.state).toBe('refused');
    expect(keyless?.providerStatus?.reason).toMatch(/401/);
    expect(models.get('held')?.refused).toBeUndefined();

    const table = await runCli(['status', job, '--data-dir', dataDir], KEY_ENV);
    expect(table.code, table.stdout + table.stderr).toBe(0);
    const line = (id: string) =>
      table.stdout.split('\n').find((l) => l.trimStart().startsWith(`${id} `)) ?? '';
    expect(line('wrong')).toMatch(
      /sim: refused this model: sim refused model wrong, so none of its remaining turns is sent/,
    );
    expect(line('keyless')).toMatch(/locked: refused: .*401/);
    expect(line('right')).toMatch(/sim: ok/);
    // The API key never reaches the status.
    expect(table.stdout).not.toContain(KEY_ENV.SIMULATOR_API_KEY);

    // The metrics, sampled once a second: the refused model at 1, the job's others at 0; the
    // provider that refused the credentials as refused, the model's own provider closed.
    const refusedGauge = async () => {
      const text = await exposition();
      return ['right', 'wrong', 'keyless', 'held'].map((model) =>
        sampleValue(text, 'troupe_model_refused', { job_id: job, model }),
      );
    };
    await expect.poll(refusedGauge, { timeout: DAEMON_WAIT_MS, interval: 200 }).toEqual([0, 1, 0, 0]);
    const text = await exposition();
    expect(sampleValue(text, 'troupe_circuit_breaker_state', { provider: 'locked' })).toBe(BREAKER_REFUSED);
    expect(sampleValue(text, 'troupe_circuit_breaker_state', { provider: 'sim' })).toBe(0);
    expect(text).not.toContain(KEY_ENV.SIMULATOR_API_KEY);

    // Another job on the same daemon and provider, whose model of the same id `wrong` is one the
    // provider knows: the refusal was of the first job's model, not of the id.
    const second = join(dir.path, 'second.json');
    await writeFile(
      second,
      JSON.stringify({
        name: 'same-id-other-model',
        runs: 1,
        providers: {
          sim: {
            type: 'openai',
            baseURL: sim.baseURL.openai,
            apiKeyEnv: 'SIMULATOR_API_KEY',
            limits: { maxConcurrency: 2 },
          },
        },
        models: [{ id: 'wrong', provider: 'sim', model: KNOWN, maxTokens: 32 }],
        sequences: [{ id: 's0', prompts: ['again p1', 'again p2'] }],
      }),
    );
    const resubmitted = await runCli(['submit', second, '--data-dir', dataDir], KEY_ENV);
    expect(resubmitted.code, resubmitted.stdout + resubmitted.stderr).toBe(0);
    const secondJob = resubmitted.stdout.trim();
    const secondState = async () => {
      const out = await runCli(['status', secondJob, '--data-dir', dataDir, '--json'], KEY_ENV);
      const { jobs } = JSON.parse(out.stdout) as { jobs: JobStatus[] };
      return jobs[0]?.state;
    };
    // Keyed by the model's id, the first job's refusal would fail these turns unsent.
    await expect.poll(secondState, { timeout: DAEMON_WAIT_MS, interval: 200 }).toBe('done');
    const out = await runCli(['status', secondJob, '--data-dir', dataDir, '--json'], KEY_ENV);
    const { jobs } = JSON.parse(out.stdout) as { jobs: JobStatus[] };
    expect(jobs[0]?.models[0]?.counts).toMatchObject({ ok: 2, failed: 0, skipped: 0 });
    expect(jobs[0]?.models[0]?.refused).toBeUndefined();
  });
});
