/**
 * dialects: the seed workload's 405 turns on one OpenAI-type provider, against a simulator that
 * enforces 1 200 requests per minute over a window and announces it in one dialect of troupe's
 * table: each dialect at the window its provider uses (Together 1 s, OpenAI, OpenRouter and the
 * IETF draft 6 s as in issue 14's measurement, Azure 10 s, Anthropic a minute, Groq a day), and
 * `none`, which says nothing but 429s. troupe told the limit in the suite, then left to learn it.
 * Lower bound: (N − B) / R with B the window's bucket (a day's or a minute's bucket holds the
 * whole job: then T·L).
 */
import type { DialectName } from '../../src/resilience/header-dialects.js';
import type { Simulator } from '../../src/simulator/server.js';
import type { Limits } from '../../src/suite/types.js';
import { lowerBound } from '../lib/lower-bound.js';
import { localSimulator } from '../lib/simulator-host.js';
import { buildSuite, maxTurnsOf, sequences, simModels, turnsOf } from '../lib/suite-text.js';
import type { SuiteSpec } from '../lib/suite-text.js';
import { measuredTroupeCase } from '../lib/troupe-case.js';
import { check } from '../lib/types.js';
import type { CaseResult, TargetCheck, Workload } from '../lib/types.js';

const LATENCY_MS = 200;
const REQUESTS_PER_MINUTE = 1_200;
const MS_PER_MINUTE = 60_000;
const MS_PER_DAY = 86_400_000;
const PROMPTS = 3;
const RUNS = 3;
const FULL = { models: 3, sequences: 15 };
const QUICK = { models: 1, sequences: 5 };
/** Issue 14's targets: the limit configured, then learned from the headers. */
const TARGET_CONFIGURED = 1.1;
const TARGET_LEARNED = 1.3;
/** A job may take this many times its lower bound, plus a minute, before the bench fails it. */
const TIMEOUT_FACTOR = 4;
const TIMEOUT_SLACK_MS = 60_000;

/** Each dialect with the window its provider counts over. */
const CASES: readonly { readonly dialect: DialectName; readonly windowMs: number }[] = [
  { dialect: 'together', windowMs: 1_000 },
  { dialect: 'openai', windowMs: 6_000 },
  { dialect: 'openrouter', windowMs: 6_000 },
  { dialect: 'ietf', windowMs: 6_000 },
  { dialect: 'azure', windowMs: 10_000 },
  { dialect: 'anthropic', windowMs: MS_PER_MINUTE },
  { dialect: 'groq', windowMs: MS_PER_DAY },
  { dialect: 'none', windowMs: 6_000 },
];

function spec(sim: Simulator, dialect: DialectName, size: typeof FULL, limits?: Limits): SuiteSpec {
  return {
    name: 'bench-dialects',
    runs: RUNS,
    providers: [
      { id: 'oai', type: 'openai', baseURL: sim.openaiBaseURL, headers: dialect, ...(limits && { limits }) },
    ],
    models: simModels(size.models, 'oai', 200),
    sequences: sequences('d', size.sequences, PROMPTS),
  };
}

function windowLabel(windowMs: number): string {
  if (windowMs >= MS_PER_DAY) return 'a day';
  if (windowMs >= MS_PER_MINUTE) return `${windowMs / MS_PER_MINUTE} min`;
  return `${windowMs / 1000} s`;
}

export const dialects: Workload = {
  name: 'dialects',
  summary: `the seed workload against ${REQUESTS_PER_MINUTE} RPM over each dialect's window (1 s, 6 s, 10 s, 1 min, a day); limit configured, then learned`,
  async run(options) {
    const size = options.quick ? QUICK : FULL;
    const cases: CaseResult[] = [];
    const targets: TargetCheck[] = [];
    const notes: string[] = [];
    for (const { dialect, windowMs } of CASES) {
      const host = await localSimulator({
        latencyMs: LATENCY_MS,
        rateLimit: { requestsPerMinute: REQUESTS_PER_MINUTE, windowMs },
        dialect,
      });
      const sim = host.local as Simulator;
      try {
        const configuredSuite = await buildSuite(
          spec(sim, dialect, size, { requestsPerMinute: REQUESTS_PER_MINUTE }),
        );
        const learnedSuite = await buildSuite(spec(sim, dialect, size));
        const bound = lowerBound({
          turns: turnsOf(configuredSuite),
          maxTurns: maxTurnsOf(configuredSuite),
          latencyMs: LATENCY_MS,
          requestsPerMinute: REQUESTS_PER_MINUTE,
          // The simulator's bucket holds the window's worth and starts full.
          burst: Math.floor((REQUESTS_PER_MINUTE * windowMs) / MS_PER_MINUTE),
        });
        const name = `${dialect}, ${windowLabel(windowMs)}`;
        const job = { timeoutMs: bound.ms * TIMEOUT_FACTOR + TIMEOUT_SLACK_MS };
        const configured = await measuredTroupeCase(
          sim,
          options,
          `${name}: limit configured`,
          configuredSuite,
          bound,
          job,
        );
        const learned = await measuredTroupeCase(sim, options, `${name}: learned`, learnedSuite, bound, job);
        cases.push(configured, learned);
        targets.push(
          check(`${name}: wall ÷ bound, configured`, configured.wallMs / bound.ms, '<=', TARGET_CONFIGURED),
          check(`${name}: 429s, configured`, configured.rateLimited, '<=', 0),
          check(`${name}: wall ÷ bound, learned`, learned.wallMs / bound.ms, '<=', TARGET_LEARNED),
        );
        if (bound.term === 'T·L')
          notes.push(`${name}: the window's bucket holds the whole job; the bound is T·L = ${bound.ms} ms`);
      } finally {
        await host.close();
      }
    }
    const turns = size.models * size.sequences * PROMPTS * RUNS;
    return {
      name: 'dialects',
      description:
        `${turns} turns (${size.models} models × ${size.sequences} sequences × ${PROMPTS} prompts × ${RUNS} runs) on one provider, ` +
        `simulator at ${REQUESTS_PER_MINUTE} RPM over each window, latency ${LATENCY_MS} ms; bound (N − B) / R, B the window's bucket`,
      cases,
      targets,
      ratios: {},
      notes,
    };
  },
};
