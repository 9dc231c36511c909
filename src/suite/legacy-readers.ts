/** The reader combinators the modules not yet written as schemas still use; schemas read through `readWith`. */

import { hasKey, isMapping, type Checker, type FieldPath, type Mapping } from './schema-check.js';
import { asReader, expectedFound, mapping, readWith, type Reader, type Schema } from './schemas.js';

export type { Reader };

type ReaderLike<T> = Reader<T> | Schema<T>;

function toReader<T>(reader: ReaderLike<T>): Reader<T> {
  return 'read' in reader ? reader : asReader(reader);
}

/** Reads a mapping whose keys must all be in `known`; `what` names the thing in messages. */
export function readMapping(
  check: Checker,
  value: unknown,
  path: FieldPath,
  known: readonly string[],
  what?: string,
): Mapping | undefined {
  if (!isMapping(value)) {
    check.report(path, expectedFound(what === undefined ? 'a mapping' : `a mapping (${what})`, value));
    return undefined;
  }
  readWith(
    check,
    mapping({}, () => ({ known, what })),
    value,
    path,
  );
  return value;
}

/** Reads an optional field: absent gives `undefined` without a problem. */
export function optionalField<T>(
  check: Checker,
  entry: Mapping,
  key: string,
  path: FieldPath,
  reader: ReaderLike<T>,
): T | undefined {
  if (!hasKey(entry, key)) return undefined;
  return toReader(reader).read(check, entry[key], [...path, key]);
}

/** Reads a required field: absent is reported as missing, with what was expected. */
export function requiredField<T>(
  check: Checker,
  entry: Mapping,
  key: string,
  path: FieldPath,
  reader: ReaderLike<T>,
): T | undefined {
  if (!hasKey(entry, key)) {
    check.report([...path, key], `missing (expected ${toReader(reader).expected})`);
    return undefined;
  }
  return toReader(reader).read(check, entry[key], [...path, key]);
}
