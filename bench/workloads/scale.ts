/**
 * scale: troupe's own cost per turn must not grow with the job, and its memory must be bounded by
 * the work in flight, not by the job. A real `troupe daemon` runs 10 000, 100 000 and 1 000 000
 * conversations × 2 turns on the built-in simulated provider (20 ms, no limits), and 100 000 over
 * HTTP to the simulator; each job is killed with SIGKILL (the daemon and its workers) at half its
 * turns and the daemon started again. Per size: wall, turns/s, CPU µs per turn and the peak RSS of
 * every process of the daemon, LMDB bytes per turn, and the time from the restart to the first
 * request. `--quick` runs the two smaller sizes.
 */
import type { ChildProcess } from 'node:child_process';
import { stat, writeFile } from 'node:fs/promises';
import { freePort } from '../lib/free-port.js';
import { availableParallelism } from 'node:os';
import { join } from 'node:path';
import { callDaemon } from '../../src/daemon/control-client.js';
import { openLmdbStore } from '../../src/store/lmdb-store.js';
import { childSimulator } from '../lib/simulator-host.js';
import { childPids, killWholeDaemon, runCli, sampleProcess, startDaemon } from '../lib/daemon-process.js';
import type { ProcessSample } from '../lib/daemon-process.js';
import { mb } from '../lib/memory.js';
import { makeTempDir } from '../lib/temp-dir.js';
import { BENCH_KEY_ENV } from '../lib/suite-text.js';
import { check } from '../lib/types.js';
import type { BenchOptions, CaseResult, TargetCheck, Workload } from '../lib/types.js';

const SIZES = [10_000, 100_000, 1_000_000];
const QUICK_SIZES = [10_000, 100_000];
/** The size also run over HTTP to the simulator (a child process, as `troupe simulate` is). */
const HTTP_SIZE = 100_000;
const TURNS_PER_CONVERSATION = 2;
/** Runs per sequence: a suite of few sequences and many runs (sizes ÷ this = sequences). */
const RUNS = 1_000;
const LATENCY_MS = 20;
const KILL_AT_FRACTION = 0.5;
const FIRST_REQUEST_TARGET_MS = 2_000;
const RSS_TARGET_BYTES = 512 * 1024 * 1024;
const RSS_GROWTH_TARGET = 1.3;
const CPU_GROWTH_TARGET = 1.25;
/** How often the daemon's processes are sampled, and its progress polled, in ms. */
const SAMPLE_MS = 250;
/**
 * How often the daemon's metrics are read while waiting for its first request after the restart,
 * in ms: the figure's resolution. Every read is a scrape the restarting daemon serves on the cores
 * it needs for its first request; at 10 ms the scrapes took a tenth of its CPU before it.
 */
const FIRST_REQUEST_POLL_MS = 50;
/** Longest a phase (half the job, the restart, the rest) may take before the bench gives up, in ms. */
const PHASE_TIMEOUT_MS = 1_800_000;
/** The metric counted when a request gets its permit: the first one after a restart is the first request. */
const PERMIT_METRIC = 'troupe_rate_limiter_wait_seconds_count';

interface SizeResult {
  readonly label: string;
  readonly conversations: number;
  readonly case: CaseResult;
  readonly cpuUsPerTurn: number;
  readonly treePeakRssBytes: number;
  /** The same sum of peaks, of the anonymous memory alone (heap, buffers: not the store's mapped file). */
  readonly treePeakAnonBytes: number;
  readonly firstRequestMs: number;
}

