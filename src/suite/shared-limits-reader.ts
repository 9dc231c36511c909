/**
 * Reads `providers.<id>.sharedLimits` of a suite: the coordination store's URL (parsed as a
 * client would connect with it), the shared key and the password's environment variable.
 */
import { parseStoreUrl, type SharedLimitsConfig } from '../coordination/config.js';
import { envVarNameReader } from './readers.js';
import {
  optionalField,
  readMapping,
  readerOf,
  requiredField,
  type Checker,
  type FieldPath,
  type Reader,
} from './schema-check.js';

const SHARED_KEY = /^[A-Za-z0-9._:-]{1,128}$/;
const SHARED_LIMITS_KEYS = ['url', 'key', 'passwordEnv'] as const;

const storeUrlReader: Reader<string> = {
  expected: 'a redis:// or rediss:// URL without a password',
  read(check, value, path) {
    if (typeof value !== 'string') {
      check.expected(path, this.expected, value);
      return undefined;
    }
    const address = parseStoreUrl(value);
    if (typeof address === 'string') {
      check.report(path, address);
      return undefined;
    }
    return value;
  },
};

const sharedKeyReader: Reader<string> = readerOf(
  'a key name (letters, digits, ".", "_", ":" or "-", at most 128 characters)',
  (v): v is string => typeof v === 'string' && SHARED_KEY.test(v),
);

/** Reads `providers.<id>.sharedLimits`; reports every problem and returns `undefined` if there was one. */
export const sharedLimitsReader: Reader<SharedLimitsConfig> = {
  expected: `a mapping of ${SHARED_LIMITS_KEYS.join(', ')}`,
  read(check: Checker, value: unknown, path: FieldPath) {
    const before = check.problems.length;
    const entry = readMapping(check, value, path, SHARED_LIMITS_KEYS);
    if (entry === undefined) return undefined;
    const url = requiredField(check, entry, 'url', path, storeUrlReader);
    const key = requiredField(check, entry, 'key', path, sharedKeyReader);
    const passwordEnv = optionalField(check, entry, 'passwordEnv', path, envVarNameReader);
    if (check.problems.length > before || url === undefined || key === undefined) return undefined;
    return { url, key, ...(passwordEnv !== undefined && { passwordEnv }) };
  },
};
