/**
 * One owner per job: two `troupe run --resume` of one job at once — one runs it, the other refuses
 * (exit 2, naming the holder), and the provider sees each remaining turn once. A lease left by a
 * dead process, or one whose heartbeat is stale, is taken over.
 */
import { spawn } from 'node:child_process';

import { hostname } from 'node:os';
import { join } from 'node:path';

import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { ExitCode } from '../src/errors.js';
import { createJob } from '../src/runtime/jobs.js';
import { startSimulator } from '../src/simulator/server.js';
import type { Simulator } from '../src/simulator/server.js';
import { leaseIsLive } from '../src/store/job-lease.js';
import { openLmdbStore } from '../src/store/lmdb-store.js';
import type { JobLease } from '../src/store/records.js';
import { parseSuite } from '../src/suite/load.js';
import { runCli } from './helpers/cli.js';
import { tempDir } from './helpers/temp.js';

const KEY_ENV = 'LEASE_TEST_KEY';
/** 2 models × 4 sequences × 2 prompts × 2 runs. */
const TURNS = 32;

const suiteText = (sim: Simulator): string => `name: lease
runs: 2
providers:
  sim: { type: openai, baseURL: "${sim.openaiBaseURL}", apiKeyEnv: ${KEY_ENV} }
models:
  - { id: m1, provider: sim, model: lease-1, maxTokens: 16 }
  - { id: m2, provider: sim, model: lease-2, maxTokens: 16 }
sequences:
${Array.from({ length: 4 }, (_, i) => `  - { id: s${i}, prompts: ["hello ${i}", "again"] }`).join('\n')}
`;

/** The pid of a process that has ended. */
function deadPid(): Promise<number> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['-e', '0']);
    child.on('error', reject);
    child.on('exit', () => {
      if (child.pid === undefined) reject(new Error('no pid'));
      else resolve(child.pid);
    });
  });
}

describe('the job lease', () => {
  let base: Awaited<ReturnType<typeof tempDir>>;
  let sim: Simulator;

  beforeAll(async () => {
    base = await tempDir('troupe-lease-');
    sim = await startSimulator({ latencyMs: 500 });
  });

  afterAll(async () => {
    await sim.close();
    await base.cleanup();
  });

  async function storedJob(name: string): Promise<{ dataDir: string; job: string }> {
    const dataDir = join(base.path, name);
    const store = await openLmdbStore(dataDir);
    try {
      const { suite } = await parseSuite(suiteText(sim), 'lease.yaml', () =>
        Promise.reject(new Error('none')),
      );
      return { dataDir, job: (await createJob(store, suite, 'lease.yaml')).id };
    } finally {
      await store.close();
    }
  }

  async function putLease(dataDir: string, lease: JobLease): Promise<void> {
    const store = await openLmdbStore(dataDir);
    try {
      store.acquireLease(lease, () => false);
    } finally {
      await store.close();
    }
  }

  const resume = (dataDir: string, job: string) =>
    runCli(['run', '--resume', job, '--data-dir', dataDir, '--workers', '0'], { [KEY_ENV]: 'k' });

  it('lets one of two concurrent run --resume run the job; the other refuses naming it, and no turn is paid twice', async () => {
    const { dataDir, job } = await storedJob('concurrent');
    sim.reset();
    const results = await Promise.all([resume(dataDir, job), resume(dataDir, job)]);
    const codes = results.map((r) => r.code).sort();
    expect(codes).toEqual([ExitCode.ok, ExitCode.badInput]);
    const refused = results.find((r) => r.code === ExitCode.badInput);
    expect(refused?.stderr).toMatch(
      new RegExp(`job ${job} is already being run by troupe run \\(pid \\d+ on `),
    );
    expect(sim.records).toHaveLength(TURNS);
    // The lease is released when the run ends: the job can be resumed (it is done) at once.
    const again = await resume(dataDir, job);
    expect(again.code).toBe(ExitCode.ok);
    expect(sim.records).toHaveLength(TURNS);
  });

  it('takes over a lease whose process is gone, and one whose heartbeat is stale; refuses a live one', async () => {
    const now = new Date();
    const lease = (overrides: Partial<JobLease>): JobLease => ({
      job: '',
      owner: 'troupe daemon',
      pid: process.pid,
      host: hostname(),
      token: 'a token of another process',
      acquiredAt: now.toISOString(),
      heartbeatAt: now.toISOString(),
      staleAfterMs: 30_000,
      ...overrides,
    });

    const dead = await storedJob('dead-holder');
    await putLease(dead.dataDir, lease({ job: dead.job, pid: await deadPid() }));
    expect((await resume(dead.dataDir, dead.job)).code).toBe(ExitCode.ok);

    const stale = await storedJob('stale-holder');
    const old = new Date(now.getTime() - 60_000).toISOString();
    await putLease(stale.dataDir, lease({ job: stale.job, host: 'elsewhere', pid: 1, heartbeatAt: old }));
    expect((await resume(stale.dataDir, stale.job)).code).toBe(ExitCode.ok);

    const live = await storedJob('live-holder');
    await putLease(live.dataDir, lease({ job: live.job, host: 'elsewhere', pid: 4242 }));
    const refused = await resume(live.dataDir, live.job);
    expect(refused.code).toBe(ExitCode.badInput);
    expect(refused.stderr).toContain(`already being run by troupe daemon (pid 4242 on elsewhere`);
    // A daemon refuses the same way, before it runs anything.
    const daemon = await runCli(['daemon', '--data-dir', live.dataDir, '--workers', '0'], { [KEY_ENV]: 'k' });
    expect(daemon.code).toBe(ExitCode.badInput);
    expect(daemon.stderr).toContain('already being run by troupe daemon (pid 4242 on elsewhere');
  });

  it('judges liveness from heartbeat and process', () => {
    const at = Date.parse('2026-12-01T00:00:00.000Z');
    const held: JobLease = {
      job: 'j',
      owner: 'troupe run',
      pid: process.pid,
      host: 'h',
      token: 't',
      acquiredAt: '2026-12-01T00:00:00.000Z',
      heartbeatAt: '2026-12-01T00:00:00.000Z',
      staleAfterMs: 30_000,
    };
    expect(leaseIsLive(held, at + 29_000, 'h')).toBe(true);
    expect(leaseIsLive(held, at + 31_000, 'h')).toBe(false);
    expect(leaseIsLive({ ...held, heartbeatAt: 'garbage' }, at, 'h')).toBe(false);
  });
});
