/**
 * A local HTTP server that speaks the OpenAI and Anthropic chat wire formats, so that a
 * suite can be rehearsed, and troupe tested and benchmarked, without a key or a network.
 */
import { createServer } from 'node:http';
import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { estimateInputTokens } from '../resilience/token-estimate.js';
import { anthropicWire } from './anthropic-wire.js';
import { FaultBook } from './faults.js';
import type { Fault } from './faults.js';
import { BodyTooLargeError, delay, readBody, untilAborted } from './http.js';
import { openaiWire } from './openai-wire.js';
import { seededRandom } from './random.js';
import { SimulatorRateLimit } from './rate-limit.js';
import type { RateLimitOptions } from './rate-limit.js';
import type { DialectName } from '../resilience/header-dialects.js';
import { dialectHeaders } from './dialect-headers.js';
import { composeReply } from './reply.js';
import type { RecordedRequest, Simulator, SimulatorChanges, SimulatorOptions } from './types.js';
import type { ParsedRequest, Problem, ReplyContent, WireFormat } from './wire.js';

export type { RecordedRequest, Simulator, SimulatorChanges, SimulatorOptions } from './types.js';
export type { Fault, FaultRule } from './faults.js';
export type { RateLimitOptions } from './rate-limit.js';
export type { ApiName } from './wire.js';

/** Address the simulator listens on unless told otherwise. */
export const DEFAULT_SIMULATOR_HOST = '127.0.0.1';
const DEFAULT_PORT = 0;
const DEFAULT_SEED = 1;
const DEFAULT_LATENCY_MS = 0;
const DEFAULT_LATENCY_JITTER_MS = 0;
const FIRST_RECORD_ID = 1;
/** How much of a body or event stream a `truncated` fault sends. */
const TRUNCATED_FRACTION = 0.5;
const MAX_BODY_BYTES = 10 * 1024 * 1024;
/** A scripted 429 without its own `retry-after` still tells the client when to come back. */
const DEFAULT_429_RETRY_AFTER_SECONDS = 1;
const MS_PER_SECOND = 1000;
const STATUS_OK = 200;
const STATUS_METHOD_NOT_ALLOWED = 405;
const STATUS_TOO_LARGE = 413;
const STATUS_INTERNAL_ERROR = 500;
const STATUS_TOO_MANY_REQUESTS = 429;
const JSON_TYPE = 'application/json';
/** What a misbehaving proxy in front of a provider answers with. */
const MALFORMED_BODY =
  '<html><body><h1>Upstream error</h1><p>The upstream answered with garbage.</p></body></html>';
const WIRES: readonly WireFormat[] = [openaiWire, anthropicWire];

type MutableRecord = { -readonly [K in keyof RecordedRequest]: RecordedRequest[K] };

/** Behaviour that may change while running. */
interface Behaviour {
  latencyMs: number;
  latencyJitterMs: number;
  apiKey: string | undefined;
  rateLimitOptions: RateLimitOptions | undefined;
  dialect: DialectName | undefined;
  models: ReadonlySet<string> | undefined;
}

/** One request on an API route, from arrival to its end. */
interface Exchange {
  readonly wire: WireFormat;
  readonly response: ServerResponse;
  readonly record: MutableRecord;
  /** Aborts when the connection closes (client gone, or the simulator closing). */
  readonly gone: AbortSignal;
}

/** The wait an answer's own headers ask for, in ms, as `RecordedRequest.retryAfterMs` reports it. */
function retryAfterMsOf(headers: Readonly<Record<string, string>>): number | undefined {
  const ms = headers['retry-after-ms'];
  if (ms !== undefined) return Number(ms);
  const seconds = headers['retry-after'];
  return seconds === undefined ? undefined : Number(seconds) * MS_PER_SECOND;
}

/** The text of the request's last user message: what `FaultRule.matching` is tested against. */
function lastUserText(request: ParsedRequest): string {
  for (let i = request.messages.length - 1; i >= 0; i--) {
    const message = request.messages[i]!;
    if (message.role === 'user') return message.content;
  }
  return '';
}

