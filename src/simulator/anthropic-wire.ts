/** Anthropic's Messages wire format: `POST /v1/messages`, JSON and SSE. */
import type { ChatMessage } from '../providers/types.js';
import { splitForStream } from './reply.js';
import type { ErrorAnswer, ParseResult, Problem, ReplyContent, WireFormat } from './wire.js';
import { checkOptionalNumber, isRecord, optionalNumber, readTextContent, sseEvent } from './wire.js';

const MAX_TEMPERATURE = 1;
const STATUS_BAD_REQUEST = 400;
const STATUS_UNAUTHORIZED = 401;
const STATUS_PAYMENT_REQUIRED = 402;
const STATUS_NOT_FOUND = 404;
const STATUS_TOO_MANY_REQUESTS = 429;

/** Anthropic's error type for each status it documents; other 4xx are invalid requests, other 5xx api errors. */
const ERROR_TYPES: Readonly<Record<number, string>> = {
  400: 'invalid_request_error',
  401: 'authentication_error',
  402: 'billing_error',
  403: 'permission_error',
  404: 'not_found_error',
  409: 'conflict_error',
  413: 'request_too_large',
  429: 'rate_limit_error',
  500: 'api_error',
  504: 'timeout_error',
  529: 'overloaded_error',
};
const DEFAULT_MESSAGES: Readonly<Record<string, string>> = {
  invalid_request_error: 'The request was rejected.',
  authentication_error: 'invalid x-api-key',
  billing_error: 'Your credit balance is too low to access the Anthropic API.',
  permission_error: 'Your API key does not have permission to use the specified resource.',
  not_found_error: 'The requested resource could not be found.',
  conflict_error: 'The request conflicts with the current state of the resource.',
  request_too_large: 'Request exceeds the maximum allowed number of bytes.',
  rate_limit_error: 'Number of requests has exceeded your rate limit.',
  api_error: 'Internal server error',
  timeout_error: 'Request timed out.',
  overloaded_error: 'Overloaded',
};
const LOWEST_SERVER_ERROR = 500;

function errorType(status: number): string {
  return ERROR_TYPES[status] ?? (status >= LOWEST_SERVER_ERROR ? 'api_error' : 'invalid_request_error');
}

function errorBody(type: string, message: string | undefined): unknown {
  return { type: 'error', error: { type, message: message ?? DEFAULT_MESSAGES[type] ?? type } };
}

function parseSystem(value: unknown): string | undefined | null {
  if (value === undefined || value === null) return undefined;
  return readTextContent(value) ?? null;
}

function parseMessages(value: unknown): { messages: ChatMessage[] } | { message: string } {
  if (value === undefined) return { message: 'messages: Field required' };
  if (!Array.isArray(value)) return { message: 'messages: Input should be a valid list' };
  if (value.length === 0) return { message: 'messages: at least one message is required' };
  const messages: ChatMessage[] = [];
  for (const [index, item] of value.entries()) {
    if (!isRecord(item)) return { message: `messages.${index}: Input should be a valid dictionary` };
    if (item.role !== 'user' && item.role !== 'assistant') {
      return { message: `messages.${index}.role: Input should be 'user' or 'assistant'` };
    }
    const content = readTextContent(item.content);
    if (content === undefined) {
      return {
        message: `messages.${index}.content: Input should be a valid string or a list of text blocks`,
      };
    }
    messages.push({ role: item.role, content });
  }
  return { messages };
}

function parse(body: unknown): ParseResult {
  if (!isRecord(body)) return { ok: false, message: 'The request body must be a JSON object.', model: '' };
  const model = typeof body.model === 'string' ? body.model : '';
  const fail = (message: string): ParseResult => ({ ok: false, message, model });
  if (model === '') return fail('model: Field required');
  if (body.max_tokens === undefined) return fail('max_tokens: Field required');
  const invalid =
    checkOptionalNumber(body, 'max_tokens', { min: 1, integer: true }) ??
    checkOptionalNumber(body, 'temperature', { min: 0, max: MAX_TEMPERATURE, integer: false });
  if (invalid !== undefined) return fail(invalid);
  const system = parseSystem(body.system);
  if (system === null) return fail('system: Input should be a valid string or a list of text blocks');
  const read = parseMessages(body.messages);
  if ('message' in read) return fail(read.message);
  if (body.stream !== undefined && typeof body.stream !== 'boolean')
    return fail('stream: Input should be a valid boolean');
  const leading: ChatMessage[] = system ? [{ role: 'system', content: system }] : [];
  return {
    ok: true,
    request: {
      model,
      messages: [...leading, ...read.messages],
      maxTokens: optionalNumber(body, 'max_tokens'),
      temperature: optionalNumber(body, 'temperature'),
      stream: body.stream === true,
      includeUsage: true,
    },
  };
}

