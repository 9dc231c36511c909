/** Scripted failures the simulator injects, and the book that decides which request gets one. */
import type { ApiName } from './wire.js';

/**
 * One kind of failure:
 * - `status`: that HTTP status (4xx/5xx) with a proper error body; a 429 carries `retry-after`.
 * - `quota`: the account is out of credit (OpenAI 429 `insufficient_quota`, Anthropic 402 `billing_error`);
 *   without a `retry-after` unless one is given, as the providers send it.
 * - `malformed`: 200 with a body that is not JSON.
 * - `truncated`: 200 whose JSON body (or event stream) is cut off mid-way.
 * - `empty`: 200 JSON with no choices / no content blocks.
 * - `hang`: never answers, until the client gives up or the simulator closes.
 * - `reset`: destroys the socket without an answer.
 */
export type Fault =
  | {
      readonly kind: 'status';
      readonly status: number;
      /** Sent as `retry-after` (seconds). Default for a 429: 1; otherwise no header. */
      readonly retryAfterSeconds?: number;
    }
  | {
      readonly kind: 'quota';
      /** Sent as `retry-after` (seconds), as a proxy or gateway may add it. Default: no header. */
      readonly retryAfterSeconds?: number;
    }
  | { readonly kind: 'malformed' }
  | { readonly kind: 'truncated' }
  | { readonly kind: 'empty' }
  /** A well-formed answer whose text is `text` (e.g. a judge's reply without a rating). */
  | { readonly kind: 'text'; readonly text: string }
  | { readonly kind: 'hang' }
  | { readonly kind: 'reset' };

/** When a fault applies. Rules are checked in order; the first match with hits left applies. */
export interface FaultRule {
  readonly fault: Fault;
  /** How many matching requests it hits. Default: every one, until `configure` replaces the rules. */
  readonly times?: number;
  /** Only requests for this model. Default: any model. */
  readonly model?: string;
  /** Only requests to this API. Default: both. */
  readonly api?: ApiName;
  /**
   * Only requests whose last user message matches this regular expression (poison requests: the
   * same prompt fails every time, whatever else happens). Default: any request.
   */
  readonly matching?: string;
}

const LOWEST_ERROR_STATUS = 400;
const HIGHEST_ERROR_STATUS = 599;

/** Throws a RangeError naming the rule when a rule cannot be served. */
export function validateFaultRules(rules: readonly FaultRule[]): void {
  rules.forEach((rule, index) => {
    const where = `faults[${index}]`;
    if (rule.times !== undefined && (!Number.isInteger(rule.times) || rule.times < 0)) {
      throw new RangeError(`${where}.times must be a whole number ≥ 0, got ${rule.times}`);
    }
    if (rule.matching !== undefined) {
      try {
        new RegExp(rule.matching);
      } catch (error) {
        throw new RangeError(`${where}.matching is not a regular expression: ${(error as Error).message}`);
      }
    }
    const fault = rule.fault;
    if (fault.kind !== 'status' && fault.kind !== 'quota') return;
    if (
      fault.kind === 'status' &&
      (!Number.isInteger(fault.status) ||
        fault.status < LOWEST_ERROR_STATUS ||
        fault.status > HIGHEST_ERROR_STATUS)
    ) {
      throw new RangeError(
        `${where}.fault.status must be an HTTP error status (400–599), got ${fault.status}`,
      );
    }
    if (fault.retryAfterSeconds !== undefined && !(fault.retryAfterSeconds >= 0)) {
      throw new RangeError(`${where}.fault.retryAfterSeconds must be ≥ 0, got ${fault.retryAfterSeconds}`);
    }
  });
}

/** The configured rules with their remaining hits. */
export class FaultBook {
  private readonly remaining: (number | undefined)[];
  private readonly patterns: (RegExp | undefined)[];

  constructor(private readonly rules: readonly FaultRule[]) {
    validateFaultRules(rules);
    this.remaining = rules.map((rule) => rule.times);
    this.patterns = rules.map((rule) =>
      rule.matching === undefined ? undefined : new RegExp(rule.matching),
    );
  }

  /** The fault for this request (its last user message is `prompt`), if a rule matches with hits left; uses up one hit. */
  take(api: ApiName, model: string, prompt = ''): Fault | undefined {
    for (const [index, rule] of this.rules.entries()) {
      if (rule.api !== undefined && rule.api !== api) continue;
      if (rule.model !== undefined && rule.model !== model) continue;
      if (this.patterns[index]?.test(prompt) === false) continue;
      const left = this.remaining[index];
      if (left === undefined) return rule.fault;
      if (left <= 0) continue;
      this.remaining[index] = left - 1;
      return rule.fault;
    }
    return undefined;
  }

  /** The same rules with all their hits restored. */
  renewed(): FaultBook {
    return new FaultBook(this.rules);
  }
}
