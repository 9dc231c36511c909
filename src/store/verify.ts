/**
 * `troupe verify`: checks every record of every database of a store, read-only, and reports each
 * damaged one; `--salvage` copies the intact records into a new store.
 *
 * Each database is walked by a `DatabaseScanner`, which the CLI runs in a process of its own
 * (scanDatabase there): LMDB trusts its branch pages, and a damaged one can crash the process
 * reading it (SIGSEGV, or an assertion's SIGABRT). A crash then costs that database's remaining
 * records, never the report or the other databases.
 */
import { readdir } from 'node:fs/promises';

import type { Key } from 'lmdb';

import { acquireEnvironment, DATABASE_NAMES, releaseEnvironment } from './lmdb-environment.js';
import type { LmdbEnvironment } from './lmdb-environment.js';
import type { DamagedRecord, RecordDatabase } from './record-database.js';
import { isDiskFull } from './store-damage.js';
import { StoreError } from './store-error.js';

/** What `verifyStore` found in one database. */
export interface DatabaseCheck {
  readonly name: string;
  /** Records that passed their check. */
  readonly intact: number;
  readonly damaged: readonly DamagedRecord[];
  /** LMDB could not read the whole database (its structure is damaged): what it said. */
  readonly unreadable?: string;
}

/** What `verifyStore` found. */
export interface VerifyReport {
  readonly dataDir: string;
  readonly databases: readonly DatabaseCheck[];
  /** True when every record passed and every database was read to its end. */
  readonly ok: boolean;
}

/** What `salvageStore` copied. */
export interface SalvageReport extends VerifyReport {
  readonly outDir: string;
  /** Records copied into the new store, by database. */
  readonly copied: Readonly<Record<string, number>>;
}

/** One page of a database's walk: its records checked and (salvaging) copied. */
export interface ScanPage {
  readonly intact: number;
  readonly damaged: readonly DamagedRecord[];
  readonly copied: number;
}

/** How a database's walk ended: read to its end, or not (`unreadable` says why). */
export interface ScanEnd {
  readonly unreadable?: string;
}

/** What a `StoreScanner` tells as it goes. */
export interface ScanEvents {
  readonly onPage: (database: string, page: ScanPage) => void;
  readonly onEnd: (database: string, end: ScanEnd) => void;
}

/**
 * Walks `databases` of the store in `dataDir`, in that order (copying their intact records into
 * the store in `out`, if given), telling `events` of each page and each database's end. Resolves
 * `crashed` when the process reading died of a crash: the database being read when it did is
 * unreadable past what it told. Rejects with a `StoreError` when a store cannot be opened or
 * the copy cannot be written.
 */
export type StoreScanner = (
  databases: readonly string[],
  out: string | undefined,
  events: ScanEvents,
) => Promise<{ readonly crashed?: string }>;

/** Records read (and, salvaging, written) per transaction. */
const SCAN_PAGE = 1_000;
/** Databases `--salvage` does not copy: the meta database is the new store's own, leases belong to live processes. */
const NOT_SALVAGED: ReadonlySet<string> = new Set(['meta', 'leases']);

/** Checks every record of the store in `dataDir` (read-only), database by database, with `scan`. */
export async function verifyStore(dataDir: string, scan: StoreScanner): Promise<VerifyReport> {
  const databases = await scanAll(undefined, scan);
  return { dataDir, databases, ok: allPassed(databases) };
}

/**
 * Copies every intact record of the store in `dataDir` into a new store in `outDir` (which must
 * not hold a store yet); damaged records are left out and reported.
 */
export async function salvageStore(
  dataDir: string,
  outDir: string,
  scan: StoreScanner,
): Promise<SalvageReport> {
  await refuseExisting(outDir);
  const copied: Record<string, number> = {};
  const databases = await scanAll(outDir, scan, (name, count) => {
    if (count > 0) copied[name] = (copied[name] ?? 0) + count;
  });
  return { dataDir, outDir, copied, databases, ok: allPassed(databases) };
}

/** Scans every database; after a crash, the next scan starts with the database after the one that crashed it. */
async function scanAll(
  out: string | undefined,
  scan: StoreScanner,
  onCopied: (database: string, count: number) => void = () => undefined,
): Promise<DatabaseCheck[]> {
  const found = new Map<string, { intact: number; damaged: DamagedRecord[]; unreadable?: string }>(
    DATABASE_NAMES.map((name) => [name, { intact: 0, damaged: [] }]),
  );
  const ended = new Set<string>();
  let remaining = [...DATABASE_NAMES];
  while (remaining.length > 0) {
    const { crashed } = await scan(remaining, out, {
      onPage: (name, page) => {
        const check = found.get(name);
        if (!check) return;
        check.intact += page.intact;
        check.damaged.push(...page.damaged);
        onCopied(name, page.copied);
      },
      onEnd: (name, end) => {
        ended.add(name);
        const check = found.get(name);
        if (check && end.unreadable !== undefined) check.unreadable = end.unreadable;
      },
    });
    const next = remaining.findIndex((name) => !ended.has(name));
    if (next < 0) break;
    const check = found.get(remaining[next] as string);
    // A scan that returns before its end without a crash would start over forever: that is a bug.
    if (crashed === undefined || !check)
      throw new Error(`verify: the scan of ${remaining[next]} stopped before its end`);
    check.unreadable = crashed;
    ended.add(remaining[next] as string);
    remaining = remaining.slice(next + 1);
  }
  return DATABASE_NAMES.map((name) => {
    const { intact, damaged, unreadable } = found.get(name) ?? { intact: 0, damaged: [] };
    return { name, intact, damaged, ...(unreadable === undefined ? {} : { unreadable }) };
  });
}

