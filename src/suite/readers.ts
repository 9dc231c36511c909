/** Schemas of the suite's own kinds of value: ids, API roots, system prompts, variable names. */

import { MAX_ID_LENGTH, MAX_TIMER_MS } from './defaults.js';
import { accepting, expectedFound, valueOf, type Schema } from './schemas.js';

const ID_CHARACTERS = /^[A-Za-z0-9._-]+$/;
const ONLY_DOTS = /^\.+$/;

/** True for an id that is safe as part of a store key or a file name. */
export function isValidId(value: string): boolean {
  // "." and ".." are path segments, not names.
  return ID_CHARACTERS.test(value) && !ONLY_DOTS.test(value) && value.length <= MAX_ID_LENGTH;
}

/** What an id looks like, for messages. */
export const ID_EXPECTED = `an id (letters, digits, ".", "_" or "-", at most ${MAX_ID_LENGTH} characters)`;

/**
 * An id of a provider, model or sequence: letters, digits, `.`, `_`, `-`, not only dots, at
 * most `MAX_ID_LENGTH` characters. Ids appear in keys and file names.
 */
export const idSchema = valueOf(ID_EXPECTED, (v): v is string => typeof v === 'string' && isValidId(v));

const HTTP_URL = 'an http:// or https:// URL';

/**
 * An absolute `http:` or `https:` URL, e.g. `http://127.0.0.1:8080/v1`, without credentials: a
 * `user:password@` would travel with every request and could end up in an error message, so it is
 * refused, and the value is never echoed (it may hold the password).
 */
export const httpUrlSchema = accepting<string>(HTTP_URL, (value) => {
  const parsed = typeof value === 'string' && URL.canParse(value) ? new URL(value) : undefined;
  if (parsed === undefined || (parsed.protocol !== 'http:' && parsed.protocol !== 'https:')) {
    return expectedFound(HTTP_URL, value);
  }
  if (parsed.username === '' && parsed.password === '') return undefined;
  return `expected ${HTTP_URL} without credentials, found one with "user:password@" (not shown); put the key in the variable apiKeyEnv names`;
});

/**
 * A duration in ms that a timer can wait: an integer from `min` to 2³¹ − 1 (about 24.8 days);
 * Node fires a longer timer after 1 ms.
 */
export function timerMs(min: 0 | 1): Schema<number> {
  return valueOf(
    `an integer from ${min} to ${MAX_TIMER_MS} (ms; timers cannot wait longer)`,
    (v): v is number => Number.isSafeInteger(v) && (v as number) >= min && (v as number) <= MAX_TIMER_MS,
  );
}

/** A system prompt: a non-blank string (an empty one is more likely a mistake than a wish). */
export const systemPromptSchema = valueOf(
  'a non-blank string (omit the field for no system prompt)',
  (v): v is string => typeof v === 'string' && v.trim() !== '',
);

const ENV_VAR_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;
const ENV_VAR_EXPECTED = 'an environment variable name (letters, digits, "_"), not the key itself';

/**
 * The name (never the value) of an environment variable, e.g. `OPENAI_API_KEY`. A wrong string
 * is not echoed in the message: it may be the key itself, pasted into the wrong field.
 */
export const envVarNameSchema = accepting<string>(ENV_VAR_EXPECTED, (value) => {
  if (typeof value !== 'string') return expectedFound(ENV_VAR_EXPECTED, value);
  if (ENV_VAR_NAME.test(value)) return undefined;
  return `expected ${ENV_VAR_EXPECTED}, found a string that is not a variable name (not shown)`;
});
