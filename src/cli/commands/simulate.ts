/** `troupe simulate`: serves the OpenAI and Anthropic APIs locally, to rehearse a suite for free. */
import { InputError } from '../../errors.js';
import { startSimulator } from '../../simulator/server.js';
import type { Fault, FaultRule, Simulator } from '../../simulator/server.js';
import type { DialectName } from '../../resilience/header-dialects.js';

/** Options of `troupe simulate`. */
export interface SimulateOptions {
  /** TCP port; 0 picks a free one. */
  readonly port: number;
  /** Address to listen on. */
  readonly host: string;
  /** Latency of every reply in ms. */
  readonly latencyMs: number;
  /** Answer 429 above this many requests per minute. Default: no limit. */
  readonly requestsPerMinute?: number;
  /** Answer 429 above this many tokens per minute. Default: no limit. */
  readonly tokensPerMinute?: number;
  /** Accept only requests carrying this key. Default: any key. */
  readonly apiKey?: string;
  /** Rate-limit headers in this provider's dialect. Default: each API's own. */
  readonly dialect?: DialectName;
  /** The window each limit counts over, in ms. Default: a second's worth of the limit. */
  readonly windowMs?: number;
  /**
   * The tokens limit's window, in ms, where it differs from `windowMs` (Groq: requests a day, tokens
   * a minute). Default: `windowMs`.
   */
  readonly tokensWindowMs?: number;
  /** Requests whose last prompt matches this regular expression fail (poison requests). */
  readonly failMatching?: string;
  /** How failing requests fail: `hang`, `bad-json`, `empty`, `html`, `reset`, `status:N`. Default `status:500`. */
  readonly fault?: string;
  /** The model names served; any other is answered 404 "model not found". Default: every name. */
  readonly models?: readonly string[];
}

const FAULTS_BY_NAME: Readonly<Record<string, Fault>> = {
  hang: { kind: 'hang' },
  'bad-json': { kind: 'truncated' },
  empty: { kind: 'empty' },
  html: { kind: 'malformed' },
  reset: { kind: 'reset' },
};
const DEFAULT_POISON_STATUS = 500;
const STATUS_FAULT = /^status:(\d{3})$/;

/** Reads `--fault`; throws an `InputError` naming the flag when it is none of the kinds. */
export function parseFault(text: string): Fault {
  const named = FAULTS_BY_NAME[text];
  if (named) return named;
  const status = STATUS_FAULT.exec(text)?.[1];
  if (status !== undefined) return { kind: 'status', status: Number(status) };
  throw new InputError(
    `--fault: expected one of ${Object.keys(FAULTS_BY_NAME).join(', ')} or status:N (N an HTTP error status), found "${text}"`,
  );
}

/** The fault rules `--fail-matching` and `--fault` ask for. */
export function faultRulesOf(options: Pick<SimulateOptions, 'failMatching' | 'fault'>): FaultRule[] {
  if (options.fault === undefined && options.failMatching === undefined) return [];
  const fault =
    options.fault === undefined
      ? { kind: 'status' as const, status: DEFAULT_POISON_STATUS }
      : parseFault(options.fault);
  return [{ fault, ...(options.failMatching !== undefined && { matching: options.failMatching }) }];
}

function hasCode(error: unknown, code: string): boolean {
  return error instanceof Error && (error as NodeJS.ErrnoException).code === code;
}

/**
 * Starts the simulator and logs where it listens and the base URLs to put in a suite.
 * Resolves with the running simulator; the caller closes it.
 */
