/** Readers for the suite's own kinds of value: ids, API roots, system prompts, variable names. */

import { MAX_ID_LENGTH } from './defaults.js';
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

/** An absolute `http:` or `https:` URL, e.g. `http://127.0.0.1:8080/v1`. */
export const httpUrlReader: Reader<string> = readerOf('an http:// or https:// URL', (v): v is string => {
  if (typeof v !== 'string' || !URL.canParse(v)) return false;
  const { protocol } = new URL(v);
  return protocol === 'http:' || protocol === 'https:';
});

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