function checkLatency(name: string, value: number | undefined): void {
  if (value !== undefined && !(Number.isFinite(value) && value >= 0)) {
    throw new RangeError(`${name} must be a number ≥ 0, got ${value}`);
  }
}

function presentedKey(request: IncomingMessage): string | undefined {
  const authorization = request.headers.authorization;
  const bearer = authorization?.match(/^Bearer\s+(.+)$/i)?.[1];
  if (bearer !== undefined) return bearer.trim();
  const header = request.headers['x-api-key'];
  return Array.isArray(header) ? header[0] : header;
}

function pathOf(request: IncomingMessage): string {
  return (request.url ?? '/').split('?')[0] ?? '/';
}

/** The wire format to answer an unknown path in: Anthropic's when the client looks like its SDK. */
function guessWire(request: IncomingMessage): WireFormat {
  return request.headers['anthropic-version'] !== undefined ? anthropicWire : openaiWire;
}

class RunningSimulator implements Simulator {
  readonly url: string;
  readonly openaiBaseURL: string;
  readonly anthropicBaseURL: string;
  private behaviour: Behaviour;
  private rateLimit: SimulatorRateLimit;
  private faults: FaultBook;
  private random: () => number;
  private recorded: MutableRecord[] = [];
  private nextId = FIRST_RECORD_ID;
  private open = 0;
  private mostOpen = 0;
  private closing: Promise<void> | undefined;
  /** Handlers still running, so that `close` returns only once every exchange has ended. */
  private readonly handling = new Set<Promise<void>>();

  constructor(
    private readonly server: Server,
    options: SimulatorOptions,
  ) {
    checkLatency('latencyMs', options.latencyMs);
    checkLatency('latencyJitterMs', options.latencyJitterMs);
    const address = server.address() as AddressInfo;
    const host = address.family === 'IPv6' ? `[${address.address}]` : address.address;
    this.url = `http://${host}:${address.port}`;
    this.openaiBaseURL = `${this.url}/v1`;
    this.anthropicBaseURL = this.url;
    this.behaviour = {
      latencyMs: options.latencyMs ?? DEFAULT_LATENCY_MS,
      latencyJitterMs: options.latencyJitterMs ?? DEFAULT_LATENCY_JITTER_MS,
      apiKey: options.apiKey,
      rateLimitOptions: options.rateLimit,
      dialect: options.dialect,
      models: options.models === undefined ? undefined : new Set(options.models),
    };
    this.rateLimit = new SimulatorRateLimit(options.rateLimit, Date.now());
    this.faults = new FaultBook(options.faults ?? []);
    this.random = seededRandom(options.seed ?? DEFAULT_SEED);
    server.on('request', (request: IncomingMessage, response: ServerResponse) => {
      const handling = this.handle(request, response).finally(() => this.handling.delete(handling));
      this.handling.add(handling);
    });
  }

  get records(): readonly RecordedRequest[] {
    return this.recorded.map((record) => ({ ...record }));
  }

  get maxInFlight(): number {
    return this.mostOpen;
  }

  get inFlight(): number {
    return this.open;
  }

  configure(changes: SimulatorChanges): void {
    checkLatency('latencyMs', changes.latencyMs);
    checkLatency('latencyJitterMs', changes.latencyJitterMs);
    // Build everything that may throw before changing anything, so a bad change changes nothing.
    const rateLimit =
      'rateLimit' in changes ? new SimulatorRateLimit(changes.rateLimit, Date.now()) : undefined;
    const faults = 'faults' in changes ? new FaultBook(changes.faults ?? []) : undefined;
    if (changes.latencyMs !== undefined) this.behaviour.latencyMs = changes.latencyMs;
    if (changes.latencyJitterMs !== undefined) this.behaviour.latencyJitterMs = changes.latencyJitterMs;
    if ('apiKey' in changes) this.behaviour.apiKey = changes.apiKey;
    if ('dialect' in changes) this.behaviour.dialect = changes.dialect;
    if ('models' in changes)
      this.behaviour.models = changes.models === undefined ? undefined : new Set(changes.models);
    if (rateLimit) {
      this.rateLimit = rateLimit;
      this.behaviour.rateLimitOptions = changes.rateLimit;
    }
    if (faults) this.faults = faults;
    if (changes.seed !== undefined) this.random = seededRandom(changes.seed);
  }

