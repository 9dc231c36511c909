/**
 * Typed calls of one shared budget's scripts: what a participant asks for, what it is given,
 * and what the budget looks like to `status` and the metrics.
 */
import { LEASE_USE_MS, PARTICIPANT_TTL_MS } from './defaults.js';
import { budgetKeys } from './keys.js';
import type { StoreClient } from './store-client.js';
import { BURST_WINDOW_MS, RATE_WINDOW_MS } from '../resilience/defaults.js';

/** A unit count given back to, or charged to, a lease already granted. */
export interface LeaseAdjustment {
  readonly lease: string;
  /** Requests: negative gives back unused ones. */
  readonly requests: number;
  /** Tokens: negative gives back, positive charges a debt (usage above the estimate). */
  readonly tokens: number;
}

/** One limit as a reply's headers stated it, for the store (times in ms on the store's clock). */
export interface HeaderReading {
  readonly kind: 'requests' | 'tokens';
  /** Units left at the provider when it answered. */
  readonly remaining: number;
  /** Units per period, when stated. */
  readonly limit?: number;
  /** When the provider's bucket is full again. */
  readonly resetAt: number;
  /** When the request that carried the headers left (units sent after it may not be counted). */
  readonly sentAt: number;
}

/** Who a participant is, for `status` (never a secret). */
export interface ParticipantInfo {
  readonly host: string;
  readonly pid: number;
  /** The provider id in this process's suite. */
  readonly provider: string;
  /** Jobs this process runs on the provider. */
  readonly jobs: readonly string[];
}

/** The limits this participant's suite configures (0 or absent: none). */
export interface ParticipantLimits {
  readonly requestsPerMinute?: number;
  readonly tokensPerMinute?: number;
  readonly maxConcurrency?: number;
}

/** One call of the acquire script. */
export interface AcquireRequest {
  readonly participant: string;
  /** Sent when it changed (and on the first call); otherwise the stored one stands. */
  readonly info?: ParticipantInfo;
  readonly limits: ParticipantLimits;
  /** The new lease's id, `<participant>#<n>`. */
  readonly lease: string;
  readonly wantRequests: number;
  /** Below this many requests, nothing is granted (0: no requests asked for). */
  readonly minRequests: number;
  readonly wantTokens: number;
  readonly minTokens: number;
  /** Concurrency slots this participant would like to hold. */
  readonly slotsWanted: number;
  /** Requests this participant has in flight now. */
  readonly slotsInUse: number;
  readonly adjustments: readonly LeaseAdjustment[];
  /** A pause this participant learned (a 429, an exhausted quota), to share. */
  readonly pause?: { readonly until: number; readonly reason: string };
  /** True: the participant leaves; its slots go back. */
  readonly leave?: boolean;
  /** This participant's circuit breaker opened until then (ms, the store's clock): every participant sees it open. */
  readonly breakerOpenUntil?: number;
  /** What the provider's headers said, newest per kind, to share (times on the store's clock). */
  readonly readings?: readonly HeaderReading[];
  /** True: this participant's breaker closed (its probes succeeded), which ends the outage for all. */
  readonly breakerClosed?: boolean;
  /** True: this participant's breaker is half-open and would send the probe, if no one else holds it. */
  readonly wantsProbe?: boolean;
  /** The time, ms since the epoch; default: the store's clock (tests pass their own). */
  readonly now?: number;
}

