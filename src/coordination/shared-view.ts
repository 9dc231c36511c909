/**
 * A shared budget as `status` and the metrics show it: the budget in force, and per participant
 * (a process on some host, with its jobs) what it holds and its share of that budget. Plain data,
 * never a secret: the store's URL is shown without its credentials, and no password is held here.
 */
import { BUDGET_EPSILON } from '../resilience/defaults.js';
import type { LearnedBucket } from './budget-store.js';
import type { SharedKeyReport } from './registry.js';

/** One process drawing on a shared budget. */
export interface ParticipantView {
  /** `host:pid`: the process, as `status` and the metrics' `participant` label name it. */
  readonly process: string;
  readonly host: string;
  readonly pid: number;
  /** The provider id in that process's suite. */
  readonly provider: string;
  /** The jobs it runs on the provider. */
  readonly jobs: readonly string[];
  /** True for the process that answers (the daemon asked by `status`). */
  readonly self: boolean;
  /** Requests granted to it in the current window (a minute, plus the lease's use time). */
  readonly requests: number;
  /** Tokens granted to it in the current window, reconciled with usage. */
  readonly tokens: number;
  /** Concurrency slots it holds now. */
  readonly slots: number;
  /**
   * Its share of each budget in force, 0–1: requests and tokens in the window ÷ the limit per
   * minute, slots ÷ the concurrency limit. Absent for a budget that is not limited.
   */
  readonly share: {
    readonly requests?: number;
    readonly tokens?: number;
    readonly slots?: number;
  };
}

/** One shared key as this process sees it. */
export interface SharedKeyView {
  /** The `sharedLimits.key`. */
  readonly key: string;
  /** The provider id of this process's suite that names it. */
  readonly provider: string;
  /** The store, as configured (`sharedLimits.url`, which never holds a password). */
  readonly store: string;
  /** False while the store cannot be reached: the provider waits. */
  readonly reachable: boolean;
  /** The budget in force: the smallest limits any live participant configured. */
  readonly budget: {
    readonly requestsPerMinute?: number;
    readonly tokensPerMinute?: number;
    readonly maxConcurrency?: number;
  };
  /** Requests and tokens granted in the current window, all participants. */
  readonly requests: number;
  readonly tokens: number;
  /** A pause every participant waits out (a 429, an exhausted quota), ISO 8601, if one is in force. */
  readonly pausedUntil?: string;
  /** The live participants, this process included; empty while the store is unreachable. */
  readonly participants: readonly ParticipantView[];
  /** What the providers' headers taught, shared by every participant. */
  readonly learned: LearnedView;
}

/** What the providers' headers taught on a shared key. */
export interface LearnedView {
  /** The rate-limit header dialect this process reads its provider's answers in (`openai`, …). */
  readonly dialect?: string;
  /**
   * The per-minute rates this process's provider headers announced (offered to the key as this
   * process's limits where its suite configures none).
   */
  readonly announced?: { readonly requestsPerMinute?: number; readonly tokensPerMinute?: number };
  /** The learned buckets in force: absent where no reading holds (none yet, or past its reset). */
  readonly requests?: LearnedBucketView;
  readonly tokens?: LearnedBucketView;
}

/** One learned bucket: what the provider said is left, less what was granted since, until its reset. */
export interface LearnedBucketView {
  /** Whole units it holds now (below 0: granted beyond what the provider said was left). */
  readonly remaining: number;
  /** The limit the provider's headers stated, in its dialect's period (absent: not stated). */
  readonly limit?: number;
  /** When the provider's bucket is full again (and this one expires), ISO 8601. */
  readonly resetAt: string;
  /** ms from the store's now to that reset. */
  readonly resetInMs: number;
}

const positive = (n: number | undefined): number | undefined =>
  n !== undefined && Number.isFinite(n) && n > 0 ? n : undefined;

/** The view of one shared key, from this process's side and the store's (when it answered). */
export function sharedKeyView(report: SharedKeyReport): SharedKeyView {
  const { local, store } = report;
  const budget = {
    requestsPerMinute: positive(store?.requestsPerMinute ?? local.requestsPerMinute),
    tokensPerMinute: positive(store?.tokensPerMinute ?? local.tokensPerMinute),
    maxConcurrency: positive(store?.maxConcurrency ?? local.maxConcurrency),
  };
  const ratio = (used: number, limit: number | undefined): number | undefined =>
    limit === undefined ? undefined : used / limit;
  const participants = (store?.participants ?? []).map((p): ParticipantView => {
    const [host = '', pid = '0'] = p.id.split(':');
    const share = {
      requests: ratio(p.requests, budget.requestsPerMinute),
      tokens: ratio(p.tokens, budget.tokensPerMinute),
      slots: ratio(p.slots, budget.maxConcurrency),
    };
    return {
      process: `${p.info?.host ?? host}:${p.info?.pid ?? Number(pid)}`,
      host: p.info?.host ?? host,
      pid: p.info?.pid ?? Number(pid),
      provider: p.info?.provider ?? '',
      jobs: p.info?.jobs ?? [],
      self: p.id === local.participant,
      requests: p.requests,
      tokens: p.tokens,
      slots: p.slots,
      share: withoutUndefined(share),
    };
  });
  const pauseUntil = store !== undefined && store.pauseUntil > store.now ? store.pauseUntil : undefined;
  return {
    key: local.key,
    provider: report.provider,
    store: local.url,
    reachable: local.reachable && store !== undefined,
    budget: withoutUndefined(budget),
    requests: store?.requests ?? 0,
    tokens: store?.tokens ?? 0,
    ...(pauseUntil !== undefined && { pausedUntil: new Date(pauseUntil).toISOString() }),
    participants,
    learned: {
      ...(local.dialect !== undefined && { dialect: local.dialect }),
      ...(local.announced !== undefined && { announced: local.announced }),
      ...(store?.learned.requests && { requests: learnedBucketView(store.learned.requests, store.now) }),
      ...(store?.learned.tokens && { tokens: learnedBucketView(store.learned.tokens, store.now) }),
    },
  };
}

function learnedBucketView(bucket: LearnedBucket, now: number): LearnedBucketView {
  return {
    remaining: Math.floor(bucket.remaining + BUDGET_EPSILON),
    ...(bucket.limit !== undefined && { limit: bucket.limit }),
    resetAt: new Date(bucket.resetAt).toISOString(),
    resetInMs: Math.max(0, bucket.resetAt - now),
  };
}

function withoutUndefined<T extends Record<string, number | undefined>>(o: T): { [K in keyof T]?: number } {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as {
    [K in keyof T]?: number;
  };
}
