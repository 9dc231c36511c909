/**
 * The shape of a forecast (`troupe plan`, and the copy kept with each job): plain data, so that
 * the store and the formatters can name it without depending on how it is computed.
 */
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

/**
 * The forecast of the suite's judge: one grading call per answer (requested, or copied without a
 * grade), each carrying the conversation, the answer and the judge's instructions. A reply without
 * a rating is asked again; those extra calls are not foreseen.
 */
export interface JudgeForecast {
  /** The judge's model id, and its provider. */
  readonly model: string;
  readonly provider: string;
  /** Grading calls. */
  readonly calls: number;
  readonly inputTokens: number;
  readonly outputTokens: number;
  /** Estimated tokens of one grading reply: the mean of earlier grades, else the judge's `maxTokens`. */
  readonly answerTokens: number;
  readonly answerSource: AnswerSource;
  /** Earlier grades the mean is over (0 when none). */
  readonly historyGrades: number;
  /** Latency of one call in ms: the judge model's. */
  readonly latencyMs: number;
  /** Null when the judge model has no prices. */
  readonly costUsd: number | null;
  readonly worstCaseCostUsd: number | null;
}

/** One term of the wall-time bound. */
export type LimitName = 'conversation' | 'requestsPerMinute' | 'tokensPerMinute' | 'concurrency';

/** A term of the bound and its value. */
export interface BoundTerm {
  readonly limit: LimitName;
  /** Least wall time this limit allows, in ms. */
  readonly ms: number;
}

/** The forecast of one provider: its models' work (and the judge's, when it is here) against its limits. */
export interface ProviderForecast {
  readonly provider: string;
  /** Turns its models request. */
  readonly turns: number;
  /** Grading calls the judge sends here (0 when the judge is elsewhere or absent). */
  readonly judgeCalls: number;
  /** Input and output tokens of all those requests. */
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
  /** The judge's grading; null when the suite has no judge. */
  readonly judge: JudgeForecast | null;
  readonly providers: readonly ProviderForecast[];
  /** Turns to request (grading calls not included). */
  readonly turns: number;
  readonly reusedTurns: number;
  /** Tokens of every request, the judge's included. */
  readonly inputTokens: number;
  readonly outputTokens: number;
  /** Sum over priced models and the judge when priced; null when nothing has prices. */
  readonly costUsd: number | null;
  /** True when some model (or the judge) has no prices (its cost is not in `costUsd`). */
  readonly costIncomplete: boolean;
  /** The least wall time of the job: the slowest provider's bound, in ms. */
  readonly boundMs: number;
  /** The provider and limit that bind the job; undefined for an empty job. */
  readonly binding: { readonly provider: string; readonly limit: LimitName } | undefined;
}