  reset(): void {
    this.recorded = [];
    this.nextId = FIRST_RECORD_ID;
    this.mostOpen = this.open;
    this.rateLimit = new SimulatorRateLimit(this.behaviour.rateLimitOptions, Date.now());
    this.faults = this.faults.renewed();
  }

  close(): Promise<void> {
    this.closing ??= (async () => {
      const stopped = new Promise<void>((resolve) => this.server.close(() => resolve()));
      // Ends keep-alive sockets and requests still open (hung, waiting out latency) alike.
      this.server.closeAllConnections();
      await stopped;
      await Promise.allSettled([...this.handling]);
    })();
    return this.closing;
  }

  private async handle(request: IncomingMessage, response: ServerResponse): Promise<void> {
    const path = pathOf(request);
    const wire = WIRES.find((candidate) => candidate.path === path);
    if (wire === undefined) {
      const answer = guessWire(request).error({
        kind: 'not_found',
        message: `Invalid URL (${request.method} ${path})`,
      });
      this.sendJson(response, answer.status, {}, answer.body);
      return;
    }
    if (request.method !== 'POST') {
      const answer = wire.error({ kind: 'status', status: STATUS_METHOD_NOT_ALLOWED, message: 'Use POST.' });
      this.sendJson(response, answer.status, { allow: 'POST' }, answer.body);
      return;
    }
    this.open += 1;
    this.mostOpen = Math.max(this.mostOpen, this.open);
    const gone = new AbortController();
    response.once('close', () => {
      this.open -= 1;
      gone.abort();
    });
    try {
      await this.serve(wire, request, response, gone.signal);
    } catch (error) {
      // A bug here must not take the server down; the client sees a 500 (or a closed socket).
      if (response.headersSent) {
        response.destroy();
        return;
      }
      const message = `simulator error: ${error instanceof Error ? error.message : String(error)}`;
      const answer = wire.error({ kind: 'status', status: STATUS_INTERNAL_ERROR, message });
      this.sendJson(response, answer.status, {}, answer.body);
    }
  }

  private async serve(
    wire: WireFormat,
    request: IncomingMessage,
    response: ServerResponse,
    gone: AbortSignal,
  ) {
    const receivedAt = Date.now();
    let raw: string;
    try {
      raw = await readBody(request, MAX_BODY_BYTES);
    } catch (error) {
      if (error instanceof BodyTooLargeError) {
        const answer = wire.error({ kind: 'status', status: STATUS_TOO_LARGE, message: error.message });
        this.sendJson(response, answer.status, {}, answer.body);
      }
      return;
    }
    let body: unknown;
    let unreadable = false;
    try {
      body = JSON.parse(raw);
    } catch {
      unreadable = true;
    }
    const parsed = unreadable
      ? ({ ok: false, message: 'We could not parse the JSON body of your request.', model: '' } as const)
      : wire.parse(body);
    const apiKey = this.behaviour.apiKey;
    const record: MutableRecord = {
      id: this.nextId++,
      api: wire.api,
      model: parsed.ok ? parsed.request.model : parsed.model,
      messages: parsed.ok ? parsed.request.messages : [],
      maxTokens: parsed.ok ? parsed.request.maxTokens : undefined,
      temperature: parsed.ok ? parsed.request.temperature : undefined,
      stream: parsed.ok ? parsed.request.stream : false,
      receivedAt,
      finishedAt: 0,
      status: 0,
      response: null,
      authorized: apiKey === undefined || presentedKey(request) === apiKey,
    };
    this.recorded.push(record);
    response.once('close', () => {
      if (record.finishedAt === 0) record.finishedAt = Date.now();
    });
    const exchange: Exchange = { wire, response, record, gone };
    if (!record.authorized) return this.sendProblem(exchange, { kind: 'unauthorized' });
    if (!parsed.ok) {
      return this.sendProblem(exchange, {
        kind: 'invalid_request',
        message: parsed.message,
        param: parsed.param,
      });
    }
    const served = this.behaviour.models;
    if (served !== undefined && !served.has(parsed.request.model)) {
      return this.sendProblem(exchange, { kind: 'unknown_model', model: parsed.request.model });
    }
    await this.answer(exchange, parsed.request);
  }

