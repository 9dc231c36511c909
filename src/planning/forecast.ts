/**
 * What a suite will cost before anything is sent: per model its turns, input tokens (context
 * accumulates: turn k carries the system prompt, k prompts and k − 1 answers), output tokens and
 * cost; per provider the least wall time its limits allow, `max(T·L, N/R, tokens/TPM, N·L/C)`, and
 * which of them binds. Pure: the history of earlier jobs comes in as data.
 */
import { MAX_ADAPTIVE_CONCURRENCY, REPLY_PRIMING_TOKENS } from '../resilience/defaults.js';
import { estimateMessageTokens } from '../resilience/token-estimate.js';
import { systemPromptOf } from '../conversation/context.js';
import type { ModelConfig, Suite } from '../suite/types.js';
import type { ModelHistory } from './history.js';

/** Latency assumed for a model no earlier job measured (and not simulated), in ms. */
export const DEFAULT_PLAN_LATENCY_MS = 2_000;

const MS_PER_MINUTE = 60_000;
const TOKENS_PER_MILLION = 1_000_000;

/** Where an estimate comes from. */
export type AnswerSource = 'history' | 'maxTokens';
export type LatencySource = 'history' | 'simulated' | 'default';

/** The forecast of one model of a suite. */
export interface ModelForecast {
  readonly model: string;
  readonly provider: string;
  /** Requests to send (turns, less those reused). */
  readonly turns: number;
  /** Turns copied from earlier jobs instead of requested (`--reuse`). */
  readonly reusedTurns: number;
  /** Estimated input tokens of those requests. */
  readonly inputTokens: number;
  /** Estimated output tokens. */
  readonly outputTokens: number;
  /** Estimated tokens of one answer, and where that comes from. */
  readonly answerTokens: number;
  readonly answerSource: AnswerSource;
  /** Turns of earlier jobs the history figures are over (0 when none). */
  readonly historyTurns: number;
  /** Latency of one request in ms (L), and where it comes from. */
  readonly latencyMs: number;
  readonly latencySource: LatencySource;
  /** Estimated cost in US dollars; null when the suite gives the model no prices. */
  readonly costUsd: number | null;
  /** The most the requests could cost: input estimate + `maxTokens` for each; null without prices. */
  readonly worstCaseCostUsd: number | null;
  /** Turns of this model's longest conversation still to request (T). */
  readonly longestConversation: number;
}

/** One term of the wall-time bound. */
export type LimitName = 'conversation' | 'requestsPerMinute' | 'tokensPerMinute' | 'concurrency';

/** A term of the bound and its value. */
export interface BoundTerm {
  readonly limit: LimitName;
  /** Least wall time this limit allows, in ms. */
  readonly ms: number;
}

/** The forecast of one provider: its models' work against its limits. */
export interface ProviderForecast {
  readonly provider: string;
  readonly turns: number;
  readonly tokens: number;
  /** Every term that applies (a limit the suite does not set has none). */
  readonly terms: readonly BoundTerm[];
  /** The largest term: the least wall time for this provider, in ms. */
  readonly boundMs: number;
  readonly binding: LimitName;
}

/** The forecast of a whole job. */
export interface JobForecast {
  readonly models: readonly ModelForecast[];
  readonly providers: readonly ProviderForecast[];
  readonly turns: number;
  readonly reusedTurns: number;
  readonly inputTokens: number;
  readonly outputTokens: number;
  /** Sum over priced models; null when no model has prices. */
  readonly costUsd: number | null;
  /** True when some model has no prices (its cost is not in `costUsd`). */
  readonly costIncomplete: boolean;
  /** The least wall time of the job: the slowest provider's bound, in ms. */
  readonly boundMs: number;
  /** The provider and limit that bind the job; undefined for an empty job. */
  readonly binding: { readonly provider: string; readonly limit: LimitName } | undefined;
}

/** What earlier jobs tell about each model, by `historyKey`. */
export type HistoryIndex = ReadonlyMap<string, ModelHistory>;

/** The key of a model in the history: its provider type and the provider's model name. */
export function historyKey(providerType: string, modelName: string): string {
  return `${providerType}\u0000${modelName}`;
}

/** Turns already answered and reused, per (model, sequence, run): the first `count` turns. */
export type ReusedTurns = (model: string, sequence: string, run: number) => number;

const noReuse: ReusedTurns = () => 0;

function costOf(model: ModelConfig, input: number, output: number): number | null {
  const prices = model.pricePerMillionTokens;
  if (prices === undefined) return null;
  return (input * prices.input + output * prices.output) / TOKENS_PER_MILLION;
}

/**
 * Input tokens of turns `from`..`to` (1-based, inclusive) of one conversation: each carries
 * priming, the system prompt, the prompts up to its own and the answers before it.
 */
function conversationInput(
  systemTokens: number,
  promptTokens: readonly number[],
  answerTokens: number,
  from: number,
): number {
  let total = 0;
  let prompts = 0;
  for (let k = 1; k <= promptTokens.length; k += 1) {
    prompts += promptTokens[k - 1] ?? 0;
    if (k < from) continue;
    // An answer of A tokens comes back as a message of about A tokens plus its framing.
    const answers = (k - 1) * (answerTokens + estimateMessageTokens(''));
    total += REPLY_PRIMING_TOKENS + systemTokens + prompts + answers;
  }
  return total;
}

