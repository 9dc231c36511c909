/**
 * What a suite will cost before anything is sent: per model its turns, input tokens (context
 * accumulates: turn k carries the system prompt, k prompts and k − 1 answers), output tokens and
 * cost; the judge's grading calls (one per answer) likewise; per provider the least wall time its
 * limits allow, `max(T·L, N/R, tokens/TPM, N·L/C)`, and which of them binds. Pure: the history of
 * earlier jobs comes in as data, and the sequences come in batches (`ForecastBuilder`), so a suite
 * of a million sequences is forecast without being held.
 */
import { CHARS_PER_TOKEN, MAX_ADAPTIVE_CONCURRENCY, REPLY_PRIMING_TOKENS } from '../resilience/defaults.js';
import { estimateMessageTokens } from '../resilience/token-estimate.js';
import { systemPromptOf } from '../conversation/context.js';
import type { ModelConfig, SequenceConfig, Suite, SuiteSettings } from '../suite/types.js';
import { historyKey, type HistoryIndex, type ModelHistory } from './history.js';
import type {
  AnswerSource,
  BoundTerm,
  JobForecast,
  JudgeForecast,
  LatencySource,
  ModelForecast,
  ProviderForecast,
} from './forecast-types.js';
import { JudgePromptSize } from './judge-estimate.js';

/** Latency assumed for a model no earlier job measured (and not simulated), in ms. */
export const DEFAULT_PLAN_LATENCY_MS = 2_000;

const MS_PER_MINUTE = 60_000;
const TOKENS_PER_MILLION = 1_000_000;

/** What reuse copies of one conversation: its first `turns` turns, the first `graded` of them with their grade. */
export interface ReusedConversation {
  readonly turns: number;
  readonly graded: number;
}

/** What reuse copies, per (model, sequence, run). */
export type ReusedTurns = (model: string, sequence: string, run: number) => ReusedConversation;

const NOTHING_REUSED: ReusedConversation = { turns: 0, graded: 0 };
const noReuse: ReusedTurns = () => NOTHING_REUSED;

function costOf(model: ModelConfig, input: number, output: number): number | null {
  const prices = model.pricePerMillionTokens;
  if (prices === undefined) return null;
  return (input * prices.input + output * prices.output) / TOKENS_PER_MILLION;
}

/** A model's estimates that do not depend on the sequences. */
interface ModelBasis {
  readonly model: ModelConfig;
  readonly answerTokens: number;
  readonly answerSource: AnswerSource;
  readonly historyTurns: number;
  readonly latencyMs: number;
  readonly latencySource: LatencySource;
}

/** Running sums of one model over the sequences seen so far. */
interface ModelTally {
  turns: number;
  reusedTurns: number;
  input: number;
  worstInput: number;
  longest: number;
  judgeCalls: number;
  judgeInput: number;
  judgeWorstInput: number;
}

function basisOf(suite: SuiteSettings, model: ModelConfig, history: ModelHistory | undefined): ModelBasis {
  const provider = suite.providers[model.provider];
  const fromHistory = history !== undefined && history.outputTurns > 0;
  let latencyMs = DEFAULT_PLAN_LATENCY_MS;
  let latencySource: LatencySource = 'default';
  if (provider?.type === 'simulated') {
    latencyMs = provider.latencyMs;
    latencySource = 'simulated';
  } else if (history?.p50LatencyMs !== undefined) {
    latencyMs = history.p50LatencyMs;
    latencySource = 'history';
  }
  return {
    model,
    // A model stops at maxTokens: the history's mean can never exceed it.
    answerTokens: fromHistory ? Math.min(history.meanOutputTokens, model.maxTokens) : model.maxTokens,
    answerSource: fromHistory ? 'history' : 'maxTokens',
    historyTurns: history?.outputTurns ?? 0,
    latencyMs,
    latencySource,
  };
}

/** The judge of a suite: its model and what one grading reply is taken to be. */
interface JudgeBasis {
  readonly model: ModelConfig;
  readonly answerTokens: number;
  readonly answerSource: AnswerSource;
  readonly historyGrades: number;
  readonly prompt: JudgePromptSize;
}

/**
 * A job's forecast built from its sequences a batch at a time: only running sums are kept, so
 * the memory does not grow with the suite and each sequence costs the same.
 */
export class ForecastBuilder {
  private readonly bases: readonly ModelBasis[];
  private readonly tallies: ModelTally[];
  private readonly judge: JudgeBasis | undefined;

