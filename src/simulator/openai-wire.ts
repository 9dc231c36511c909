/** The OpenAI chat completions wire format: `POST /v1/chat/completions`, JSON and SSE. */
import type { ChatMessage } from '../providers/types.js';
import { splitForStream } from './reply.js';
import type { ErrorAnswer, ParseResult, Problem, ReplyContent, WireFormat } from './wire.js';
import { checkOptionalNumber, isRecord, optionalNumber, readTextContent, sseData } from './wire.js';

const MS_PER_SECOND = 1000;
const MS_PER_MINUTE = 60 * MS_PER_SECOND;
const MS_PER_HOUR = 60 * MS_PER_MINUTE;
const SECOND_DECIMALS = 3;
const MAX_TEMPERATURE = 2;
const STATUS_BAD_REQUEST = 400;
const STATUS_UNAUTHORIZED = 401;
const STATUS_FORBIDDEN = 403;
const STATUS_NOT_FOUND = 404;
const STATUS_TOO_MANY_REQUESTS = 429;
const STATUS_SERVICE_UNAVAILABLE = 503;
const LOWEST_SERVER_ERROR = 500;
const FINGERPRINT = 'fp_simulator';
const SUPPORTED_ROLES = new Set(['system', 'developer', 'user', 'assistant']);

/**
 * A duration the way OpenAI's `x-ratelimit-reset-*` headers write it (Go's format):
 * `20ms`, `1s`, `1.5s`, `6m0s`, `1m30.5s`, `1h0m0s`. Sub-millisecond rests round up.
 */
export function formatResetDuration(ms: number): string {
  const whole = Math.max(0, Math.ceil(ms));
  if (whole === 0) return '0s';
  if (whole < MS_PER_SECOND) return `${whole}ms`;
  const hours = Math.floor(whole / MS_PER_HOUR);
  const minutes = Math.floor((whole % MS_PER_HOUR) / MS_PER_MINUTE);
  const seconds = String(Number(((whole % MS_PER_MINUTE) / MS_PER_SECOND).toFixed(SECOND_DECIMALS)));
  if (hours > 0) return `${hours}h${minutes}m${seconds}s`;
  if (minutes > 0) return `${minutes}m${seconds}s`;
  return `${seconds}s`;
}

function parseMessages(value: unknown): { messages: ChatMessage[] } | { message: string; param: string } {
  if (value === undefined) return { message: "Missing required parameter: 'messages'.", param: 'messages' };
  if (!Array.isArray(value)) {
    return { message: "Invalid type for 'messages': expected an array.", param: 'messages' };
  }
  if (value.length === 0) return { message: "Invalid 'messages': empty array.", param: 'messages' };
  const messages: ChatMessage[] = [];
  for (const [index, item] of value.entries()) {
    const param = `messages[${index}]`;
    if (!isRecord(item)) return { message: `Invalid type for '${param}': expected an object.`, param };
    const role = item.role;
    if (typeof role !== 'string' || !SUPPORTED_ROLES.has(role)) {
      return {
        message:
          `Invalid value for '${param}.role': ${JSON.stringify(role)}. ` +
          "Supported values are: 'system', 'developer', 'user' and 'assistant'.",
        param: `${param}.role`,
      };
    }
    const content = readTextContent(item.content);
    if (content === undefined) {
      return {
        message: `Invalid '${param}.content': expected a string or text parts.`,
        param: `${param}.content`,
      };
    }
    messages.push({ role: role === 'developer' ? 'system' : (role as ChatMessage['role']), content });
  }
  return { messages };
}

function parse(body: unknown): ParseResult {
  if (!isRecord(body)) return { ok: false, message: 'The request body must be a JSON object.', model: '' };
  const model = typeof body.model === 'string' ? body.model : '';
  const fail = (message: string, param?: string): ParseResult => ({ ok: false, message, param, model });
  if (model === '') return fail('You must provide a model parameter.', 'model');
  const read = parseMessages(body.messages);
  if ('message' in read) return fail(read.message, read.param);
  const invalid =
    checkOptionalNumber(body, 'max_tokens', { min: 1, integer: true }) ??
    checkOptionalNumber(body, 'max_completion_tokens', { min: 1, integer: true }) ??
    checkOptionalNumber(body, 'temperature', { min: 0, max: MAX_TEMPERATURE, integer: false });
  if (invalid !== undefined) return fail(invalid);
  if (body.stream !== undefined && body.stream !== null && typeof body.stream !== 'boolean') {
    return fail('stream must be a boolean.', 'stream');
  }
  const streamOptions = isRecord(body.stream_options) ? body.stream_options : {};
  return {
    ok: true,
    request: {
      model,
      messages: read.messages,
      maxTokens: optionalNumber(body, 'max_completion_tokens') ?? optionalNumber(body, 'max_tokens'),
      temperature: optionalNumber(body, 'temperature'),
      stream: body.stream === true,
      includeUsage: streamOptions.include_usage === true,
    },
  };
}

function errorBody(message: string, type: string, code: string | null, param: string | null = null): unknown {
  return { error: { message, type, param, code } };
}

