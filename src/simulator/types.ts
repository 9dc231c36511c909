/** The simulator's public types: how it is configured, what it records, how it is driven. */
import type { ChatMessage } from '../providers/types.js';
import type { DialectName } from '../resilience/header-dialects.js';
import type { FaultRule } from './faults.js';
import type { RateLimitOptions } from './rate-limit.js';
import type { ApiName } from './wire.js';

/** How a simulator behaves. Every field is optional. */
export interface SimulatorOptions {
  /** Port to listen on; 0 picks a free one. Default 0. */
  readonly port?: number;
  /** Address to listen on. Default `127.0.0.1`. */
  readonly host?: string;
  /** Latency of every answer in ms (errors before the model stage are immediate). Default 0. */
  readonly latencyMs?: number;
  /** Uniform extra latency in ms, drawn from the seeded generator. Default 0. */
  readonly latencyJitterMs?: number;
  /** When set, requests must carry this key (`Authorization: Bearer` or `x-api-key`) or get a 401. */
  readonly apiKey?: string;
  /**
   * Provider-style rate limits: 429 with `retry-after` when a bucket is empty, and the API's
   * rate-limit headers on every answer, for the limits configured. Default: none.
   */
  readonly rateLimit?: RateLimitOptions;
  /**
   * The rate-limit header dialect of the answers (troupe's table: `openai`, `anthropic`, `groq`,
   * `together`, `azure`, `openrouter`, `ietf`, `none`). Default: each API's own.
   */
  readonly dialect?: DialectName;
  /**
   * The model names served; a request for any other is answered 404 "model not found", as real
   * servers do. Default: every name.
   */
  readonly models?: readonly string[];
  /** Scripted failures, checked in order. Default: none. */
  readonly faults?: readonly FaultRule[];
  /** Seed of the latency jitter. Default 1. */
  readonly seed?: number;
}

/** Behaviour that `Simulator.configure` may change while it runs. */
export type SimulatorChanges = Partial<Omit<SimulatorOptions, 'port' | 'host'>>;

/** One request the simulator received on an API route. */
export interface RecordedRequest {
  /** Serial number from 1 (again from 1 after `reset`); answers quote it. */
  readonly id: number;
  /** Which API was called. */
  readonly api: ApiName;
  /** The requested model ('' when the request named none). */
  readonly model: string;
  /** Normalized: Anthropic's top-level system becomes a leading system message. Empty for unreadable requests. */
  readonly messages: readonly ChatMessage[];
  /** `max_tokens` (OpenAI: `max_completion_tokens` if given), when sent. */
  readonly maxTokens?: number;
  /** `temperature`, when sent. */
  readonly temperature?: number;
  /** Whether the client asked for server-sent events. */
  readonly stream: boolean;
  /** ms since the epoch when the request arrived. */
  readonly receivedAt: number;
  /** ms since the epoch when the exchange ended; 0 while it is still open. */
  readonly finishedAt: number;
  /** HTTP status sent; 0 when none was (still open, hang, reset, client gone). */
  readonly status: number;
  /** The wait the answer asked for, in ms (`retry-after-ms`, else `retry-after` × 1000), when it asked. */
  readonly retryAfterMs?: number;
  /** The answer's text when a complete answer was sent, otherwise null. */
  readonly response: string | null;
  /** Whether the request carried the configured key (true when none is configured). The key is never stored. */
  readonly authorized: boolean;
}

/** A running simulator. */
export interface Simulator {
  /** `http://HOST:PORT`. */
  readonly url: string;
  /** Base URL for the OpenAI SDK: `url + '/v1'`. */
  readonly openaiBaseURL: string;
  /** Base URL for the Anthropic SDK (it appends `/v1/messages`): `url`. */
  readonly anthropicBaseURL: string;
  /** Every request received on an API route, in arrival order (a snapshot). */
  readonly records: readonly RecordedRequest[];
  /** Most API requests open at once since start or `reset`. */
  readonly maxInFlight: number;
  /** API requests open now. */
  readonly inFlight: number;
  /** Changes behaviour while running; a new `faults` list replaces the old one with fresh hit counts. */
  configure(changes: SimulatorChanges): void;
  /** Clears records and counters: ids restart at 1, buckets refill, fault hits are restored. */
  reset(): void;
  /** Stops listening and ends every open request, hung ones included. */
  close(): Promise<void>;
}
