/**
 * The per-answer checks of a suite (`expect:`). Each check gives a result with a
 * reason a person can read in the report; a check that cannot run (a script that
 * throws, an unsupported schema) is recorded as an error of that check — it never
 * fails the turn or crashes its conversation.
 */
import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { pathToFileURL } from 'node:url';
import type { ChatMessage } from '../providers/types.js';
import { pointer, schemaProblems, validateJson } from './json-schema.js';
import type { Check, CheckResult } from './types.js';
import { groupThousands } from '../suite/schema-check.js';

/** Longest a script check may take (loading its module included), in ms. */
export const SCRIPT_CHECK_TIMEOUT_MS = 5_000;

/** A script's score at or above this passes, when it gives a score and no `pass`. */
export const SCRIPT_PASS_SCORE = 0.5;

/** Characters of an answer or an expected text quoted in a reason. */
const QUOTE_CHARS = 60;

/** What a script check's function receives besides the answer. */
export interface ScriptCheckContext {
  /** The request's messages: the conversation up to and including the question answered. */
  readonly conversation: readonly ChatMessage[];
  /** The question answered (the last user message). */
  readonly prompt: string;
}

/** How checks run. */
export interface RunChecksOptions {
  /** Longest a script check may take, in ms. Default `SCRIPT_CHECK_TIMEOUT_MS`. */
  readonly scriptTimeoutMs?: number;
}

type ScriptFunction = (answer: string, context: ScriptCheckContext) => unknown;

/** Each script module is imported once per process (Node caches the module anyway). */
const scripts = new Map<string, Promise<ScriptFunction>>();

/**
 * Runs `checks` on `answer`, in order, one result per check. `conversation` is the
 * request's messages (the question answered is its last user message). Never rejects.
 */
export async function runChecks(
  checks: readonly Check[],
  answer: string,
  conversation: readonly ChatMessage[],
  options: RunChecksOptions = {},
): Promise<CheckResult[]> {
  const results: CheckResult[] = [];
  for (const check of checks) {
    try {
      results.push(await runCheck(check, answer, conversation, options));
    } catch (error) {
      // Only a bug could land here (a check's own code, not a script's); it still must not crash a turn.
      results.push(errorResult(check.kind, `the check failed: ${messageOf(error)}`));
    }
  }
  return results;
}

async function runCheck(
  check: Check,
  answer: string,
  conversation: readonly ChatMessage[],
  options: RunChecksOptions,
): Promise<CheckResult> {
  switch (check.kind) {
    case 'contains': {
      const found = fold(answer, check.ignoreCase).includes(fold(check.value, check.ignoreCase));
      return verdict(check.kind, found, `${found ? 'contains' : 'missing'} ${quote(check.value)}`);
    }
    case 'notContains': {
      const found = fold(answer, check.ignoreCase).includes(fold(check.value, check.ignoreCase));
      return verdict(
        check.kind,
        !found,
        found
          ? `contains ${quote(check.value)}, which it must not`
          : `does not contain ${quote(check.value)}`,
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
      const equal = actual === expected;
      return verdict(
        check.kind,
        equal,
        equal ? `equals ${quote(expected)}` : `is ${quote(actual)}, not ${quote(expected)}`,
      );
    }
    case 'json':
      return jsonCheck(check.schema, answer);
    case 'maxLength': {
      const length = [...answer].length;
      const within = length <= check.chars;
      return verdict(
        check.kind,
        within,
        `${groupThousands(length)} characters, ${within ? 'within' : 'over'} the limit of ${groupThousands(check.chars)}`,
      );
    }
    case 'script':
      return scriptCheck(check, answer, conversation, options.scriptTimeoutMs ?? SCRIPT_CHECK_TIMEOUT_MS);
    default: {
      const unknown: never = check;
      return errorResult((unknown as Check).kind, 'unknown kind of check');
    }
  }
}

/** A fenced block (```json … ```) in an answer: models often wrap JSON in one. */
const FENCED_BLOCK = /```[A-Za-z]*[ \t]*\r?\n([\s\S]*?)\r?\n?```/;

function jsonCheck(schema: unknown, answer: string): CheckResult {
  const parsed = parseJsonAnswer(answer);
  if (!parsed.ok) return verdict('json', false, `is not valid JSON: ${parsed.error}`);
  if (schema === undefined) return verdict('json', true, 'is valid JSON');
  const problems = schemaProblems(schema);
  if (problems.length > 0) {
    const listed = problems.map((p) => `${pointer(p.path)}: ${p.message}`).join('; ');
    return errorResult('json', `the schema cannot be checked: ${listed}`);
  }
  const problem = validateJson(parsed.value, schema);
  return verdict(
    'json',
    problem === undefined,
    problem === undefined
      ? 'is valid JSON matching the schema'
      : `JSON does not match the schema: ${problem}`,
  );
}

/** The answer as JSON: the whole answer, else its first fenced block. */
function parseJsonAnswer(answer: string): { ok: true; value: unknown } | { ok: false; error: string } {
  try {
    return { ok: true, value: JSON.parse(answer) };
  } catch (error) {
    const fenced = FENCED_BLOCK.exec(answer)?.[1];
    if (fenced === undefined) return { ok: false, error: messageOf(error) };
    try {
      return { ok: true, value: JSON.parse(fenced) };
    } catch (fencedError) {
      return { ok: false, error: messageOf(fencedError) };
    }
  }
}

async function scriptCheck(
  script: { readonly path: string; readonly sha256?: string },
  answer: string,
  conversation: readonly ChatMessage[],
  timeoutMs: number,
): Promise<CheckResult> {
  const prompt = conversation.findLast((message) => message.role === 'user')?.content ?? '';
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(
      () => reject(new Error(`it took longer than ${groupThousands(timeoutMs)} ms`)),
      timeoutMs,
    );
  });
  try {
    // A script that never settles is abandoned at the deadline; one that blocks the event loop cannot be.
    const run = async (): Promise<unknown> => (await loadScript(script))(answer, { conversation, prompt });
    return scriptResult(await Promise.race([run(), timeout]));
  } catch (error) {
    return errorResult('script', `the script failed: ${messageOf(error)}`);
  } finally {
    clearTimeout(timer);
  }
}

