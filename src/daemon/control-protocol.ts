/**
 * The control protocol between the CLI and a running daemon: a request carries
 * an id, and the daemon answers with the same id. Everything is plain data.
 */
import type { JobStatus } from '../actors/supervisor.js';
import type { SharedKeyView } from '../coordination/shared-view.js';
import type { ErrorData, JobRecord, JobState } from '../store/records.js';
import { isAbsolute } from 'node:path';
import { describeValue } from '../suite/schema-check.js';
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
      /**
       * The suite file's absolute path. The daemon reads and validates it itself, exactly as
       * `troupe validate` does: what it runs is what it checked, never a suite the client parsed.
       */
      readonly suitePath: string;
      /** The job's spend cap in US dollars (`submit --max-cost`), over the suite's `budget`. */
      readonly maxCostUsd?: number;
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
  | {
      readonly type: 'status';
      readonly requestId: string;
      readonly jobs: readonly JobStatus[];
      /**
       * The stored record of each job in `jobs` (its forecast) and, for a job with a spend cap,
       * what its ledger counts as spent, in USD. Absent from an older daemon.
       */
      readonly records?: readonly { readonly record: JobRecord; readonly spentUsd?: number }[];
      /** The daemon's shared budgets (`sharedLimits`), with every participant. Absent from an older daemon. */
      readonly shared?: readonly SharedKeyView[];
    }
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

/** A control request read field by field, or why it is not one (answered under its id, if any). */
export type ParsedControlRequest =
  | { readonly ok: true; readonly request: ControlRequest }
  | { readonly ok: false; readonly requestId: string; readonly reason: string };

/** Longest request id, job id or suite path a request may carry, in characters. */
const MAX_FIELD_CHARS = 4096;

/** Most jobs a `submit` may name in `reuse`. */
const MAX_REUSED_JOBS = 1000;

/** The fields each request may have besides `type` and `requestId`. */
const REQUEST_FIELDS: Readonly<Record<ControlRequest['type'], readonly string[]>> = {
  ping: [],
  submit: ['suitePath', 'maxCostUsd', 'reuse'],
  jobs: [],
  status: ['job'],
  cancel: ['job'],
};

/**
 * Reads a decoded message as a `ControlRequest`, checking every field (a client may be anything
 * that can reach the socket, not only troupe's CLI). The reason names the field and what was
 * expected, e.g. `submit: suitePath: expected an absolute path, found 42`.
 */
export function parseControlRequest(message: Envelope): ParsedControlRequest {
  const fields = message as unknown as Readonly<Record<string, unknown>>;
  const { type, requestId } = fields;
  const id = typeof requestId === 'string' ? requestId.slice(0, MAX_FIELD_CHARS) : '';
  const bad = (reason: string): ParsedControlRequest => ({ ok: false, requestId: id, reason });
  if (typeof requestId !== 'string' || requestId === '' || requestId.length > MAX_FIELD_CHARS) {
    return bad(`requestId: expected a non-empty string, found ${describeValue(requestId)}`);
  }
  if (typeof type !== 'string' || !REQUEST_TYPES.has(type)) {
    return bad(`type: expected one of ${[...REQUEST_TYPES].join(', ')}, found ${describeValue(type)}`);
  }
  const known = REQUEST_FIELDS[type as ControlRequest['type']];
  const unknown = Object.keys(fields).find(
    (key) => key !== 'type' && key !== 'requestId' && !known.includes(key),
  );
  if (unknown !== undefined) return bad(`${type}: unknown field ${describeValue(unknown)}`);
  const problem = fieldProblem(type as ControlRequest['type'], fields);
  if (problem !== undefined) return bad(`${type}: ${problem}`);
  return { ok: true, request: message as unknown as ControlRequest };
}

function fieldProblem(
  type: ControlRequest['type'],
  fields: Readonly<Record<string, unknown>>,
): string | undefined {
  switch (type) {
    case 'ping':
    case 'jobs':
      return undefined;
    case 'status':
      return fields.job === undefined ? undefined : jobIdProblem(fields.job);
    case 'cancel':
      return jobIdProblem(fields.job);
    case 'submit': {
      const { suitePath, maxCostUsd, reuse } = fields;
      if (!isShortString(suitePath) || !isAbsolute(suitePath) || suitePath.includes('\0')) {
        return `suitePath: expected the suite file's absolute path, found ${describeValue(suitePath)}`;
      }
      if (
        maxCostUsd !== undefined &&
        !(typeof maxCostUsd === 'number' && Number.isFinite(maxCostUsd) && maxCostUsd > 0)
      ) {
        return `maxCostUsd: expected a number of US dollars above 0, found ${describeValue(maxCostUsd)}`;
      }
      if (reuse === undefined) return undefined;
      if (!Array.isArray(reuse) || reuse.length > MAX_REUSED_JOBS) {
        return `reuse: expected a list of at most ${MAX_REUSED_JOBS} job ids, found ${describeValue(reuse)}`;
      }
      const index = reuse.findIndex((job) => !isShortString(job));
      return index < 0
        ? undefined
        : `reuse[${index}]: expected a job id, found ${describeValue(reuse[index])}`;
    }
    default: {
      const unknown: never = type;
      return `unknown request type ${String(unknown)}`;
    }
  }
}

function jobIdProblem(job: unknown): string | undefined {
  return isShortString(job) ? undefined : `job: expected a job id, found ${describeValue(job)}`;
}

function isShortString(value: unknown): value is string {
  return typeof value === 'string' && value !== '' && value.length <= MAX_FIELD_CHARS;
}

/** True if `message` is a `ControlResponse` (type and id checked). */
export function isControlResponse(message: Envelope): message is ControlResponse {
  return RESPONSE_TYPES.has(message.type) && hasRequestId(message);
}