  constructor(
    private readonly suite: SuiteSettings,
    history: HistoryIndex,
  ) {
    const historyOf = (model: ModelConfig): ModelHistory | undefined =>
      history.get(historyKey(suite.providers[model.provider]?.type ?? '', model.model));
    this.bases = suite.models.map((model) => basisOf(suite, model, historyOf(model)));
    this.tallies = suite.models.map(() => ({
      turns: 0,
      reusedTurns: 0,
      input: 0,
      worstInput: 0,
      longest: 0,
      judgeCalls: 0,
      judgeInput: 0,
      judgeWorstInput: 0,
    }));
    const judgeModel = suite.models.find((m) => m.id === suite.judge?.model);
    if (suite.judge !== undefined && judgeModel !== undefined) {
      const past = historyOf(judgeModel);
      const grades = past?.judgeGrades ?? 0;
      this.judge = {
        model: judgeModel,
        answerTokens:
          grades > 0
            ? Math.min(past?.meanJudgeOutputTokens ?? 0, judgeModel.maxTokens)
            : judgeModel.maxTokens,
        answerSource: grades > 0 ? 'history' : 'maxTokens',
        historyGrades: grades,
        prompt: new JudgePromptSize(suite.judge.rubric),
      };
    }
  }

  /** Counts `sequences` (any order, each once), of which `reused` tells what would be copied. */
  add(sequences: readonly SequenceConfig[], reused: ReusedTurns = noReuse): void {
    for (const sequence of sequences) {
      const promptTokens = sequence.prompts.map((prompt) => estimateMessageTokens(prompt));
      const promptBytes = sequence.prompts.map((prompt) => Buffer.byteLength(prompt, 'utf8'));
      this.bases.forEach((basis, index) => {
        const tally = this.tallies[index];
        if (tally !== undefined) this.addSequence(basis, tally, sequence, promptTokens, promptBytes, reused);
      });
    }
  }

  private addSequence(
    basis: ModelBasis,
    tally: ModelTally,
    sequence: SequenceConfig,
    promptTokens: readonly number[],
    promptBytes: readonly number[],
    reused: ReusedTurns,
  ): void {
    const { model } = basis;
    const system = systemPromptOf(model, sequence);
    const systemTokens = system === undefined ? 0 : estimateMessageTokens(system);
    // The judge's prompt for each turn of this sequence and model (its reference differs by turn).
    const judgeBase =
      this.judge === undefined
        ? []
        : sequence.prompts.map((_, k) => this.judge?.prompt.baseBytes(system, sequence.reference?.[k]) ?? 0);
    for (let run = 1; run <= this.suite.runs; run += 1) {
      const copied = reused(model.id, sequence.id, run);
      const done = Math.min(copied.turns, promptTokens.length);
      const left = promptTokens.length - done;
      tally.reusedTurns += done;
      tally.turns += left;
      tally.longest = Math.max(tally.longest, left);
      tally.input += conversationInput(systemTokens, promptTokens, basis.answerTokens, done + 1);
      tally.worstInput += conversationInput(systemTokens, promptTokens, model.maxTokens, done + 1);
      if (this.judge !== undefined) {
        // Every answer is graded once: those requested, and those copied without their grade.
        const from = Math.min(copied.graded, done) + 1;
        tally.judgeCalls += promptTokens.length - from + 1;
        tally.judgeInput += this.judgeInput(judgeBase, promptBytes, basis.answerTokens, from);
        tally.judgeWorstInput += this.judgeInput(judgeBase, promptBytes, model.maxTokens, from);
      }
    }
  }

  /** Input tokens of grading turns `from`.. of one conversation whose answers are `answerTokens` long. */
  private judgeInput(
    base: readonly number[],
    promptBytes: readonly number[],
    answerTokens: number,
    from: number,
  ): number {
    const judge = this.judge;
    if (judge === undefined) return 0;
    let total = 0;
    let prompts = 0;
    for (let k = 1; k <= promptBytes.length; k += 1) {
      prompts += promptBytes[k - 1] ?? 0;
      if (k < from) continue;
      total += judge.prompt.inputTokens(base[k - 1] ?? 0, k, prompts, answerTokens * CHARS_PER_TOKEN);
    }
    return total;
  }

  /** The forecast of every sequence added so far. */
  result(): JobForecast {
    const models = this.bases.map((basis, index) => modelForecast(basis, this.tallies[index]));
    const judge = this.judgeForecast();
    const providerIds = [...new Set(this.suite.models.map((m) => m.provider))];
    const providers = providerIds.map((id) =>
      providerForecast(
        this.suite,
        id,
        models.filter((m) => m.provider === id),
        judge?.provider === id ? judge : null,
      ),
    );
    const slowest = providers.reduce<ProviderForecast | undefined>(
      (a, b) => (a === undefined || b.boundMs > a.boundMs ? b : a),
      undefined,
    );
    const costs = [...models.map((m) => m.costUsd), ...(judge === null ? [] : [judge.costUsd])];
    const priced = costs.filter((c): c is number => c !== null);
    return {
      models,
      judge,
      providers,
      turns: models.reduce((sum, m) => sum + m.turns, 0),
      reusedTurns: models.reduce((sum, m) => sum + m.reusedTurns, 0),
      inputTokens: models.reduce((sum, m) => sum + m.inputTokens, 0) + (judge?.inputTokens ?? 0),
      outputTokens: models.reduce((sum, m) => sum + m.outputTokens, 0) + (judge?.outputTokens ?? 0),
      costUsd: priced.length === 0 ? null : priced.reduce((sum, c) => sum + c, 0),
      costIncomplete: priced.length < costs.length,
      boundMs: slowest?.boundMs ?? 0,
      binding: slowest === undefined ? undefined : { provider: slowest.provider, limit: slowest.binding },
    };
  }

