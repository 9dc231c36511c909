/**
 * The wire protocol between the daemon's primary and its worker processes: what
 * the primary tells a worker (`ToWorker`) and what a worker tells the primary
 * (`FromWorker`). Everything is plain data; errors travel as `{ code, message }`.
 *
 * A worker hosts sequence actors. The primary places them (`spawn-sequence`),
 * drives them (`sequence-command`), receives their reports, and — because the
 * limits must hold across every process — owns the providers' gates: a worker
 * asks for each permit (`gate-admit`) and reports each outcome (`gate-settle`).
 *
 * A sequence actor's reports (`SequenceReport`) are defined here too: a worker forwards them as
 * they are, so they are part of the wire format, owned by it and not by the actor.
 */
import type { AdmitRequest, AttemptOutcome } from '../conversation/provider-gate.js';
import type { ErrorData, TurnRecord } from '../store/records.js';
import type { Envelope } from './codec.js';

/** The part of a recorded turn that progress and summaries need. */
export interface TurnSummary {
  readonly run: number;
  readonly turn: number;
  readonly status: TurnRecord['status'];
  readonly latencyMs: number | null;
  readonly inputTokens: number;
  readonly outputTokens: number;
}

/** Which slice of a sequence a report is about: the sequence's id and the first of its runs. */
export interface SliceId {
  readonly sequence: string;
  readonly firstRun: number;
}

/** What a sequence actor tells whoever started it (its model actor, possibly across processes). */
export type SequenceReport =
  | (SliceId & {
      readonly type: 'turns-recorded';
      readonly turns: readonly TurnSummary[];
      /** How long their checkpoint write took, in ms. */
      readonly commitMs: number;
    })
  | (SliceId & { readonly type: 'sequence-finished' })
  | (SliceId & { readonly type: 'sequence-halted'; readonly error: ErrorData })
  /** At start: the turns the store already holds (a resumed job, or a slice re-created elsewhere). */
  | (SliceId & { readonly type: 'sequence-restored'; readonly turns: readonly TurnSummary[] })
  /** After `drain`: nothing of this slice is in flight or being committed any more. */
  | (SliceId & { readonly type: 'sequence-drained' });

/** Names one sequence actor (a slice of a sequence's runs) across processes: `job/model/sequence/firstRun`. */
export type SequenceKey = string;

/** What the primary sends to a worker. */
export type ToWorker =
  /** Create the sequence actor for runs `firstRun`… of (job, model, sequence); the worker reads the job from the store. */
  | {
      readonly type: 'spawn-sequence';
      readonly key: SequenceKey;
      readonly job: string;
      readonly model: string;
      readonly sequence: string;
      readonly firstRun: number;
      readonly runs: number;
    }
  /** Forward a command to a hosted sequence actor. */
  | {
      readonly type: 'sequence-command';
      readonly key: SequenceKey;
      readonly command: 'start' | 'stop-work' | 'drain';
    }
  /** Stop and forget a hosted sequence actor (its slice is done, or its job ended). */
  | { readonly type: 'stop-sequence'; readonly key: SequenceKey }
  /** The permit a `gate-admit` asked for. */
  | { readonly type: 'gate-permit'; readonly id: string; readonly probe: boolean }
  /** A `gate-admit` that cannot be served (e.g. unknown provider); the turn fails with this error. */
  | { readonly type: 'gate-refused'; readonly id: string; readonly error: ErrorData }
  /** The primary found the store damaged: refuse every write from now on (`reason` says why). */
  | { readonly type: 'refuse-writes'; readonly reason: string };

/** What a worker sends to the primary. */
export type FromWorker =
  /** Sent once the worker's store and actor system are up; the primary places sequences only on ready workers. */
  | { readonly type: 'worker-ready'; readonly pid: number }
  | { readonly type: 'sequence-report'; readonly key: SequenceKey; readonly report: SequenceReport }
  /** A sequence could not be created or crashed too often; the primary halts its job. */
  | { readonly type: 'sequence-failed'; readonly key: SequenceKey; readonly error: ErrorData }
  | {
      readonly type: 'gate-admit';
      readonly id: string;
      readonly job: string;
      readonly provider: string;
      readonly request: AdmitRequest;
    }
  /** The turn gave up waiting (aborted): forget the admit, or free the permit if it was granted. */
  | { readonly type: 'gate-cancel'; readonly id: string }
  | { readonly type: 'gate-settle'; readonly id: string; readonly outcome: AttemptOutcome };

const TO_WORKER_TYPES: ReadonlySet<string> = new Set<ToWorker['type']>([
  'spawn-sequence',
  'sequence-command',
  'stop-sequence',
  'gate-permit',
  'gate-refused',
  'refuse-writes',
]);

const FROM_WORKER_TYPES: ReadonlySet<string> = new Set<FromWorker['type']>([
  'worker-ready',
  'sequence-report',
  'sequence-failed',
  'gate-admit',
  'gate-cancel',
  'gate-settle',
]);

const hasString = (message: Envelope, field: string): boolean =>
  typeof (message as unknown as Record<string, unknown>)[field] === 'string';

/**
 * True if `message` is one of `ToWorker`. Checks the type and the identifying
 * fields; the peer is our own code, so this guards against corruption, not attack.
 */
export function isToWorker(message: Envelope): message is ToWorker {
  if (!TO_WORKER_TYPES.has(message.type)) return false;
  if (message.type === 'refuse-writes') return hasString(message, 'reason');
  return message.type.startsWith('gate-') ? hasString(message, 'id') : hasString(message, 'key');
}

/** True if `message` is one of `FromWorker` (see `isToWorker`). */
export function isFromWorker(message: Envelope): message is FromWorker {
  if (!FROM_WORKER_TYPES.has(message.type)) return false;
  if (message.type === 'worker-ready') return true;
  return message.type.startsWith('gate-') ? hasString(message, 'id') : hasString(message, 'key');
}

/** The key of the slice of (job, model, sequence) whose runs start at `firstRun`. */
export function sequenceKey(job: string, model: string, sequence: string, firstRun: number): SequenceKey {
  return `${job}/${model}/${sequence}/${firstRun}`;
}