/** What the acquire script answered. */
export interface AcquireReply {
  /** Changes when the store lost the budget's state. */
  readonly epoch: string;
  /** The store's time of the decision, ms since the epoch. */
  readonly now: number;
  readonly grantedRequests: number;
  readonly grantedTokens: number;
  /** When asking again may succeed, ms since the epoch on the store's clock (0: not refused). */
  readonly retryAt: number;
  /** Concurrency slots this participant holds now. */
  readonly slots: number;
  /** A shared pause in force until then (0 or past: none). */
  readonly pauseUntil: number;
  readonly pauseReason: string;
  /** The budget in force: the smallest limits any live participant configured (0: none). */
  readonly requestsPerMinute: number;
  readonly tokensPerMinute: number;
  readonly maxConcurrency: number;
  readonly participants: number;
  /** True when this call created the state (first use, or after it was lost). */
  readonly fresh: boolean;
  /** True when the store does not know this participant's info (new, or forgotten): send it next time. */
  readonly needsInfo: boolean;
  /** A participant's circuit breaker is open until then, the store's clock (0: none known). */
  readonly breakerOpenUntil: number;
  /** Units the shared learned buckets (the providers' headers) hold now; absent where none is in force. */
  readonly learnedRequests?: number;
  readonly learnedTokens?: number;
  /** The account's breaker as the store holds it: half-open once an opening's time has passed. */
  readonly breakerState: SharedBreakerState;
  /** True: this participant holds the half-open probe (it asked, and no one else holds it). */
  readonly probe: boolean;
}

/** A shared circuit breaker's state: `half-open` from the end of an opening until a close. */
export type SharedBreakerState = 'closed' | 'open' | 'half-open';

const BREAKER_STATES: readonly SharedBreakerState[] = ['closed', 'open', 'half-open'];

/** One live participant of a shared budget. */
export interface ParticipantStatus {
  readonly id: string;
  readonly info?: ParticipantInfo;
  readonly slots: number;
  /** Requests granted to it in the current window. */
  readonly requests: number;
  readonly tokens: number;
}

/** A shared budget as the store holds it now. */
export interface BudgetStatus {
  readonly now: number;
  readonly participants: readonly ParticipantStatus[];
  /** The budget in force (0: none). */
  readonly requestsPerMinute: number;
  readonly tokensPerMinute: number;
  readonly maxConcurrency: number;
  /** Units granted in the current window, all participants. */
  readonly requests: number;
  readonly tokens: number;
  readonly pauseUntil: number;
  readonly pauseReason: string;
  /** What the providers' headers taught, per kind, where a learned bucket is in force. */
  readonly learned: { readonly requests?: LearnedBucket; readonly tokens?: LearnedBucket };
}

/** A learned bucket: a provider's `remaining`, less what was granted since, refilling to its limit. */
export interface LearnedBucket {
  /** Units it holds now (negative: granted beyond what the provider said was left). */
  readonly remaining: number;
  /** Units per period the provider stated (absent: not stated; the bucket holds `remaining` flat). */
  readonly limit?: number;
  /** When the provider's bucket is full again and this one expires, ms since the epoch. */
  readonly resetAt: number;
}

/** Timings of a budget, shared by every participant (they must agree). */
export interface BudgetTimings {
  readonly participantTtlMs: number;
  readonly windowMs: number;
  readonly leaseUseMs: number;
  readonly burstMs: number;
}

/**
 * The timings troupe uses. The smoothing bucket holds half a second's worth (as in one process)
 * less a lease's use time: a lease's units may leave up to that long after it was granted, so
 * what leaves in any moment never bunches beyond half a second's worth of the rate.
 */
export const DEFAULT_TIMINGS: BudgetTimings = {
  participantTtlMs: PARTICIPANT_TTL_MS,
  windowMs: RATE_WINDOW_MS,
  leaseUseMs: LEASE_USE_MS,
  burstMs: Math.max(0, BURST_WINDOW_MS - LEASE_USE_MS),
};

/** The scripts of one shared key, typed. */
export class BudgetStore {
  private readonly keys: readonly string[];

  constructor(
    private readonly client: StoreClient,
    /** The `sharedLimits.key`. */
    readonly sharedKey: string,
    private readonly timings: BudgetTimings = DEFAULT_TIMINGS,
  ) {
    this.keys = budgetKeys(sharedKey);
  }