  private judgeForecast(): JudgeForecast | null {
    const judge = this.judge;
    if (judge === undefined) return null;
    const calls = this.tallies.reduce((sum, t) => sum + t.judgeCalls, 0);
    const input = this.tallies.reduce((sum, t) => sum + t.judgeInput, 0);
    const worstInput = this.tallies.reduce((sum, t) => sum + t.judgeWorstInput, 0);
    const output = calls * judge.answerTokens;
    const latencyMs =
      this.bases.find((b) => b.model.id === judge.model.id)?.latencyMs ?? DEFAULT_PLAN_LATENCY_MS;
    return {
      model: judge.model.id,
      provider: judge.model.provider,
      calls,
      inputTokens: Math.round(input),
      outputTokens: Math.round(output),
      answerTokens: Math.round(judge.answerTokens),
      answerSource: judge.answerSource,
      historyGrades: judge.historyGrades,
      latencyMs,
      costUsd: costOf(judge.model, input, output),
      worstCaseCostUsd: costOf(judge.model, worstInput, calls * judge.model.maxTokens),
    };
  }
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

function modelForecast(basis: ModelBasis, tally: ModelTally | undefined): ModelForecast {
  const { model } = basis;
  const turns = tally?.turns ?? 0;
  const input = tally?.input ?? 0;
  const output = turns * basis.answerTokens;
  return {
    model: model.id,
    provider: model.provider,
    turns,
    reusedTurns: tally?.reusedTurns ?? 0,
    inputTokens: Math.round(input),
    outputTokens: Math.round(output),
    answerTokens: Math.round(basis.answerTokens),
    answerSource: basis.answerSource,
    historyTurns: basis.historyTurns,
    latencyMs: basis.latencyMs,
    latencySource: basis.latencySource,
    costUsd: costOf(model, input, output),
    worstCaseCostUsd: costOf(model, tally?.worstInput ?? 0, turns * model.maxTokens),
    longestConversation: tally?.longest ?? 0,
  };
}

function providerForecast(
  suite: SuiteSettings,
  id: string,
  models: readonly ModelForecast[],
  judge: JudgeForecast | null,
): ProviderForecast {
  const limits = suite.providers[id]?.limits;
  const turns = models.reduce((sum, m) => sum + m.turns, 0);
  const judgeCalls = judge?.calls ?? 0;
  const requests = turns + judgeCalls;
  const tokens =
    models.reduce((sum, m) => sum + m.inputTokens + m.outputTokens, 0) +
    (judge === null ? 0 : judge.inputTokens + judge.outputTokens);
  // Grading runs beside the conversations; it only adds requests, tokens and busy time.
  const terms: BoundTerm[] = [
    { limit: 'conversation', ms: Math.max(0, ...models.map((m) => m.longestConversation * m.latencyMs)) },
  ];
  if (limits?.requestsPerMinute !== undefined) {
    terms.push({ limit: 'requestsPerMinute', ms: (requests / limits.requestsPerMinute) * MS_PER_MINUTE });
  }
  if (limits?.tokensPerMinute !== undefined) {
    terms.push({ limit: 'tokensPerMinute', ms: (tokens / limits.tokensPerMinute) * MS_PER_MINUTE });
  }
  // Without a configured cap the adaptive window still stops at its largest size.
  const concurrency = limits?.maxConcurrency ?? MAX_ADAPTIVE_CONCURRENCY;
  const busyMs =
    models.reduce((sum, m) => sum + m.turns * m.latencyMs, 0) + judgeCalls * (judge?.latencyMs ?? 0);
  terms.push({ limit: 'concurrency', ms: busyMs / concurrency });
  const top = terms.reduce((a, b) => (b.ms > a.ms ? b : a));
  return { provider: id, turns, judgeCalls, tokens, terms, boundMs: top.ms, binding: top.limit };
}

/**
 * The forecast of `suite`, its sequences in memory: `history` indexes earlier jobs' figures by
 * `historyKey`; `reused` tells what of each conversation would be copied instead of requested.
 */
export function forecastSuite(
  suite: Suite,
  history: HistoryIndex,
  reused: ReusedTurns = noReuse,
): JobForecast {
  const builder = new ForecastBuilder(suite, history);
  builder.add(suite.sequences, reused);
  return builder.result();
}
