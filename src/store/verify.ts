/**
 * `troupe verify`: checks every record of every database of a store, read-only, and reports each
 * damaged one; `--salvage` copies the intact records into a new store.
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

/** Records read (and, salvaging, written) per transaction. */
const SCAN_PAGE = 1_000;
/** Databases `--salvage` does not copy: the meta database is the new store's own, leases belong to live processes. */
const NOT_SALVAGED: ReadonlySet<string> = new Set(['meta', 'leases']);

/** Reads every record of the store in `dataDir` (read-only) and reports what is damaged. */
export async function verifyStore(dataDir: string): Promise<VerifyReport> {
  const env = await acquireEnvironment(dataDir, true);
  try {
    return { dataDir, ...(await scan(env, () => Promise.resolve())) };
  } finally {
    await releaseEnvironment(env);
  }
}

/**
 * Copies every intact record of the store in `dataDir` into a new store in `outDir` (which must
 * not hold a store yet); damaged records are left out and reported.
 */
export async function salvageStore(dataDir: string, outDir: string): Promise<SalvageReport> {
  await refuseExisting(outDir);
  const source = await acquireEnvironment(dataDir, true);
  try {
    const target = await acquireEnvironment(outDir, false);
    const copied: Record<string, number> = {};
    try {
      const targets = new Map<string, RecordDatabase<unknown, Key>>(
        databasesOf(target).map((db) => [db.name, db]),
      );
      const found = await scan(source, async (name, records) => {
        const into = targets.get(name);
        if (!into || NOT_SALVAGED.has(name)) return;
        // Decoded and encoded again through the record codec: the copy carries fresh checksums.
        await Promise.all(records.map(({ key, value }) => into.put(key, value)));
        copied[name] = (copied[name] ?? 0) + records.length;
      });
      await target.root.flushed;
      return { dataDir, outDir, copied, ...found };
    } catch (error) {
      if (error instanceof StoreError) throw error;
      const code = isDiskFull(error) ? 'troupe:store-disk-full' : 'troupe:store-write-failed';
      const reason = isDiskFull(error) ? `no space left on ${outDir}` : String(error);
      throw new StoreError(code, `could not write the salvaged store in ${outDir}: ${reason}`, outDir, error);
    } finally {
      await releaseEnvironment(target);
    }
  } finally {
    await releaseEnvironment(source);
  }
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

function databasesOf(env: LmdbEnvironment): RecordDatabase<unknown, Key>[] {
  const byName: Record<string, RecordDatabase<unknown, Key>> = {
    meta: env.meta as RecordDatabase<unknown, Key>,
    jobs: env.jobs as RecordDatabase<unknown, Key>,
    turns: env.turns as RecordDatabase<unknown, Key>,
    leases: env.leases as RecordDatabase<unknown, Key>,
    spend: env.spend as RecordDatabase<unknown, Key>,
    progress: env.progress as RecordDatabase<unknown, Key>,
    sequences: env.sequences as RecordDatabase<unknown, Key>,
  };
  return DATABASE_NAMES.map((name) => {
    const db = byName[name];
    if (!db) throw new Error(`verify: the ${name} database is not opened by the environment`);
    return db;
  });
}

/**
 * Walks every database page by page (each page a fresh read of the latest committed state);
 * `onPage` gets each page's intact records and is awaited before the next page is read.
 */
async function scan(
  env: LmdbEnvironment,
  onPage: (database: string, records: readonly { key: Key; value: unknown }[]) => Promise<void>,
): Promise<{ databases: DatabaseCheck[]; ok: boolean }> {
  const databases: DatabaseCheck[] = [];
  for (const db of databasesOf(env)) {
    let intact = 0;
    const damaged: DamagedRecord[] = [];
    let unreadable: string | undefined;
    let after: Key | undefined;
    try {
      while (true) {
        env.root.resetReadTxn();
        const page = Array.from(
          db.entries(
            after === undefined
              ? { limit: SCAN_PAGE }
              : { start: after, exclusiveStart: true, limit: SCAN_PAGE },
          ),
        );
        const records: { key: Key; value: unknown }[] = [];
        for (const entry of page) {
          if (entry.ok) records.push({ key: entry.key, value: entry.value });
          else damaged.push(entry.damaged);
        }
        intact += records.length;
        await onPage(db.name, records);
        const last = page.at(-1);
        if (!last || page.length < SCAN_PAGE) break;
        after = last.key;
      }
    } catch (error) {
      if (error instanceof StoreError) throw error;
      unreadable = error instanceof Error ? error.message : String(error);
    }
    databases.push({ name: db.name, intact, damaged, ...(unreadable === undefined ? {} : { unreadable }) });
  }
  const ok = databases.every((db) => db.damaged.length === 0 && db.unreadable === undefined);
  return { databases, ok };
}
