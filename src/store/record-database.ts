/**
 * A named LMDB database whose every value goes through the checksummed record codec. Open every
 * database of the store through `openRecordDatabase` (in lmdb-environment.ts): that is how a new
 * record type gets its checksum, its place in `troupe verify` and in `verify --salvage`.
 */
import { compareKeys } from 'lmdb';
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

  /**
   * The record under `key`, checked: undefined when absent, `ok: false` when damaged. An absence
   * is checked too: a lookup follows LMDB's branch pages, and a damaged separator key in one sends
   * it to a page where the record is not, so that a record present reads as absent (a report then
   * left out sequences it holds). A miss is confirmed by a range read from `key`, landing-checked
   * like every walk: it must find neither `key` itself nor a sign that the index led astray, else
   * the read ends with `IndexDamage`.
   */
  get(key: K): DecodedRecord<V> | undefined {
    const bytes = this.db?.get(key);
    if (bytes === undefined) {
      this.confirmAbsent(key);
      return undefined;
    }
    const decoded = decodeRecord<V>(key, bytes);
    if (!decoded.ok) this.onDamage({ database: this.name, key, reason: decoded.reason });
    return decoded;
  }

  /**
   * Whether LMDB's index leads to a record under `key` (its contents unchecked; a miss is not
   * confirmed as `get`'s is: `verify` and `checkJob` ask it of records a walk met, to find those
   * the index does not lead to).
   */
  has(key: K): boolean {
    return this.db?.doesExist(key) ?? false;
  }

  /**
   * The records of a key range, each checked. The walk itself is checked too, because LMDB has no
   * checksums of its own and trusts its branch pages: the first record must be the one a correct
   * index leads to from `start`, and every intact record's key must sort after the one before it.
   * A walk that breaks either rule went astray in a damaged index (it would skip records, or go
   * round in circles): it ends with an `IndexDamage` error instead of returning anything more.
   */
  *entries(options: RangeOptions = {}): Generator<RecordEntry<V, K>, void, undefined> {
    const forward = options.reverse !== true;
    // A page after a key read before is read from that key itself: finding it first proves the
    // index led to the right place (the records after it come by LMDB's walk, not its index),
    // at no cost, where looking for the record before the landing place costs a cursor.
    const after = forward && options.exclusiveStart === true ? (options.start as K | undefined) : undefined;
    const range: RangeOptions =
      after === undefined
        ? options
        : {
            ...options,
            exclusiveStart: false,
            ...(options.limit === undefined ? {} : { limit: options.limit + 1 }),
          };
    let previous: K | undefined;
    let first = forward;
    let met = false;
    for (const { key, value } of this.rawEntries(range)) {
      met = true;
      if (first) {
        first = false;
        if (after !== undefined && compareKeys(key, after) === 0) continue;
        this.checkLanding(key, options);
      }
      const decoded = decodeRecord<V>(key, value);
      if (decoded.ok) {
        // A damaged record's key cannot be trusted to sort anywhere; an intact one's can.
        if (previous !== undefined && !inOrder(previous, key, forward)) {
          throw new IndexDamage(this.name, key, `the walk came back to it after ${JSON.stringify(previous)}`);
        }
        previous = key;
        yield { key, ok: true, value: decoded.value };
      } else {
        const damaged: DamagedRecord = { database: this.name, key, reason: decoded.reason };
        this.onDamage(damaged);
        yield { key, ok: false, damaged };
      }
    }
    // An empty range is checked too: a damaged separator key can send the read past every record
    // of the range, to the first key after its end, where it finds nothing (a report then showed
    // a model's turns of a sequence as never answered).
    if (forward && !met) this.confirmEmpty(options);
  }

  /** The keys of a range, unchecked (to look past a range's end for out-of-order keys). */
  keys(options: RangeOptions = {}): Iterable<K> {
    return this.db ? this.db.getKeys(options) : [];
  }

  /** Entries, of the key range, as stored bytes (for `verify --salvage`, which copies intact records verbatim). */
  rawEntries(options: RangeOptions = {}): Iterable<{ key: K; value: Buffer }> {
    return this.db ? this.db.getRange(options) : [];
  }

  /**
   * Throws `IndexDamage` when the first record of a forward range read from `start` is not where a
   * correct index leads: it sorts before `start`, or a record between `start` and it exists (it
   * was skipped).
   */
  private checkLanding(found: K, options: RangeOptions): void {
    const start = options.start as K | undefined;
    if (start === undefined || this.db === undefined) return;
    const exclusive = options.exclusiveStart === true;
    if (compareKeys(found, start) < (exclusive ? 1 : 0)) {
      throw new IndexDamage(this.name, found, `a read from ${JSON.stringify(start)} landed before it`);
    }
    for (const before of this.db.getKeys({ start: found, reverse: true, exclusiveStart: true, limit: 1 })) {
      if (compareKeys(before, start) >= (exclusive ? 1 : 0)) {
        throw new IndexDamage(
          this.name,
          found,
          `a read from ${JSON.stringify(start)} skipped ${JSON.stringify(before)}`,
        );
      }
    }
  }

  /**
   * Throws `IndexDamage` when a forward range read that met nothing was led astray: the first key
   * from its start on, wherever it is, must be where a correct index leads, and past the range's end.
   */
  private confirmEmpty(options: RangeOptions): void {
    const start = options.start as K | undefined;
    if (start === undefined || this.db === undefined || options.limit === 0) return;
    const exclusiveStart = options.exclusiveStart === true;
    for (const found of this.db.getKeys({ start, exclusiveStart, limit: 1 })) {
      const end = options.end as K | undefined;
      if (end === undefined || compareKeys(found, end) < 0) {
        throw new IndexDamage(this.name, found, `a read from ${JSON.stringify(start)} met nothing before it`);
      }
      this.checkLanding(found, options);
    }
  }

  /** Throws `IndexDamage` when a range read from `key` finds `key` (a lookup missed it) or lands astray. */
  private confirmAbsent(key: K): void {
    if (this.db === undefined) return;
    for (const found of this.db.getKeys({ start: key, limit: 1 })) {
      if (compareKeys(found, key) === 0) {
        throw new IndexDamage(this.name, key, 'a lookup missed it, a range read finds it');
      }
      this.checkLanding(found, { start: key });
    }
  }

  private writable(): Database<Buffer, K> {
    if (!this.db) throw new Error(`the ${this.name} database does not exist in this read-only store`);
    return this.db;
  }
}

/** Whether `key` may follow `previous` in a walk (forward: sorts after it; reverse: before). */
function inOrder(previous: Key, key: Key, forward: boolean): boolean {
  const order = compareKeys(key, previous);
  return forward ? order > 0 : order < 0;
}

/**
 * A walk of a database that a damaged index (LMDB's branch pages) led astray: records may have
 * been skipped or met twice. Readers turn it into `troupe:store-damaged`; `troupe verify` reports
 * the database unreadable past `key`.
 */
export class IndexDamage extends Error {
  constructor(
    /** The named database. */
    readonly database: string,
    /** Where the walk was when it noticed. */
    readonly key: Key,
    why: string,
  ) {
    super(`the index of the ${database} database is damaged near ${JSON.stringify(key)} (${why})`);
    this.name = 'IndexDamage';
  }
}