function suiteText(conversations: number, provider: { readonly baseURL?: string }): string {
  const sequences = Math.max(1, Math.round(conversations / RUNS));
  const runs = Math.round(conversations / sequences);
  const providers =
    provider.baseURL === undefined
      ? { sim: { type: 'simulated', latencyMs: LATENCY_MS } }
      : { sim: { type: 'openai', baseURL: provider.baseURL, apiKeyEnv: BENCH_KEY_ENV.openai } };
  return JSON.stringify({
    name: `bench-scale-${conversations}`,
    runs,
    providers,
    models: [{ id: 'm1', provider: 'sim', model: 'sim-scale', maxTokens: 32 }],
    sequences: Array.from({ length: sequences }, (_, s) => ({
      id: `seq${s + 1}`,
      prompts: Array.from(
        { length: TURNS_PER_CONVERSATION },
        (_, p) => `Sequence ${s + 1}, question ${p + 1}: answer in a sentence.`,
      ),
    })),
  });
}

async function until(
  what: string,
  condition: () => boolean | Promise<boolean>,
  pollMs = SAMPLE_MS,
): Promise<void> {
  const deadline = Date.now() + PHASE_TIMEOUT_MS;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error(`scale: timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, pollMs));
  }
}

/** A process's last sample, its role, and the most anonymous memory it was seen to hold. */
type TreeSample = ProcessSample & { readonly role: string; readonly peakAnonBytes: number };

/** Samples a daemon's processes (itself and its workers) until stopped; keeps each one's last sample. */
function sampleTree(daemon: ChildProcess, samples: Map<number, TreeSample>, incarnation: number) {
  let stopped = false;
  const sampleOnce = async (): Promise<void> => {
    const pid = daemon.pid;
    if (pid === undefined) return;
    const pids = [pid, ...(await childPids(pid))];
    for (const [index, one] of pids.entries()) {
      const sample = await sampleProcess(one);
      if (sample === undefined) continue;
      const role = index === 0 ? `daemon #${incarnation}` : `worker pid ${one} #${incarnation}`;
      const previous = samples.get(one);
      const peakAnonBytes = Math.max(previous?.peakAnonBytes ?? 0, sample.anonRssBytes);
      // A process being reaped has no memory figures left: its last peak stands.
      const peakRssBytes = Math.max(previous?.peakRssBytes ?? 0, sample.peakRssBytes);
      samples.set(one, { ...sample, role, peakAnonBytes, peakRssBytes });
    }
  };
  const loop = (async () => {
    while (!stopped) {
      await sampleOnce();
      await new Promise((resolve) => setTimeout(resolve, SAMPLE_MS));
    }
  })();
  return {
    sampleNow: sampleOnce,
    stop: async () => {
      stopped = true;
      await loop;
    },
  };
}

async function permitsGranted(port: number): Promise<number> {
  try {
    const text = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
    let total = 0;
    for (const line of text.split('\n'))
      if (line.startsWith(PERMIT_METRIC)) total += Number(line.split(' ').at(-1));
    return total;
  } catch {
    return 0;
  }
}

/** Turns done, as the daemon's status says; 0 while it does not answer (busy, or starting). */
async function doneTurns(dataDir: string, job: string): Promise<number> {
  let answer;
  try {
    answer = await callDaemon(dataDir, { type: 'status', job });
  } catch {
    return 0;
  }
  if (answer.type !== 'status') return 0;
  let done = 0;
  for (const status of answer.jobs)
    for (const model of status.models) done += model.counts.ok + model.counts.failed + model.counts.skipped;
  return done;
}

