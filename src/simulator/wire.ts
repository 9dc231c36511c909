/**
 * What the two wire formats have in common: the normalized request the simulator works
 * on, the problems it answers with, and the interface each format implements.
 */
import type { ChatMessage } from '../providers/types.js';
import type { DialectName } from '../resilience/header-dialects.js';
import type { LimitName } from './rate-limit.js';

/** The APIs the simulator speaks. */
export type ApiName = 'openai' | 'anthropic';

/** A chat request read from either wire format. */
export interface ParsedRequest {
  /** The requested model name. */
  readonly model: string;
  /** Normalized: Anthropic's top-level `system` becomes a leading system message. */
  readonly messages: readonly ChatMessage[];
  /** Largest answer in tokens, when sent. */
  readonly maxTokens?: number;
  /** Sampling temperature, when sent. */
  readonly temperature?: number;
  /** Answer with server-sent events. */
  readonly stream: boolean;
  /** OpenAI `stream_options.include_usage`: a final chunk carries the usage. */
  readonly includeUsage: boolean;
}

/** The outcome of reading a request body. */
export type ParseResult =
  | { readonly ok: true; readonly request: ParsedRequest }
  | {
      readonly ok: false;
      /** Why the request is invalid, in the provider's style. */
      readonly message: string;
      /** The offending parameter, when there is one. */
      readonly param?: string;
      /** The model named by the request ('' when none), for the record. */
      readonly model: string;
    };

/** A failure the simulator answers with, in API-neutral terms; each format renders it. */
export type Problem =
  | { readonly kind: 'invalid_request'; readonly message: string; readonly param?: string }
  | { readonly kind: 'unauthorized' }
  | { readonly kind: 'not_found'; readonly message: string }
  /** The request names a model the server does not serve (`SimulatorOptions.models`). */
  | { readonly kind: 'unknown_model'; readonly model: string }
  | {
      readonly kind: 'rate_limited';
      readonly limit: LimitName;
      readonly limitPerMinute: number;
      readonly waitMs: number;
      readonly model: string;
    }
  | { readonly kind: 'quota' }
  | { readonly kind: 'status'; readonly status: number; readonly message?: string };

/** An error answer: status and body. */
export interface ErrorAnswer {
  readonly status: number;
  readonly body: unknown;
}

/** A successful answer's content, before a format renders it. */
export interface ReplyContent {
  /** The record id; also makes the response id unique. */
  readonly id: number;
  readonly model: string;
  readonly createdMs: number;
  /** The text, or null for an answer without any choice / content block. */
  readonly text: string | null;
  readonly inputTokens: number;
  readonly outputTokens: number;
  readonly truncated: boolean;
}

/** One API's wire format. */
export interface WireFormat {
  readonly api: ApiName;
  /** The path it answers on (POST). */
  readonly path: string;
  /** Reads and validates a request body (already parsed from JSON). */
  parse(body: unknown): ParseResult;
  /** Renders a problem as this API's error status and body. */
  error(problem: Problem): ErrorAnswer;
  /** The JSON body of a non-streaming answer. */
  replyBody(reply: ReplyContent): unknown;
  /** The server-sent events of a streaming answer, each a complete frame. */
  streamFrames(reply: ReplyContent, request: ParsedRequest): string[];
  /** The rate-limit header dialect this API's provider speaks, unless the simulator is told another. */
  readonly defaultDialect: DialectName;
  /** The header this API names its request id in, and its value for record `id`. */
  requestIdHeader(id: number): [string, string];
}

/** One server-sent event carrying `data` only. */
export function sseData(data: string): string {
  return `data: ${data}\n\n`;
}

/** One named server-sent event with a JSON payload. */
export function sseEvent(event: string, payload: unknown): string {
  return `event: ${event}\ndata: ${JSON.stringify(payload)}\n\n`;
}

/** True for a plain JSON object. */
export function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** Text content as both APIs accept it: a string or an array of `{type:'text', text}` parts. */
export function readTextContent(content: unknown): string | undefined {
  if (typeof content === 'string') return content;
  if (!Array.isArray(content)) return undefined;
  const parts: string[] = [];
  for (const part of content) {
    if (!isRecord(part) || part.type !== 'text' || typeof part.text !== 'string') return undefined;
    parts.push(part.text);
  }
  return parts.join('');
}

/** A validation failure of an optional number parameter, or undefined when it is fine. */
export function checkOptionalNumber(
  body: Record<string, unknown>,
  name: string,
  range: { min: number; max?: number; integer: boolean },
): string | undefined {
  const value = body[name];
  if (value === undefined || value === null) return undefined;
  const valid =
    typeof value === 'number' &&
    Number.isFinite(value) &&
    (!range.integer || Number.isInteger(value)) &&
    value >= range.min &&
    (range.max === undefined || value <= range.max);
  if (valid) return undefined;
  const kind = range.integer ? 'an integer' : 'a number';
  const bounds = range.max === undefined ? `≥ ${range.min}` : `between ${range.min} and ${range.max}`;
  return `${name} must be ${kind} ${bounds}, got ${JSON.stringify(value)}`;
}

/** The value of an optional number parameter already checked by `checkOptionalNumber`. */
export function optionalNumber(body: Record<string, unknown>, name: string): number | undefined {
  const value = body[name];
  return typeof value === 'number' ? value : undefined;
}