  /** The model stage: rate limit, faults, latency, then the reply. */
  private async answer(exchange: Exchange, request: ParsedRequest): Promise<void> {
    const reservedTokens = estimateInputTokens(request.messages) + (request.maxTokens ?? 0);
    const admission = this.rateLimit.admit(reservedTokens, Date.now());
    if (!admission.admitted) {
      const { limit, limitPerMinute, waitMs } = admission;
      return this.sendProblem(
        exchange,
        { kind: 'rate_limited', limit, limitPerMinute, waitMs, model: request.model },
        {
          'retry-after': String(Math.ceil(waitMs / MS_PER_SECOND)),
          'retry-after-ms': String(Math.ceil(waitMs)),
        },
      );
    }
    // Settled against what was really produced, so the token bucket counts input + output.
    let producedTokens = 0;
    try {
      const fault = this.faults.take(exchange.wire.api, request.model, lastUserText(request));
      const { latencyMs, latencyJitterMs } = this.behaviour;
      if (!(await delay(latencyMs + this.random() * latencyJitterMs, exchange.gone))) return;
      const reply = composeReply(exchange.record.id, request.model, request.messages, request.maxTokens);
      const content: ReplyContent = {
        id: exchange.record.id,
        model: request.model,
        createdMs: Date.now(),
        ...reply,
      };
      if (fault !== undefined) {
        await this.sendFault(exchange, request, fault, content);
        return;
      }
      producedTokens = reply.outputTokens;
      this.sendReply(exchange, request, content);
      exchange.record.response = reply.text;
    } finally {
      this.rateLimit.settleTokens(producedTokens - (request.maxTokens ?? 0), Date.now());
    }
  }

  private async sendFault(exchange: Exchange, request: ParsedRequest, fault: Fault, content: ReplyContent) {
    const { wire, response } = exchange;
    switch (fault.kind) {
      case 'status': {
        const seconds =
          fault.retryAfterSeconds ??
          (fault.status === STATUS_TOO_MANY_REQUESTS ? DEFAULT_429_RETRY_AFTER_SECONDS : undefined);
        const retry: Record<string, string> = seconds === undefined ? {} : { 'retry-after': String(seconds) };
        return this.sendProblem(exchange, { kind: 'status', status: fault.status }, retry);
      }
      case 'quota': {
        const seconds = fault.retryAfterSeconds;
        const retry: Record<string, string> = seconds === undefined ? {} : { 'retry-after': String(seconds) };
        return this.sendProblem(exchange, { kind: 'quota' }, retry);
      }
      case 'malformed':
        if (request.stream) return this.sendStream(exchange, ['data: <html>upstream error</html>\n\n']);
        return this.send(exchange, STATUS_OK, 'text/html; charset=utf-8', MALFORMED_BODY);
      case 'truncated': {
        if (request.stream) {
          const frames = wire.streamFrames(content, request);
          return this.sendStream(exchange, frames.slice(0, Math.ceil(frames.length * TRUNCATED_FRACTION)));
        }
        const whole = JSON.stringify(wire.replyBody(content));
        return this.send(
          exchange,
          STATUS_OK,
          JSON_TYPE,
          whole.slice(0, Math.floor(whole.length * TRUNCATED_FRACTION)),
        );
      }
      case 'empty': {
        const empty: ReplyContent = { ...content, text: null, outputTokens: 0, truncated: false };
        if (request.stream) return this.sendStream(exchange, wire.streamFrames(empty, request));
        return this.send(exchange, STATUS_OK, JSON_TYPE, JSON.stringify(wire.replyBody(empty)));
      }
      case 'text': {
        const scripted: ReplyContent = { ...content, text: fault.text, truncated: false };
        exchange.record.response = fault.text;
        if (request.stream) return this.sendStream(exchange, wire.streamFrames(scripted, request));
        return this.send(exchange, STATUS_OK, JSON_TYPE, JSON.stringify(wire.replyBody(scripted)));
      }
      case 'hang':
        await untilAborted(exchange.gone);
        response.destroy();
        return;
      case 'reset':
        response.socket?.destroy();
        return;
      default: {
        const unhandled: never = fault;
        throw new Error(`unhandled fault ${JSON.stringify(unhandled)}`);
      }
    }
  }