async function runSize(
  conversations: number,
  options: BenchOptions,
  provider: { readonly baseURL?: string; readonly label: string },
): Promise<SizeResult> {
  const dir = await makeTempDir();
  const dataDir = join(dir.path, 'data');
  const workers = options.workers ?? availableParallelism();
  const turns = conversations * TURNS_PER_CONVERSATION;
  const samples = new Map<number, TreeSample>();
  let daemon: ChildProcess | undefined;
  try {
    const suitePath = join(dir.path, 'scale.json');
    await writeFile(suitePath, suiteText(conversations, provider));
    const args = (port: number): string[] => ['--workers', String(workers), '--metrics-port', String(port)];

    const first = startDaemon(dataDir, args(await freePort()));
    daemon = first.child;
    await first.started;
    const firstSampler = sampleTree(daemon, samples, 1);
    const submittedAt = Date.now();
    const job = await runCli(['submit', suitePath, '--data-dir', dataDir]);
    await until('half the turns', async () => (await doneTurns(dataDir, job)) >= turns * KILL_AT_FRACTION);
    await firstSampler.sampleNow();
    await killWholeDaemon(daemon);
    await firstSampler.stop();
    const killedAt = Date.now();

    const port = await freePort();
    const restartAt = Date.now();
    const second = startDaemon(dataDir, args(port));
    daemon = second.child;
    const secondSampler = sampleTree(daemon, samples, 2);
    await second.started;
    await until(
      'the first request after the restart',
      async () => (await permitsGranted(port)) > 0,
      FIRST_REQUEST_POLL_MS,
    );
    const firstRequestMs = Date.now() - restartAt;
    const store = await openLmdbStore(dataDir, { readOnly: true });
    let stored;
    try {
      await until('the job to finish', () => store.getJob(job)?.state === 'done');
      const doneAt = Date.now();
      await secondSampler.sampleNow();
      await secondSampler.stop();
      stored = { counts: store.countTurns(job), doneAt };
    } finally {
      await store.close();
    }
    if (stored.counts.ok !== turns || stored.counts.total !== turns) {
      throw new Error(`scale: ${stored.counts.ok} of ${turns} turns ok (${stored.counts.total} stored)`);
    }
    const lmdbBytes = (await stat(join(dataDir, 'data.mdb'))).size;
    const wallMs = stored.doneAt - submittedAt;
    const all = [...samples.values()];
    const cpuMs = all.reduce((sum, s) => sum + s.cpuMs, 0);
    const treeOf = (incarnation: number): number =>
      all.filter((s) => s.role.endsWith(`#${incarnation}`)).reduce((sum, s) => sum + s.peakRssBytes, 0);
    const treePeakRssBytes = Math.max(treeOf(1), treeOf(2));
    const anonOf = (incarnation: number): number =>
      all.filter((s) => s.role.endsWith(`#${incarnation}`)).reduce((sum, s) => sum + s.peakAnonBytes, 0);
    const treePeakAnonBytes = Math.max(anonOf(1), anonOf(2));
    const details: Record<string, number | string> = {
      'restart → first request ms': firstRequestMs,
      'down ms (kill → restart)': restartAt - killedAt,
      'LMDB bytes/turn': Math.round(lmdbBytes / turns),
      'tree peak RSS MB': mb(treePeakRssBytes),
      'tree peak anonymous RSS MB (sampled)': mb(treePeakAnonBytes),
    };
    for (const s of all) {
      details[`peak RSS ${s.role} MB`] = mb(s.peakRssBytes);
      details[`peak anonymous RSS ${s.role} MB`] = mb(s.peakAnonBytes);
    }
    const label = `${provider.label}, ${conversations.toLocaleString('en')} conversations`;
    return {
      label,
      conversations,
      cpuUsPerTurn: (cpuMs * 1000) / turns,
      treePeakRssBytes,
      treePeakAnonBytes,
      firstRequestMs,
      case: {
        label,
        kind: 'troupe',
        turns,
        wallMs,
        turnsPerSecond: turns / (wallMs / 1000),
        rateLimited: 0,
        cpuMs,
        peakRssBytes: treePeakRssBytes,
        details,
      },
    };
  } finally {
    daemon?.kill('SIGKILL');
    await dir.remove();
  }
}

/** One line per size as it finishes: a 1 000 000 run takes minutes. */
function describe(result: SizeResult): string {
  const c = result.case;
  const details = Object.entries(c.details ?? {})
    .map(([name, value]) => `${name} ${value}`)
    .join(', ');
  return `wall ${(c.wallMs / 1000).toFixed(1)} s, ${Math.round(c.turnsPerSecond)} turns/s, CPU ${Math.round(result.cpuUsPerTurn)} µs/turn, tree peak RSS ${mb(result.treePeakRssBytes)} MB (anonymous ${mb(result.treePeakAnonBytes)} MB), restart → first request ${result.firstRequestMs} ms\n    ${details}`;
}

