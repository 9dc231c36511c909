/** The reader combinators the modules not yet written as schemas still use; schemas read through `readWith`. */

import { hasKey, isMapping, type Checker, type FieldPath, type Mapping } from './schema-check.js';
import { asReader, expectedFound, mapping, readWith, type Reader, type Schema } from './schemas.js';
import { groupThousands } from './schema-check.js';

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

/**
 * A list whose every item `item` accepts; each bad item is reported at its index. With
 * `nonEmpty`, an empty list is a problem too. Returns `undefined` if any item was bad.
 */
export function listOfReaders<T>(
  item: Reader<T>,
  options: { nonEmpty?: boolean; of?: string; maxItems?: number } = {},
): Reader<T[]> {
  const of = options.of ?? item.expected;
  const max = options.maxItems === undefined ? undefined : groupThousands(options.maxItems);
  const expected =
    max === undefined
      ? `${options.nonEmpty === true ? 'a non-empty list' : 'a list'} of ${of}`
      : `a list of ${options.nonEmpty === true ? '1 to' : 'at most'} ${max} ${of}`;
  return {
    expected,
    read(check, value, path) {
      if (!Array.isArray(value) || (options.nonEmpty === true && value.length === 0)) {
        check.report(path, expectedFound(expected, value));
        return undefined;
      }
      if (options.maxItems !== undefined && value.length > options.maxItems) {
        check.report(path, `expected ${expected}, found a list of ${groupThousands(value.length)}`);
        return undefined;
      }
      const items: T[] = [];
      let allRead = true;
      value.forEach((entry: unknown, index) => {
        const read = item.read(check, entry, [...path, index]);
        if (read === undefined) allRead = false;
        else items.push(read);
      });
      return allRead ? items : undefined;
    },
  };
}
