/** Readers for the suite's own kinds of value: ids, API roots, system prompts, variable names. */

import { MAX_ID_LENGTH, MAX_TIMER_MS } from './defaults.js';
import { readerOf, type Reader } from './schema-check.js';

const ID_CHARACTERS = /^[A-Za-z0-9._-]+$/;
const ONLY_DOTS = /^\.+$/;

/** True for an id that is safe as part of a store key or a file name. */
export function isValidId(value: string): boolean {
  // "." and ".." are path segments, not names.
  return ID_CHARACTERS.test(value) && !ONLY_DOTS.test(value) && value.length <= MAX_ID_LENGTH;
}

/**
 * An id of a provider, model or sequence: letters, digits, `.`, `_`, `-`, not only dots, at
 * most `MAX_ID_LENGTH` characters. Ids appear in keys and file names.
 */
export const idReader: Reader<string> = readerOf(
  `an id (letters, digits, ".", "_" or "-", at most ${MAX_ID_LENGTH} characters)`,
  (v): v is string => typeof v === 'string' && isValidId(v),
);

/**
 * An absolute `http:` or `https:` URL, e.g. `http://127.0.0.1:8080/v1`, without credentials: a
 * `user:password@` would travel with every request and could end up in an error message, so it is
 * refused, and the value is never echoed (it may hold the password).
 */
export const httpUrlReader: Reader<string> = {
  expected: 'an http:// or https:// URL',
  read(check, value, path) {
    const parsed = typeof value === 'string' && URL.canParse(value) ? new URL(value) : undefined;
    if (parsed === undefined || (parsed.protocol !== 'http:' && parsed.protocol !== 'https:')) {
      check.expected(path, this.expected, value);
      return undefined;
    }
    if (parsed.username !== '' || parsed.password !== '') {
      check.report(
        path,
        `expected ${this.expected} without credentials, found one with "user:password@" (not shown); put the key in the variable apiKeyEnv names`,
      );
      return undefined;
    }
    return value as string;
  },
};

/**
 * A duration in ms that a timer can wait: an integer from `min` to 2³¹ − 1 (about 24.8 days);
 * Node fires a longer timer after 1 ms.
 */
export function timerMsReader(min: 0 | 1): Reader<number> {
  return readerOf(
    `an integer from ${min} to ${MAX_TIMER_MS} (ms; timers cannot wait longer)`,
    (v): v is number => Number.isSafeInteger(v) && (v as number) >= min && (v as number) <= MAX_TIMER_MS,
  );
}

/** A system prompt: a non-blank string (an empty one is more likely a mistake than a wish). */
export const systemPromptReader: Reader<string> = readerOf(
  'a non-blank string (omit the field for no system prompt)',
  (v): v is string => typeof v === 'string' && v.trim() !== '',
);

const ENV_VAR_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;

/**
 * The name (never the value) of an environment variable, e.g. `OPENAI_API_KEY`. A wrong string
 * is not echoed in the message: it may be the key itself, pasted into the wrong field.
 */
export const envVarNameReader: Reader<string> = {
  expected: 'an environment variable name (letters, digits, "_"), not the key itself',
  read(check, value, path) {
    if (typeof value === 'string' && ENV_VAR_NAME.test(value)) return value;
    if (typeof value === 'string') {
      check.report(path, `expected ${this.expected}, found a string that is not a variable name (not shown)`);
    } else {
      check.expected(path, this.expected, value);
    }
    return undefined;
  },
};