function allPassed(databases: readonly DatabaseCheck[]): boolean {
  return databases.every((db) => db.damaged.length === 0 && db.unreadable === undefined);
}

async function refuseExisting(outDir: string): Promise<void> {
  const entries = await readdir(outDir).catch(() => [] as string[]);
  if (entries.length > 0) {
    throw new StoreError(
      'troupe:store-inaccessible',
      `--out ${outDir} is not empty: salvage writes a new store into a new or empty directory`,
      outDir,
    );
  }
}

/**
 * The `StoreScanner` work itself, in the calling process: walks each of `databases` page by page
 * (each page a fresh read of the latest committed state), awaiting `onPage` before the next page.
 * Besides each record's checksum it checks that LMDB's index leads to the record (a damaged
 * branch page can misdirect a lookup while a walk still passes); such a record is reported
 * damaged, yet salvaged, its contents being intact.
 */
export async function scanDatabases(
  dataDir: string,
  databases: readonly string[],
  out: string | undefined,
  onPage: (database: string, page: ScanPage) => Promise<void>,
  onEnd: (database: string, end: ScanEnd) => Promise<void>,
): Promise<void> {
  const source = await acquireEnvironment(dataDir, true);
  try {
    const target = out === undefined ? undefined : await acquireEnvironment(out, false);
    try {
      for (const database of databases) {
        const from = databaseOf(source, database);
        const into =
          target === undefined || NOT_SALVAGED.has(database) ? undefined : databaseOf(target, database);
        const end = await walk(source, from, async (page) => {
          let copied = 0;
          if (into !== undefined && out !== undefined) {
            // Decoded and encoded again through the record codec: the copy carries fresh checksums.
            await copy(into, page.records, out);
            copied = page.records.length;
          }
          await onPage(database, { intact: page.intact, damaged: page.damaged, copied });
        });
        await onEnd(database, end);
      }
    } finally {
      if (target !== undefined) {
        await target.root.flushed;
        await releaseEnvironment(target);
      }
    }
  } finally {
    await releaseEnvironment(source);
  }
}

async function copy(
  into: RecordDatabase<unknown, Key>,
  records: readonly { key: Key; value: unknown }[],
  out: string,
): Promise<void> {
  try {
    await Promise.all(records.map(({ key, value }) => into.put(key, value)));
  } catch (error) {
    const code = isDiskFull(error) ? 'troupe:store-disk-full' : 'troupe:store-write-failed';
    const reason = isDiskFull(error) ? `no space left on ${out}` : String(error);
    throw new StoreError(code, `could not write the salvaged store in ${out}: ${reason}`, out, error);
  }
}

function databaseOf(env: LmdbEnvironment, name: string): RecordDatabase<unknown, Key> {
  const byName: Record<string, RecordDatabase<unknown, Key>> = {
    meta: env.meta as RecordDatabase<unknown, Key>,
    jobs: env.jobs as RecordDatabase<unknown, Key>,
    turns: env.turns as RecordDatabase<unknown, Key>,
    leases: env.leases as RecordDatabase<unknown, Key>,
    spend: env.spend as RecordDatabase<unknown, Key>,
    progress: env.progress as RecordDatabase<unknown, Key>,
    sequences: env.sequences as RecordDatabase<unknown, Key>,
  };
  const db = byName[name];
  if (!db) throw new Error(`verify: the ${name} database is not opened by the environment`);
  return db;
}

interface WalkedPage {
  intact: number;
  readonly damaged: DamagedRecord[];
  /** The records whose contents passed their check (salvaged, even when the index misleads to them). */
  readonly records: { key: Key; value: unknown }[];
}

async function walk(
  env: LmdbEnvironment,
  db: RecordDatabase<unknown, Key>,
  onPage: (page: WalkedPage) => Promise<void>,
): Promise<ScanEnd> {
  let after: Key | undefined;
  try {
    while (true) {
      env.root.resetReadTxn();
      const entries = Array.from(
        db.entries(
          after === undefined
            ? { limit: SCAN_PAGE }
            : { start: after, exclusiveStart: true, limit: SCAN_PAGE },
        ),
      );
      const page: WalkedPage = { intact: 0, damaged: [], records: [] };
      for (const entry of entries) {
        if (!entry.ok) {
          page.damaged.push(entry.damaged);
          continue;
        }
        page.records.push({ key: entry.key, value: entry.value });
        if (db.has(entry.key)) page.intact += 1;
        else
          page.damaged.push({
            database: db.name,
            key: entry.key,
            reason: "LMDB's index does not lead to it",
          });
      }
      await onPage(page);
      const last = entries.at(-1);
      if (!last || entries.length < SCAN_PAGE) return {};
      after = last.key;
    }
  } catch (error) {
    if (error instanceof StoreError) throw error;
    return { unreadable: error instanceof Error ? error.message : String(error) };
  }
}