  private sendReply(exchange: Exchange, request: ParsedRequest, content: ReplyContent): void {
    if (request.stream) {
      this.sendStream(exchange, exchange.wire.streamFrames(content, request));
      return;
    }
    this.send(exchange, STATUS_OK, JSON_TYPE, JSON.stringify(exchange.wire.replyBody(content)));
  }

  private sendProblem(exchange: Exchange, problem: Problem, extraHeaders: Record<string, string> = {}): void {
    const answer = exchange.wire.error(problem);
    this.send(exchange, answer.status, JSON_TYPE, JSON.stringify(answer.body), extraHeaders);
  }

  /** Headers every API answer carries: the request id and the rate-limit state. */
  private commonHeaders(exchange: Exchange): Record<string, string> {
    const now = Date.now();
    const [idName, idValue] = exchange.wire.requestIdHeader(exchange.record.id);
    const dialect = this.behaviour.dialect ?? exchange.wire.defaultDialect;
    return { [idName]: idValue, ...dialectHeaders(dialect, this.rateLimit.state(now), now) };
  }

  private send(
    exchange: Exchange,
    status: number,
    contentType: string,
    body: string,
    extraHeaders: Record<string, string> = {},
  ): void {
    const { response, record } = exchange;
    if (exchange.gone.aborted) return;
    response.writeHead(status, {
      'content-type': contentType,
      'content-length': String(Buffer.byteLength(body)),
      ...this.commonHeaders(exchange),
      ...extraHeaders,
    });
    response.end(body);
    record.status = status;
    record.finishedAt = Date.now();
    const retryAfterMs = retryAfterMsOf(extraHeaders);
    if (retryAfterMs !== undefined) record.retryAfterMs = retryAfterMs;
  }

  private sendStream(exchange: Exchange, frames: readonly string[]): void {
    const { response, record } = exchange;
    if (exchange.gone.aborted) return;
    response.writeHead(STATUS_OK, {
      'content-type': 'text/event-stream; charset=utf-8',
      'cache-control': 'no-cache',
      ...this.commonHeaders(exchange),
    });
    for (const frame of frames) response.write(frame);
    response.end();
    record.status = STATUS_OK;
    record.finishedAt = Date.now();
  }

  private sendJson(
    response: ServerResponse,
    status: number,
    headers: Record<string, string>,
    body: unknown,
  ): void {
    const text = JSON.stringify(body);
    response.writeHead(status, {
      'content-type': JSON_TYPE,
      'content-length': String(Buffer.byteLength(text)),
      ...headers,
    });
    response.end(text);
  }
}

/** Starts a simulator and resolves once it listens. */
export async function startSimulator(options: SimulatorOptions = {}): Promise<Simulator> {
  const server = createServer();
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? DEFAULT_PORT, options.host ?? DEFAULT_SIMULATOR_HOST, () => {
      server.off('error', reject);
      resolve();
    });
  });
  try {
    return new RunningSimulator(server, options);
  } catch (error) {
    // Bad options must not leave a port bound.
    server.close();
    throw error;
  }
}
