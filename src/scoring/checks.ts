/**
 * The per-answer checks of a suite (`expect:`). Each check gives a result with a
 * reason a person can read in the report; a check that cannot run (a script that
 * throws, an unsupported schema) is recorded as an error of that check — it never
 * fails the turn or crashes its conversation.
 */
import { pathToFileURL } from 'node:url';
import type { ChatMessage } from '../providers/types.js';
import { unsupportedKeywords, validateJson } from './json-schema.js';
import type { Check, CheckResult } from './types.js';

/** Longest a script check may take, in ms. */
export const SCRIPT_CHECK_TIMEOUT_MS = 5_000;
/** Characters of an answer quoted in a reason. */
const QUOTE_CHARS = 60;

/** What a script check's function receives besides the answer. */
export interface ScriptCheckContext {
  /** The request's messages: the conversation up to the question answered. */
  readonly conversation: readonly ChatMessage[];
  /** The question answered. */
  readonly prompt: string;
}

type ScriptFunction = (answer: string, context: ScriptCheckContext) => unknown;

const scripts = new Map<string, Promise<ScriptFunction>>();

/** Runs `checks` on `answer`, in order. */
export async function runChecks(
  checks: readonly Check[],
  answer: string,
  conversation: readonly ChatMessage[],
): Promise<CheckResult[]> {
  const results: CheckResult[] = [];
  for (const check of checks) results.push(await runCheck(check, answer, conversation));
  return results;
}

async function runCheck(
  check: Check,
  answer: string,
  conversation: readonly ChatMessage[],
): Promise<CheckResult> {
  switch (check.kind) {
    case 'contains': {
      const found = fold(answer, check.ignoreCase).includes(fold(check.value, check.ignoreCase));
      return verdict(check.kind, found, found ? `contains "${check.value}"` : `missing "${check.value}"`);
    }
    case 'notContains': {
      const found = fold(answer, check.ignoreCase).includes(fold(check.value, check.ignoreCase));
      return verdict(
        check.kind,
        !found,
        found ? `contains "${check.value}", which it must not` : `does not contain "${check.value}"`,
      );
    }
    case 'regex': {
      const matches = new RegExp(check.pattern, check.flags).test(answer);
      return verdict(
        check.kind,
        matches,
        `${matches ? 'matches' : 'does not match'} /${check.pattern}/${check.flags}`,
      );
    }
    case 'equals': {
      const actual = check.trim ? answer.trim() : answer;
      const expected = check.trim ? check.value.trim() : check.value;
      return verdict(
        check.kind,
        actual === expected,
        actual === expected ? 'equals the expected text' : `is "${quote(actual)}", not "${quote(expected)}"`,
      );
    }
    case 'json':
      return jsonCheck(check.schema, answer);
    case 'maxLength': {
      const length = [...answer].length;
      return verdict(
        check.kind,
        length <= check.chars,
        `${length} characters${length <= check.chars ? '' : `, over the limit of ${check.chars}`}`,
      );
    }
    case 'script':
      return scriptCheck(check.path, answer, conversation);
    default: {
      const unknown: never = check;
      return { kind: (unknown as Check).kind, passed: null, score: null, reason: 'unknown check' };
    }
  }
}

function jsonCheck(schema: unknown, answer: string): CheckResult {
  // Models often fence JSON in a markdown block; the block's content is what is checked.
  const fenced = /```(?:json)?\s*\n([\s\S]*?)\n?```/.exec(answer)?.[1];
  let value: unknown;
  try {
    value = JSON.parse(fenced ?? answer);
  } catch (error) {
    return verdict(
      'json',
      false,
      `is not valid JSON: ${error instanceof Error ? error.message : String(error)}`,
    );
  }
  if (schema === undefined) return verdict('json', true, 'is valid JSON');
  const unsupported = unsupportedKeywords(schema);
  if (unsupported.length > 0) {
    return {
      kind: 'json',
      passed: null,
      score: null,
      reason: `the schema uses keywords troupe does not check: ${unsupported.join(', ')}`,
    };
  }
  const problem = validateJson(value, schema);
  return verdict(
    'json',
    problem === undefined,
    problem === undefined
      ? 'is valid JSON matching the schema'
      : `JSON does not match the schema: ${problem}`,
  );
}

async function scriptCheck(
  path: string,
  answer: string,
  conversation: readonly ChatMessage[],
): Promise<CheckResult> {
  const prompt = [...conversation].reverse().find((message) => message.role === 'user')?.content ?? '';
  let timer: NodeJS.Timeout | undefined;
  try {
    const fn = await loadScript(path);
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(
        () => reject(new Error(`took longer than ${SCRIPT_CHECK_TIMEOUT_MS} ms`)),
        SCRIPT_CHECK_TIMEOUT_MS,
      );
    });
    return scriptResult(await Promise.race([Promise.resolve(fn(answer, { conversation, prompt })), timeout]));
  } catch (error) {
    return {
      kind: 'script',
      passed: null,
      score: null,
      reason: `the script failed: ${error instanceof Error ? error.message : String(error)}`,
    };
  } finally {
    clearTimeout(timer);
  }
}

function loadScript(path: string): Promise<ScriptFunction> {
  let loading = scripts.get(path);
  if (!loading) {
    loading = import(pathToFileURL(path).href).then((module: Record<string, unknown>) => {
      const fn = module.default ?? module.check;
      if (typeof fn !== 'function') throw new Error(`${path} exports no default or "check" function`);
      return fn as ScriptFunction;
    });
    scripts.set(path, loading);
  }
  return loading;
}

/** A script may answer with a boolean, a score from 0 to 1, or `{ pass?, score?, reason? }`. */
function scriptResult(value: unknown): CheckResult {
  if (typeof value === 'boolean')
    return verdict('script', value, value ? 'the script passed it' : 'the script failed it');
  if (typeof value === 'number' && value >= 0 && value <= 1) {
    return { kind: 'script', passed: value >= 0.5, score: value, reason: `the script scored it ${value}` };
  }
  if (typeof value === 'object' && value !== null) {
    const { pass, score, reason } = value as { pass?: unknown; score?: unknown; reason?: unknown };
    const validScore = typeof score === 'number' && score >= 0 && score <= 1 ? score : undefined;
    const passed =
      typeof pass === 'boolean' ? pass : validScore !== undefined ? validScore >= 0.5 : undefined;
    if (passed !== undefined) {
      return {
        kind: 'script',
        passed,
        score: validScore ?? (passed ? 1 : 0),
        reason:
          typeof reason === 'string' ? reason : passed ? 'the script passed it' : 'the script failed it',
      };
    }
  }
  return {
    kind: 'script',
    passed: null,
    score: null,
    reason: `the script returned ${JSON.stringify(value)}, not a boolean, a score from 0 to 1 or { pass, score, reason }`,
  };
}

function verdict(kind: Check['kind'], passed: boolean, reason: string): CheckResult {
  return { kind, passed, score: passed ? 1 : 0, reason };
}

function fold(text: string, ignoreCase: boolean): string {
  return ignoreCase ? text.toLowerCase() : text;
}

function quote(text: string): string {
  return text.length <= QUOTE_CHARS ? text : `${text.slice(0, QUOTE_CHARS)}…`;
}
