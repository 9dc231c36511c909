/**
 * dialects: the seed workload's 405 turns on one OpenAI-type provider, against a simulator that
 * enforces a limit over a window and announces it in one dialect of troupe's table, each dialect at
 * the window its provider uses (Together 1 s; OpenAI, OpenRouter and the IETF draft 6 s as in
 * issue 14's measurement; Azure 10 s; Anthropic a minute; Groq requests a day and tokens a minute),
 * and `none`, which says nothing but 429s. troupe told the limit in the suite, then left to learn it.
 *
 * Each case's limit binds: the window's bucket holds less than the job, so the bound is the rate
 * term, (N − B) / R with B the bucket (the first B requests leave at once), not the 600 ms of the
 * longest conversation. At 1 200 requests a minute a minute's bucket (1 200) and a day's hold all
 * 405 turns: such a case measures troupe's fixed cost per run and per turn (what the seed workload
 * measures), not its pacing. So Anthropic's minute is measured at 300 requests a minute (a bucket
 * of 300, the last 105 turns paced: 21 s), and Groq's day as Groq limits a short job: its requests
 * a day hold the whole job, its tokens a minute bind, and the bound is (K − Bₖ) / TPM, K the tokens
 * the simulator charged the job. With the limit configured the bound also holds troupe's promise
 * to the user: a configured limit is never exceeded in any 60 s window, so U units under a cap of C
 * a minute take (⌈U / C⌉ − 1) minutes however much the provider's bucket would let through (405
 * requests at 300 a minute: a minute). `none` announces nothing: with the limit configured troupe
 * knows R and not B, and only R's even pace is sure to meet no 429 whatever the provider's bucket;
 * its configured target is read against N / R, and its ratio to the provider's own bound is printed.
 */
import type { DialectName } from '../../src/resilience/header-dialects.js';
import type { RateLimitOptions } from '../../src/simulator/rate-limit.js';
import type { Simulator } from '../../src/simulator/server.js';
import type { Limits } from '../../src/suite/types.js';
import { lowerBound } from '../lib/lower-bound.js';
import type { LowerBound } from '../lib/lower-bound.js';
import { chargedTokens } from '../lib/sim-records.js';
import { localSimulator } from '../lib/simulator-host.js';
import { buildSuite, maxTurnsOf, sequences, simModels, turnsOf } from '../lib/suite-text.js';
import type { SuiteSpec } from '../lib/suite-text.js';
import { measuredTroupeCase } from '../lib/troupe-case.js';
import { check } from '../lib/types.js';
import type { CaseResult, TargetCheck, Workload } from '../lib/types.js';

const LATENCY_MS = 200;
const MAX_TOKENS = 200;
const REQUESTS_PER_MINUTE = 1_200;
/** Anthropic's minute: a bucket of 300 holds three quarters of the 405 turns. */
const MINUTE_WINDOW_REQUESTS_PER_MINUTE = 300;
/** Groq's tokens a minute: about half the tokens the seed workload costs (58 572 tokens). */
const GROQ_TOKENS_PER_MINUTE = 30_000;
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

/** One dialect at its provider's window: what the simulator enforces, and what the suite configures. */
interface DialectCase {
  readonly dialect: DialectName;
  /** The window's name in the table. */
  readonly window: string;
  readonly rateLimit: RateLimitOptions & { readonly requestsPerMinute: number; readonly windowMs: number };
  /** The suite's `limits` in the configured run: what the provider allows. */
  readonly configured: Limits;
}

function requestWindow(
  dialect: DialectName,
  windowMs: number,
  window: string,
  rpm = REQUESTS_PER_MINUTE,
): DialectCase {
  return {
    dialect,
    window,
    rateLimit: { requestsPerMinute: rpm, windowMs },
    configured: { requestsPerMinute: rpm },
  };
}

const CASES: readonly DialectCase[] = [
  requestWindow('together', 1_000, '1 s'),
  requestWindow('openai', 6_000, '6 s'),
  requestWindow('openrouter', 6_000, '6 s'),
  requestWindow('ietf', 6_000, '6 s'),
  requestWindow('azure', 10_000, '10 s'),
  requestWindow('anthropic', MS_PER_MINUTE, '1 min', MINUTE_WINDOW_REQUESTS_PER_MINUTE),
  {
    dialect: 'groq',
    window: 'requests a day, tokens 1 min',
    rateLimit: {
      requestsPerMinute: REQUESTS_PER_MINUTE,
      windowMs: MS_PER_DAY,
      tokensPerMinute: GROQ_TOKENS_PER_MINUTE,
      tokensWindowMs: MS_PER_MINUTE,
    },
    // Groq's limits as a user reads them: requests a day (not a rate troupe takes), tokens a minute.
    configured: { tokensPerMinute: GROQ_TOKENS_PER_MINUTE },
  },
  requestWindow('none', 6_000, '6 s'),
];

function spec(sim: Simulator, dialect: DialectName, size: typeof FULL, limits?: Limits): SuiteSpec {
  return {
    name: 'bench-dialects',
    runs: RUNS,
    providers: [
      { id: 'oai', type: 'openai', baseURL: sim.openaiBaseURL, headers: dialect, ...(limits && { limits }) },
    ],
    models: simModels(size.models, 'oai', MAX_TOKENS),
    sequences: sequences('d', size.sequences, PROMPTS),
  };
}

/** Units a bucket of `perMinute` over `windowMs` holds when full (the simulator's own rule). */
function bucketOf(perMinute: number, windowMs: number): number {
  return Math.floor((perMinute * windowMs) / MS_PER_MINUTE);
}