function forecastModel(
  suite: Suite,
  model: ModelConfig,
  history: ModelHistory | undefined,
  reused: ReusedTurns,
  promptTokens: ReadonlyMap<string, readonly number[]>,
): ModelForecast {
  const provider = suite.providers[model.provider];
  const fromHistory = history !== undefined && history.outputTurns > 0;
  // A model stops at maxTokens: the history's mean can never exceed it.
  const answerTokens = fromHistory ? Math.min(history.meanOutputTokens, model.maxTokens) : model.maxTokens;
  let latencyMs = DEFAULT_PLAN_LATENCY_MS;
  let latencySource: LatencySource = 'default';
  if (provider?.type === 'simulated') {
    latencyMs = provider.latencyMs;
    latencySource = 'simulated';
  } else if (history?.p50LatencyMs !== undefined) {
    latencyMs = history.p50LatencyMs;
    latencySource = 'history';
  }
  let turns = 0;
  let reusedTurns = 0;
  let input = 0;
  let worstInput = 0;
  let longest = 0;
  for (const sequence of suite.sequences) {
    const system = systemPromptOf(model, sequence);
    const systemTokens = system === undefined ? 0 : estimateMessageTokens(system);
    const prompts = promptTokens.get(sequence.id) ?? [];
    for (let run = 1; run <= suite.runs; run += 1) {
      const done = Math.min(reused(model.id, sequence.id, run), prompts.length);
      const left = prompts.length - done;
      reusedTurns += done;
      turns += left;
      longest = Math.max(longest, left);
      input += conversationInput(systemTokens, prompts, answerTokens, done + 1);
      worstInput += conversationInput(systemTokens, prompts, model.maxTokens, done + 1);
    }
  }
  const output = turns * answerTokens;
  return {
    model: model.id,
    provider: model.provider,
    turns,
    reusedTurns,
    inputTokens: Math.round(input),
    outputTokens: Math.round(output),
    answerTokens: Math.round(answerTokens),
    answerSource: fromHistory ? 'history' : 'maxTokens',
    historyTurns: history?.outputTurns ?? 0,
    latencyMs,
    latencySource,
    costUsd: costOf(model, input, output),
    worstCaseCostUsd: costOf(model, worstInput, turns * model.maxTokens),
    longestConversation: longest,
  };
}

function forecastProvider(suite: Suite, id: string, models: readonly ModelForecast[]): ProviderForecast {
  const limits = suite.providers[id]?.limits;
  const turns = models.reduce((sum, m) => sum + m.turns, 0);
  const tokens = models.reduce((sum, m) => sum + m.inputTokens + m.outputTokens, 0);
  const terms: BoundTerm[] = [
    { limit: 'conversation', ms: Math.max(0, ...models.map((m) => m.longestConversation * m.latencyMs)) },
  ];
  if (limits?.requestsPerMinute !== undefined) {
    terms.push({ limit: 'requestsPerMinute', ms: (turns / limits.requestsPerMinute) * MS_PER_MINUTE });
  }
  if (limits?.tokensPerMinute !== undefined) {
    terms.push({ limit: 'tokensPerMinute', ms: (tokens / limits.tokensPerMinute) * MS_PER_MINUTE });
  }
  // Without a configured cap the adaptive window still stops at its largest size.
  const concurrency = limits?.maxConcurrency ?? MAX_ADAPTIVE_CONCURRENCY;
  terms.push({
    limit: 'concurrency',
    ms: models.reduce((sum, m) => sum + m.turns * m.latencyMs, 0) / concurrency,
  });
  const top = terms.reduce((a, b) => (b.ms > a.ms ? b : a));
  return { provider: id, turns, tokens, terms, boundMs: top.ms, binding: top.limit };
}

/**
 * The forecast of `suite`: `history` indexes earlier jobs' figures by `historyKey`; `reused` tells
 * how many leading turns of each conversation would be copied instead of requested.
 */
export function forecastSuite(
  suite: Suite,
  history: HistoryIndex,
  reused: ReusedTurns = noReuse,
): JobForecast {
  const promptTokens = new Map(
    suite.sequences.map((s) => [s.id, s.prompts.map((prompt) => estimateMessageTokens(prompt))] as const),
  );
  const models = suite.models.map((model) => {
    const type = suite.providers[model.provider]?.type ?? '';
    return forecastModel(suite, model, history.get(historyKey(type, model.model)), reused, promptTokens);
  });
  const providerIds = [...new Set(suite.models.map((m) => m.provider))];
  const providers = providerIds.map((id) =>
    forecastProvider(
      suite,
      id,
      models.filter((m) => m.provider === id),
    ),
  );
  const slowest = providers.reduce<ProviderForecast | undefined>(
    (a, b) => (a === undefined || b.boundMs > a.boundMs ? b : a),
    undefined,
  );
  const priced = models.filter((m) => m.costUsd !== null);
  return {
    models,
    providers,
    turns: models.reduce((sum, m) => sum + m.turns, 0),
    reusedTurns: models.reduce((sum, m) => sum + m.reusedTurns, 0),
    inputTokens: models.reduce((sum, m) => sum + m.inputTokens, 0),
    outputTokens: models.reduce((sum, m) => sum + m.outputTokens, 0),
    costUsd: priced.length === 0 ? null : priced.reduce((sum, m) => sum + (m.costUsd ?? 0), 0),
    costIncomplete: priced.length < models.length,
    boundMs: slowest?.boundMs ?? 0,
    binding: slowest === undefined ? undefined : { provider: slowest.provider, limit: slowest.binding },
  };
}