function error(problem: Problem): ErrorAnswer {
  switch (problem.kind) {
    case 'invalid_request':
      return { status: STATUS_BAD_REQUEST, body: errorBody('invalid_request_error', problem.message) };
    case 'unauthorized':
      return { status: STATUS_UNAUTHORIZED, body: errorBody('authentication_error', 'invalid x-api-key') };
    case 'not_found':
      return { status: STATUS_NOT_FOUND, body: errorBody('not_found_error', problem.message) };
    case 'unknown_model':
      return { status: STATUS_NOT_FOUND, body: errorBody('not_found_error', `model: ${problem.model}`) };
    case 'rate_limited': {
      const message =
        `This request would exceed your organization's rate limit of ${problem.limitPerMinute} ` +
        `${problem.limit === 'requests' ? 'requests' : 'tokens'} per minute. Please retry after the time in retry-after.`;
      return { status: STATUS_TOO_MANY_REQUESTS, body: errorBody('rate_limit_error', message) };
    }
    case 'quota':
      return { status: STATUS_PAYMENT_REQUIRED, body: errorBody('billing_error', undefined) };
    case 'status':
      return { status: problem.status, body: errorBody(errorType(problem.status), problem.message) };
    default: {
      const unhandled: never = problem;
      throw new Error(`unhandled problem ${JSON.stringify(unhandled)}`);
    }
  }
}

function stopReason(reply: ReplyContent): string {
  return reply.truncated ? 'max_tokens' : 'end_turn';
}

function usageOf(reply: ReplyContent, outputTokens: number): unknown {
  return {
    input_tokens: reply.inputTokens,
    output_tokens: outputTokens,
    cache_creation_input_tokens: 0,
    cache_read_input_tokens: 0,
  };
}

function message(
  reply: ReplyContent,
  content: unknown[],
  stop: string | null,
  outputTokens: number,
): unknown {
  return {
    id: `msg_sim_${reply.id}`,
    type: 'message',
    role: 'assistant',
    model: reply.model,
    content,
    stop_reason: stop,
    stop_sequence: null,
    usage: usageOf(reply, outputTokens),
  };
}

function replyBody(reply: ReplyContent): unknown {
  const content = reply.text === null ? [] : [{ type: 'text', text: reply.text }];
  return message(reply, content, stopReason(reply), reply.outputTokens);
}

function streamFrames(reply: ReplyContent): string[] {
  const frames = [sseEvent('message_start', { type: 'message_start', message: message(reply, [], null, 0) })];
  if (reply.text !== null) {
    frames.push(
      sseEvent('content_block_start', {
        type: 'content_block_start',
        index: 0,
        content_block: { type: 'text', text: '' },
      }),
      sseEvent('ping', { type: 'ping' }),
    );
    for (const piece of splitForStream(reply.text)) {
      frames.push(
        sseEvent('content_block_delta', {
          type: 'content_block_delta',
          index: 0,
          delta: { type: 'text_delta', text: piece },
        }),
      );
    }
    frames.push(sseEvent('content_block_stop', { type: 'content_block_stop', index: 0 }));
  }
  frames.push(
    sseEvent('message_delta', {
      type: 'message_delta',
      delta: { stop_reason: stopReason(reply), stop_sequence: null },
      usage: { output_tokens: reply.outputTokens },
    }),
    sseEvent('message_stop', { type: 'message_stop' }),
  );
  return frames;
}

/**
 * Anthropic's wire format. The simulator has one token bucket, so the `input-tokens`,
 * `output-tokens` and `tokens` headers all report it.
 */
export const anthropicWire: WireFormat = {
  api: 'anthropic',
  path: '/v1/messages',
  parse,
  error,
  replyBody,
  streamFrames,
  defaultDialect: 'anthropic',
  requestIdHeader: (id) => ['request-id', `req_sim_${id}`],
};