export async function runSimulate(options: SimulateOptions, log: (line: string) => void): Promise<Simulator> {
  if (options.tokensWindowMs !== undefined && options.tokensPerMinute === undefined) {
    throw new InputError('--tokens-window-ms: a tokens window needs a tokens limit; add --tokens-per-minute');
  }
  const limited = options.requestsPerMinute !== undefined || options.tokensPerMinute !== undefined;
  let simulator: Simulator;
  try {
    simulator = await startSimulator({
      port: options.port,
      host: options.host,
      latencyMs: options.latencyMs,
      apiKey: options.apiKey,
      rateLimit: limited
        ? {
            requestsPerMinute: options.requestsPerMinute,
            tokensPerMinute: options.tokensPerMinute,
            ...(options.windowMs !== undefined && { windowMs: options.windowMs }),
            ...(options.tokensWindowMs !== undefined && { tokensWindowMs: options.tokensWindowMs }),
          }
        : undefined,
      ...(options.dialect !== undefined && { dialect: options.dialect }),
      faults: faultRulesOf(options),
      ...(options.models !== undefined && { models: options.models }),
    });
  } catch (error) {
    if (hasCode(error, 'EADDRINUSE')) {
      throw new InputError(`--port: ${options.host}:${options.port} is already in use; pick another port`);
    }
    if (hasCode(error, 'EADDRNOTAVAIL')) {
      throw new InputError(`--host: ${options.host} is not an address of this machine`);
    }
    if (error instanceof RangeError) throw new InputError(`simulate: ${error.message}`);
    if (error instanceof InputError) throw error;
    throw error;
  }
  const limits = [
    options.requestsPerMinute === undefined ? undefined : `${options.requestsPerMinute} requests/min`,
    options.tokensPerMinute === undefined ? undefined : `${options.tokensPerMinute} tokens/min`,
  ].filter((part) => part !== undefined);
  log(`troupe simulator listening on ${simulator.url}`);
  log(`  openai:    baseURL: ${simulator.openaiBaseURL}`);
  log(`  anthropic: baseURL: ${simulator.anthropicBaseURL}`);
  const window = [
    options.windowMs === undefined ? '' : ` over ${options.windowMs} ms windows`,
    options.tokensWindowMs === undefined ? '' : `, tokens over ${options.tokensWindowMs} ms windows`,
  ].join('');
  log(
    `  latency ${options.latencyMs} ms; ${limits.length > 0 ? `limits ${limits.join(', ')}${window}` : 'no rate limit'}; ` +
      (options.apiKey === undefined ? 'any API key accepted' : 'API key required'),
  );
  if (options.dialect !== undefined) log(`  rate-limit headers: ${options.dialect}`);
  if (options.models !== undefined) log(`  models served: ${options.models.join(', ')}; any other: 404`);
  if (options.fault !== undefined || options.failMatching !== undefined) {
    const which =
      options.failMatching === undefined ? 'every request' : `requests matching /${options.failMatching}/`;
    log(
      `  ${which} fail${options.failMatching === undefined ? 's' : ''}: ${options.fault ?? `status:${DEFAULT_POISON_STATUS}`}`,
    );
  }
  return simulator;
}

/**
 * What a simulator served, in one line for when it stops: requests by HTTP status (0: none sent —
 * hung, reset, or the client left), the most open at once, and the longest wait its 429s asked for.
 * `served 120 requests: 200 ×100, 429 ×20; at most 8 at once; longest retry-after 1000 ms`.
 */
export function describeServed(simulator: Simulator): string {
  const records = simulator.records;
  const byStatus = new Map<number, number>();
  let longestRetryAfterMs: number | undefined;
  for (const record of records) {
    byStatus.set(record.status, (byStatus.get(record.status) ?? 0) + 1);
    if (record.retryAfterMs !== undefined)
      longestRetryAfterMs = Math.max(longestRetryAfterMs ?? 0, record.retryAfterMs);
  }
  const statuses = [...byStatus.entries()]
    .sort(([a], [b]) => a - b)
    .map(([status, count]) => `${status} ×${count}`)
    .join(', ');
  const retryAfter =
    longestRetryAfterMs === undefined ? '' : `; longest retry-after ${longestRetryAfterMs} ms`;
  return `served ${records.length} requests${records.length > 0 ? `: ${statuses}` : ''}; at most ${simulator.maxInFlight} at once${retryAfter}`;
}