function loadScript(script: { readonly path: string; readonly sha256?: string }): Promise<ScriptFunction> {
  const { path, sha256 } = script;
  let loading = scripts.get(path);
  if (loading === undefined) {
    loading = checkFrozen(path, sha256)
      .then(() => import(pathToFileURL(path).href))
      .then((module: Record<string, unknown>) => {
        const fn = module.default ?? module.check;
        if (typeof fn !== 'function') throw new Error(`${path} exports no default or "check" function`);
        return fn as ScriptFunction;
      });
    scripts.set(path, loading);
  }
  return loading;
}

/** A frozen copy runs only as it was frozen: its contents must still have the job's hash. */
async function checkFrozen(path: string, sha256: string | undefined): Promise<void> {
  if (sha256 === undefined) return;
  const found = createHash('sha256')
    .update(await readFile(path))
    .digest('hex');
  if (found !== sha256) {
    throw new Error(`${path} is not the script frozen with the job (its SHA-256 changed); it was not run`);
  }
}

const EXPECTED_RETURN = 'expected true or false, a score from 0 to 1, or { pass?, score?, reason? }';

function isScore(value: unknown): value is number {
  return typeof value === 'number' && value >= 0 && value <= 1;
}

/** A script may answer with a boolean, a score from 0 to 1, or `{ pass?, score?, reason? }`. */
function scriptResult(value: unknown): CheckResult {
  if (typeof value === 'boolean') {
    return verdict('script', value, value ? 'the script passed it' : 'the script failed it');
  }
  if (isScore(value)) {
    const passed = value >= SCRIPT_PASS_SCORE;
    return { kind: 'script', passed, score: value, reason: `the script scored it ${value}` };
  }
  const bad = errorResult('script', `the script returned ${describeReturn(value)} (${EXPECTED_RETURN})`);
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return bad;
  const { pass, score, reason, ...rest } = value as Record<string, unknown>;
  // A misspelt or wrongly typed field would otherwise pass or fail the answer by accident.
  if (Object.keys(rest).length > 0) return bad;
  if (pass !== undefined && typeof pass !== 'boolean') return bad;
  if (score !== undefined && !isScore(score)) return bad;
  if (reason !== undefined && typeof reason !== 'string') return bad;
  if (pass === undefined && score === undefined) return bad;
  const passed = pass ?? (score as number) >= SCRIPT_PASS_SCORE;
  const shown = score === undefined ? '' : ` (score ${score})`;
  return {
    kind: 'script',
    passed,
    score: score ?? (passed ? 1 : 0),
    reason: reason ?? `the script ${passed ? 'passed' : 'failed'} it${shown}`,
  };
}

function describeReturn(value: unknown): string {
  if (value === undefined) return 'nothing';
  if (typeof value === 'function') return 'a function';
  try {
    return quote(JSON.stringify(value) ?? String(value), false);
  } catch {
    return String(value);
  }
}

function verdict(kind: Check['kind'], passed: boolean, reason: string): CheckResult {
  return { kind, passed, score: passed ? 1 : 0, reason };
}

function errorResult(kind: Check['kind'], reason: string): CheckResult {
  return { kind, passed: null, score: null, reason };
}

function fold(text: string, ignoreCase: boolean): string {
  return ignoreCase ? text.toLowerCase() : text;
}

function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

/** `"text"`, shortened to `QUOTE_CHARS` characters; `asString: false` leaves it unquoted. */
function quote(text: string, asString = true): string {
  const short = [...text].length <= QUOTE_CHARS ? text : `${[...text].slice(0, QUOTE_CHARS).join('')}…`;
  return asString ? JSON.stringify(short) : short;
}
