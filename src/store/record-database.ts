/**
 * A named LMDB database whose every value goes through the checksummed record codec. Open every
 * database of the store through `openRecordDatabase` (in lmdb-environment.ts): that is how a new
 * record type gets its checksum, its place in `troupe verify` and in `verify --salvage`.
 */
import type { Database, Key, RangeOptions } from 'lmdb';

import { decodeRecord, encodeRecord } from './record-codec.js';
import type { DecodedRecord } from './record-codec.js';

/** A record that failed its check: where it is and why. */
export interface DamagedRecord {
  /** The named database it is in (`jobs`, `turns`, …). */
  readonly database: string;
  /** Its key as read (itself possibly damaged). */
  readonly key: Key;
  /** Why it cannot be trusted (`checksum mismatch`, …). */
  readonly reason: string;
}

/** One entry of a range read: a checked value, or a damaged record that is never returned as data. */
export type RecordEntry<V, K extends Key> =
  | { readonly key: K; readonly ok: true; readonly value: V }
  | { readonly key: K; readonly ok: false; readonly damaged: DamagedRecord };

/** A database of checksummed records of type `V` under keys of type `K`. */
export class RecordDatabase<V, K extends Key = Key> {
  constructor(
    /** The database's name in the LMDB root. */
    readonly name: string,
    /**
     * The underlying database, opened with `encoding: 'binary'`; undefined when a read-only open
     * found no such database (no record of its type was ever written): it reads as empty.
     */
    private readonly db: Database<Buffer, K> | undefined,
    /** Told of every damaged record a read meets (the environment then refuses writes). */
    private readonly onDamage: (damaged: DamagedRecord) => void,
  ) {}

  /** Writes a record; resolves once committed. Concurrent puts of one tick share a transaction. */
  put(key: K, value: V): Promise<boolean> {
    return this.writable().put(key, encodeRecord(key, value));
  }

  /** Writes a record inside the current synchronous transaction (`root.transactionSync`). */
  putSync(key: K, value: V): void {
    this.writable().putSync(key, encodeRecord(key, value));
  }

  /** Removes a record; resolves once committed. */
  remove(key: K): Promise<boolean> {
    return this.writable().remove(key);
  }

  /** Removes a record inside the current synchronous transaction. */
  removeSync(key: K): void {
    this.writable().removeSync(key);
  }

  /** The record under `key`, checked: undefined when absent, `ok: false` when damaged. */
  get(key: K): DecodedRecord<V> | undefined {
    const bytes = this.db?.get(key);
    if (bytes === undefined) return undefined;
    const decoded = decodeRecord<V>(key, bytes);
    if (!decoded.ok) this.onDamage({ database: this.name, key, reason: decoded.reason });
    return decoded;
  }

  /** The records of a key range, each checked. */
  *entries(options: RangeOptions = {}): Generator<RecordEntry<V, K>, void, undefined> {
    for (const { key, value } of this.rawEntries(options)) {
      const decoded = decodeRecord<V>(key, value);
      if (decoded.ok) {
        yield { key, ok: true, value: decoded.value };
      } else {
        const damaged: DamagedRecord = { database: this.name, key, reason: decoded.reason };
        this.onDamage(damaged);
        yield { key, ok: false, damaged };
      }
    }
  }

  /** The keys of a range, unchecked (to look past a range's end for out-of-order keys). */
  keys(options: RangeOptions = {}): Iterable<K> {
    return this.db ? this.db.getKeys(options) : [];
  }

  /** Entries, of the key range, as stored bytes (for `verify --salvage`, which copies intact records verbatim). */
  rawEntries(options: RangeOptions = {}): Iterable<{ key: K; value: Buffer }> {
    return this.db ? this.db.getRange(options) : [];
  }

  private writable(): Database<Buffer, K> {
    if (!this.db) throw new Error(`the ${this.name} database does not exist in this read-only store`);
    return this.db;
  }
}