/**
 * The bound on a job of `turns` turns (longest conversation `maxTurns`) that the provider charged
 * `tokens` tokens: every limit of `limit` binds from a full bucket, and the suite's `configured`
 * limits each cap every 60 s window (troupe's promise). With `knownBucket` false the request bucket
 * counts for nothing (the pace a client told only R can keep without a 429).
 */
function boundOf(
  limit: DialectCase['rateLimit'],
  job: { readonly turns: number; readonly maxTurns: number; readonly tokens: number },
  configured: Limits = {},
  knownBucket = true,
): LowerBound {
  const caps = [
    ...(configured.requestsPerMinute !== undefined
      ? [{ units: job.turns, perMinute: configured.requestsPerMinute }]
      : []),
    ...(configured.tokensPerMinute !== undefined
      ? [{ units: job.tokens, perMinute: configured.tokensPerMinute }]
      : []),
  ];
  return lowerBound({
    caps,
    turns: job.turns,
    maxTurns: job.maxTurns,
    latencyMs: LATENCY_MS,
    requestsPerMinute: limit.requestsPerMinute,
    burst: knownBucket ? bucketOf(limit.requestsPerMinute, limit.windowMs) : 0,
    ...(limit.tokensPerMinute !== undefined && {
      tokens: {
        total: job.tokens,
        perMinute: limit.tokensPerMinute,
        burst: bucketOf(limit.tokensPerMinute, limit.tokensWindowMs ?? limit.windowMs),
      },
    }),
  });
}

/** The case's row read against `bound` (its own, once the tokens it cost are known). */
function against(row: CaseResult, bound: LowerBound): CaseResult {
  return { ...row, lowerBoundMs: bound.ms, boundTerm: bound.term };
}

export const dialects: Workload = {
  name: 'dialects',
  summary: `the seed workload against each dialect's limit over its window (1 s, 6 s, 10 s, 1 min; Groq: requests a day, tokens a minute), each binding; limit configured, then learned`,
  async run(options) {
    const size = options.quick ? QUICK : FULL;
    const cases: CaseResult[] = [];
    const targets: TargetCheck[] = [];
    const notes: string[] = [];
    for (const { dialect, window, rateLimit, configured: limits } of CASES) {
      const host = await localSimulator({ latencyMs: LATENCY_MS, rateLimit, dialect });
      const sim = host.local as Simulator;
      try {
        const configuredSuite = await buildSuite(spec(sim, dialect, size, limits));
        const learnedSuite = await buildSuite(spec(sim, dialect, size));
        const shape = { turns: turnsOf(configuredSuite), maxTurns: maxTurnsOf(configuredSuite) };
        // Before a run its tokens are not known: the timeout takes every turn at twice max_tokens.
        const provisional = boundOf(rateLimit, { ...shape, tokens: shape.turns * 2 * MAX_TOKENS });
        const name = `${dialect}, ${window}`;
        const job = { timeoutMs: provisional.ms * TIMEOUT_FACTOR + TIMEOUT_SLACK_MS };
        const configured = await measuredTroupeCase(
          sim,
          options,
          `${name}: limit configured`,
          configuredSuite,
          provisional,
          job,
        );
        const configuredTokens = chargedTokens(sim.records);
        const learned = await measuredTroupeCase(
          sim,
          options,
          `${name}: learned`,
          learnedSuite,
          provisional,
          job,
        );
        const learnedTokens = chargedTokens(sim.records);
        const providerBound = boundOf(rateLimit, { ...shape, tokens: configuredTokens });
        const announced = dialect !== 'none';
        const configuredBound = boundOf(rateLimit, { ...shape, tokens: configuredTokens }, limits, announced);
        const learnedBound = boundOf(rateLimit, { ...shape, tokens: learnedTokens });
        cases.push(against(configured, configuredBound), against(learned, learnedBound));
        targets.push(
          check(
            `${name}: wall ÷ bound, configured`,
            configured.wallMs / configuredBound.ms,
            '<=',
            TARGET_CONFIGURED,
          ),
          check(`${name}: 429s, configured`, configured.rateLimited, '<=', 0),
          check(`${name}: wall ÷ bound, learned`, learned.wallMs / learnedBound.ms, '<=', TARGET_LEARNED),
        );
        notes.push(
          `${name}: bound configured ${configuredBound.term} = ${Math.round(configuredBound.ms)} ms, ` +
            `learned ${learnedBound.term} = ${Math.round(learnedBound.ms)} ms` +
            (limits.tokensPerMinute !== undefined
              ? ` (K = ${learnedTokens} tokens learned, ${configuredTokens} configured)`
              : ''),
        );
        if (!announced)
          notes.push(
            `${name}, configured: nothing announced, so bound N/R = ${Math.round(configuredBound.ms)} ms; ` +
              `against the provider's own bucket ((N−B)/R = ${Math.round(providerBound.ms)} ms) wall ÷ bound is ` +
              `${(configured.wallMs / providerBound.ms).toFixed(2)}`,
          );
      } finally {
        await host.close();
      }
    }
    const turns = size.models * size.sequences * PROMPTS * RUNS;
    return {
      name: 'dialects',
      description:
        `${turns} turns (${size.models} models × ${size.sequences} sequences × ${PROMPTS} prompts × ${RUNS} runs) on one provider, ` +
        `latency ${LATENCY_MS} ms, simulator at ${REQUESTS_PER_MINUTE} RPM over each window (Anthropic's minute: ${MINUTE_WINDOW_REQUESTS_PER_MINUTE}; ` +
        `Groq: ${REQUESTS_PER_MINUTE} RPM over a day and ${GROQ_TOKENS_PER_MINUTE} TPM over a minute); bound (N − B) / R or (K − Bₖ) / TPM, B the window's bucket`,
      cases,
      targets,
      ratios: {},
      notes,
    };
  },
};