  /** Asks for a lease (or only renews this participant, with `minRequests` and `minTokens` 0). */
  async acquire(request: AcquireRequest): Promise<AcquireReply> {
    const t = this.timings;
    const l = request.limits;
    const reply = await this.client.acquire(this.keys, [
      request.now ?? '',
      request.participant,
      request.info === undefined ? '' : JSON.stringify(request.info),
      t.participantTtlMs,
      t.windowMs,
      t.leaseUseMs,
      t.burstMs,
      l.requestsPerMinute ?? 0,
      l.tokensPerMinute ?? 0,
      l.maxConcurrency ?? 0,
      request.lease,
      request.wantRequests,
      request.minRequests,
      request.wantTokens,
      request.minTokens,
      request.slotsWanted,
      request.slotsInUse,
      request.adjustments.map((a) => `${a.lease},${a.requests},${a.tokens}`).join(';'),
      request.pause?.until ?? 0,
      request.pause?.reason ?? '',
      request.leave === true ? '1' : '0',
      request.breakerOpenUntil ?? 0,
      (request.readings ?? [])
        .map(
          (r) =>
            `${r.kind === 'requests' ? 'r' : 't'},${r.remaining},${r.limit ?? ''},${Math.round(r.resetAt)},${Math.round(r.sentAt)}`,
        )
        .join(';'),
      request.breakerClosed === true ? '1' : '0',
      request.wantsProbe === true ? '1' : '0',
    ]);
    const n = (i: number): number => Number(reply[i] ?? 0);
    return {
      epoch: reply[0] ?? '',
      now: n(1),
      grantedRequests: n(2),
      grantedTokens: n(3),
      retryAt: n(4),
      slots: n(5),
      pauseUntil: n(6),
      pauseReason: reply[7] ?? '',
      requestsPerMinute: n(8),
      tokensPerMinute: n(9),
      maxConcurrency: n(10),
      participants: n(11),
      fresh: reply[12] === '1',
      needsInfo: reply[13] === '1',
      breakerOpenUntil: n(14),
      ...(reply[15] !== undefined && reply[15] !== '' && { learnedRequests: Number(reply[15]) }),
      ...(reply[16] !== undefined && reply[16] !== '' && { learnedTokens: Number(reply[16]) }),
      breakerState: BREAKER_STATES.find((b) => b === reply[17]) ?? 'closed',
      probe: reply[18] === '1',
    };
  }

  /** Reads the budget and its participants. */
  async status(now?: number): Promise<BudgetStatus> {
    const raw = JSON.parse(await this.client.status(this.keys, [now ?? ''])) as RawStatus;
    // cjson writes an empty list as an empty object.
    const participants = Array.isArray(raw.participants) ? raw.participants : [];
    return {
      now: raw.now,
      requestsPerMinute: raw.rpm,
      tokensPerMinute: raw.tpm,
      maxConcurrency: raw.conc,
      requests: raw.requests,
      tokens: raw.tokens,
      pauseUntil: raw.pauseUntil,
      pauseReason: raw.pauseReason,
      learned: {
        ...(raw.learned?.r && { requests: learnedBucket(raw.learned.r) }),
        ...(raw.learned?.t && { tokens: learnedBucket(raw.learned.t) }),
      },
      participants: participants.map((p) => ({
        id: p.id,
        ...(parseInfo(p.info) && { info: parseInfo(p.info) }),
        slots: p.slots,
        requests: p.requests,
        tokens: p.tokens,
      })),
    };
  }
}

interface RawStatus {
  readonly now: number;
  readonly participants:
    readonly { id: string; info: string; slots: number; requests: number; tokens: number }[] | object;
  readonly rpm: number;
  readonly tpm: number;
  readonly conc: number;
  readonly requests: number;
  readonly tokens: number;
  readonly pauseUntil: number;
  readonly pauseReason: string;
  /** cjson writes an empty table as `{}`: both kinds absent then. */
  readonly learned?: { readonly r?: RawLearned; readonly t?: RawLearned };
}

interface RawLearned {
  readonly level: number;
  readonly limit: number;
  readonly resetAt: number;
}

function learnedBucket(raw: RawLearned): LearnedBucket {
  return { remaining: raw.level, ...(raw.limit > 0 && { limit: raw.limit }), resetAt: raw.resetAt };
}

function parseInfo(text: string): ParticipantInfo | undefined {
  try {
    const info = JSON.parse(text) as Partial<ParticipantInfo>;
    return typeof info.host === 'string' && typeof info.pid === 'number'
      ? (info as ParticipantInfo)
      : undefined;
  } catch {
    return undefined;
  }
}
