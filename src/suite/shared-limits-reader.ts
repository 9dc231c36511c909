/**
 * The schema of `providers.<id>.sharedLimits` of a suite: the coordination store's URL (parsed as
 * a client would connect with it), the shared key and the password's environment variable.
 */
import * as v from 'valibot';
import { parseStoreUrl, type SharedLimitsConfig } from '../coordination/config.js';
import { envVarNameSchema } from './readers.js';
import { accepting, asReader, expectedFound, mapping, valueOf, type Reader, type Schema } from './schemas.js';

const STORE_URL = 'a redis:// or rediss:// URL without a password';
const SHARED_KEY = /^[A-Za-z0-9._:-]{1,128}$/;

/** `providers.<id>.sharedLimits`. */
export const sharedLimitsSchema: Schema<SharedLimitsConfig> = mapping({
  url: accepting<string>(STORE_URL, (value) => {
    if (typeof value !== 'string') return expectedFound(STORE_URL, value);
    const address = parseStoreUrl(value);
    return typeof address === 'string' ? address : undefined;
  }),
  key: valueOf(
    'a key name (letters, digits, ".", "_", ":" or "-", at most 128 characters)',
    (v): v is string => typeof v === 'string' && SHARED_KEY.test(v),
  ),
  passwordEnv: v.optional(envVarNameSchema),
});

/** Reads `providers.<id>.sharedLimits`; reports every problem and returns `undefined` if there was one. */
export const sharedLimitsReader: Reader<SharedLimitsConfig> = asReader(sharedLimitsSchema);
