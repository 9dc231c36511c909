/**
 * The control protocol between the CLI and a running daemon: a request carries
 * an id, and the daemon answers with the same id. Everything is plain data.
 */
import type { JobStatus } from '../actors/supervisor.js';
import type { ErrorData, JobState } from '../store/records.js';
import type { Suite } from '../suite/types.js';
import type { Envelope } from '../transport/codec.js';

/** A job as `troupe jobs` lists it. */
export interface JobSummary {
  readonly id: string;
  readonly suite: string;
  /** Stored state; `running` jobs the daemon is not running yet are `queued` to it. */
  readonly state: JobState;
  readonly createdAt: string;
  readonly finishedAt: string | null;
  readonly turnsRecorded: number;
  readonly turnsTotal: number;
}

/** What the CLI asks the daemon. */
export type ControlRequest =
  | { readonly type: 'ping'; readonly requestId: string }
  | {
      readonly type: 'submit';
      readonly requestId: string;
      readonly suite: Suite;
      readonly suitePath: string;
      /** Stored jobs whose identical conversations the new job copies (`submit --reuse`). */
      readonly reuse?: readonly string[];
    }
  | { readonly type: 'jobs'; readonly requestId: string }
  | { readonly type: 'status'; readonly requestId: string; readonly job?: string }
  | { readonly type: 'cancel'; readonly requestId: string; readonly job: string };

/** What the daemon answers. */
export type ControlResponse =
  | { readonly type: 'pong'; readonly requestId: string; readonly pid: number; readonly version: string }
  | { readonly type: 'submitted'; readonly requestId: string; readonly job: string }
  | { readonly type: 'job-list'; readonly requestId: string; readonly jobs: readonly JobSummary[] }
  | { readonly type: 'status'; readonly requestId: string; readonly jobs: readonly JobStatus[] }
  | { readonly type: 'cancelled'; readonly requestId: string; readonly job: string }
  /** The request could not be served. `badInput`: the user's mistake (exit 2). */
  | {
      readonly type: 'error';
      readonly requestId: string;
      readonly error: ErrorData;
      readonly badInput: boolean;
    };

const REQUEST_TYPES: ReadonlySet<string> = new Set<ControlRequest['type']>([
  'ping',
  'submit',
  'jobs',
  'status',
  'cancel',
]);
const RESPONSE_TYPES: ReadonlySet<string> = new Set<ControlResponse['type']>([
  'pong',
  'submitted',
  'job-list',
  'status',
  'cancelled',
  'error',
]);

const hasRequestId = (message: Envelope): boolean =>
  typeof (message as unknown as { requestId?: unknown }).requestId === 'string';

/** True if `message` is a `ControlRequest` (type and id checked). */
export function isControlRequest(message: Envelope): message is ControlRequest {
  return REQUEST_TYPES.has(message.type) && hasRequestId(message);
}

/** True if `message` is a `ControlResponse` (type and id checked). */
export function isControlResponse(message: Envelope): message is ControlResponse {
  return RESPONSE_TYPES.has(message.type) && hasRequestId(message);
}