export const scale: Workload = {
  name: 'scale',
  summary: '10 000 / 100 000 / 1 000 000 conversations × 2 turns on one daemon: CPU per turn, RSS, restart',
  async run(options) {
    const sizes = options.quick ? QUICK_SIZES : SIZES;
    const results: SizeResult[] = [];
    for (const size of sizes) {
      process.stdout.write(`  scale: ${size} conversations (simulated provider)…\n`);
      const result = await runSize(size, options, { label: 'simulated' });
      results.push(result);
      process.stdout.write(`    ${describe(result)}\n`);
    }
    process.stdout.write(`  scale: ${HTTP_SIZE} conversations over HTTP…\n`);
    const sim = await childSimulator({ latencyMs: LATENCY_MS });
    try {
      const result = await runSize(HTTP_SIZE, options, {
        label: 'HTTP simulator',
        baseURL: sim.openaiBaseURL,
      });
      results.push(result);
      process.stdout.write(`    ${describe(result)}\n`);
    } finally {
      await sim.close();
    }
    const simulated = results.filter((r) => !r.label.startsWith('HTTP'));
    const smallest = simulated[0];
    const largest = simulated.at(-1);
    const targets: TargetCheck[] = [];
    const ratios: Record<string, number> = {};
    if (smallest && largest && largest !== smallest) {
      const cpuGrowth = largest.cpuUsPerTurn / smallest.cpuUsPerTurn;
      const rssGrowth = largest.treePeakRssBytes / smallest.treePeakRssBytes;
      ratios[`CPU per turn, ${largest.conversations} ÷ ${smallest.conversations}`] = cpuGrowth;
      ratios[`tree peak RSS, ${largest.conversations} ÷ ${smallest.conversations}`] = rssGrowth;
      ratios[`tree peak anonymous RSS, ${largest.conversations} ÷ ${smallest.conversations}`] =
        largest.treePeakAnonBytes / smallest.treePeakAnonBytes;
      targets.push(check('CPU per turn growth, largest ÷ smallest', cpuGrowth, '<=', CPU_GROWTH_TARGET));
      targets.push(check('tree peak RSS growth, largest ÷ smallest', rssGrowth, '<=', RSS_GROWTH_TARGET));
      targets.push(
        check('tree peak RSS of the largest (MB)', mb(largest.treePeakRssBytes), '<=', mb(RSS_TARGET_BYTES)),
      );
    }
    for (const result of results) {
      targets.push(
        check(
          `${result.label}: restart → first request (ms)`,
          result.firstRequestMs,
          '<=',
          FIRST_REQUEST_TARGET_MS,
        ),
      );
    }
    return {
      name: 'scale',
      description: `conversations × ${TURNS_PER_CONVERSATION} turns (${RUNS} runs per sequence), latency ${LATENCY_MS} ms, no limits, a daemon with ${options.workers ?? availableParallelism()} workers, SIGKILL of the daemon and its workers at ${KILL_AT_FRACTION * 100} % and a restart`,
      cases: results.map((r) => r.case),
      targets,
      ratios,
      notes: [
        'CPU and peak RSS are of every process of the daemon, both incarnations (read from /proc); the tree RSS is the sum of the peaks of one incarnation’s processes, the larger of the two',
        'anonymous RSS: the same sums of the processes’ anonymous memory alone (heap, buffers, native allocations), without the pages of the store’s data file that LMDB maps and the kernel counts in RSS (shared by the processes, dropped by the kernel when it needs the memory)',
        `wall includes the kill and the restart; the first request after the restart is the first permit granted (the daemon’s metrics, read every ${FIRST_REQUEST_POLL_MS} ms)`,
        'LMDB bytes per turn: the data file’s size ÷ the turns',
      ],
    };
  },
};