function error(problem: Problem): ErrorAnswer {
  switch (problem.kind) {
    case 'invalid_request':
      return {
        status: STATUS_BAD_REQUEST,
        body: errorBody(problem.message, 'invalid_request_error', null, problem.param ?? null),
      };
    case 'unauthorized':
      return {
        status: STATUS_UNAUTHORIZED,
        body: errorBody('Incorrect API key provided.', 'invalid_request_error', 'invalid_api_key'),
      };
    case 'not_found':
      return { status: STATUS_NOT_FOUND, body: errorBody(problem.message, 'invalid_request_error', null) };
    case 'unknown_model':
      return {
        status: STATUS_NOT_FOUND,
        body: errorBody(
          `The model \`${problem.model}\` does not exist or you do not have access to it.`,
          'invalid_request_error',
          'model_not_found',
        ),
      };
    case 'rate_limited': {
      const per = problem.limit === 'requests' ? 'requests per min (RPM)' : 'tokens per min (TPM)';
      const message =
        `Rate limit reached for ${problem.model} in organization org-simulator on ${per}: ` +
        `Limit ${problem.limitPerMinute}. Please try again in ${formatResetDuration(problem.waitMs)}.`;
      return {
        status: STATUS_TOO_MANY_REQUESTS,
        body: errorBody(message, problem.limit, 'rate_limit_exceeded'),
      };
    }
    case 'quota':
      return {
        status: STATUS_TOO_MANY_REQUESTS,
        body: errorBody(
          'You exceeded your current quota, please check your plan and billing details.',
          'insufficient_quota',
          'insufficient_quota',
        ),
      };
    case 'status':
      return { status: problem.status, body: statusErrorBody(problem.status, problem.message) };
    default: {
      const unhandled: never = problem;
      throw new Error(`unhandled problem ${JSON.stringify(unhandled)}`);
    }
  }
}

function statusErrorBody(status: number, message: string | undefined): unknown {
  if (status === STATUS_TOO_MANY_REQUESTS) {
    return errorBody(
      message ?? 'Rate limit reached. Please try again later.',
      'requests',
      'rate_limit_exceeded',
    );
  }
  if (status === STATUS_SERVICE_UNAVAILABLE) {
    return errorBody(
      message ?? 'The engine is currently overloaded, please try again later.',
      'server_error',
      null,
    );
  }
  if (status >= LOWEST_SERVER_ERROR) {
    return errorBody(
      message ?? 'The server had an error while processing your request. Sorry about that!',
      'server_error',
      null,
    );
  }
  if (status === STATUS_UNAUTHORIZED) {
    return errorBody(message ?? 'Incorrect API key provided.', 'invalid_request_error', 'invalid_api_key');
  }
  if (status === STATUS_FORBIDDEN) {
    return errorBody(message ?? 'You are not allowed to sample from this model.', 'permission_error', null);
  }
  if (status === STATUS_NOT_FOUND) {
    return errorBody(
      message ?? 'The model does not exist or you do not have access to it.',
      'invalid_request_error',
      'model_not_found',
    );
  }
  return errorBody(message ?? `The request was rejected (status ${status}).`, 'invalid_request_error', null);
}

function usageOf(reply: ReplyContent): unknown {
  return {
    prompt_tokens: reply.inputTokens,
    completion_tokens: reply.outputTokens,
    total_tokens: reply.inputTokens + reply.outputTokens,
  };
}

function finishReason(reply: ReplyContent): string {
  return reply.truncated ? 'length' : 'stop';
}

function envelope(reply: ReplyContent, object: string): Record<string, unknown> {
  return {
    id: `chatcmpl-sim-${reply.id}`,
    object,
    created: Math.floor(reply.createdMs / MS_PER_SECOND),
    model: reply.model,
    system_fingerprint: FINGERPRINT,
  };
}

function replyBody(reply: ReplyContent): unknown {
  const choices =
    reply.text === null
      ? []
      : [
          {
            index: 0,
            message: { role: 'assistant', content: reply.text, refusal: null },
            logprobs: null,
            finish_reason: finishReason(reply),
          },
        ];
  return { ...envelope(reply, 'chat.completion'), choices, usage: usageOf(reply) };
}

function streamFrames(reply: ReplyContent, request: { includeUsage: boolean }): string[] {
  const base = envelope(reply, 'chat.completion.chunk');
  const withUsage = request.includeUsage ? { usage: null } : {};
  const chunk = (delta: unknown, finish: string | null): string =>
    sseData(
      JSON.stringify({
        ...base,
        choices: [{ index: 0, delta, logprobs: null, finish_reason: finish }],
        ...withUsage,
      }),
    );
  const frames: string[] = [];
  if (reply.text !== null) {
    frames.push(chunk({ role: 'assistant', content: '', refusal: null }, null));
    for (const piece of splitForStream(reply.text)) frames.push(chunk({ content: piece }, null));
    frames.push(chunk({}, finishReason(reply)));
  }
  if (request.includeUsage) {
    frames.push(sseData(JSON.stringify({ ...base, choices: [], usage: usageOf(reply) })));
  }
  frames.push(sseData('[DONE]'));
  return frames;
}

/** OpenAI's wire format. */
export const openaiWire: WireFormat = {
  api: 'openai',
  path: '/v1/chat/completions',
  parse,
  error,
  replyBody,
  streamFrames,
  defaultDialect: 'openai',
  requestIdHeader: (id) => ['x-request-id', `req_sim_${id}`],
};
