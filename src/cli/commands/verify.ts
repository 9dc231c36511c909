/** `troupe verify`: checks every record of a store; `--salvage --out DIR` copies the intact ones into a new store. */
import { ExitCode, ExitError } from '../../errors.js';
import { describeDamage } from '../../store/store-damage.js';
import { StoreError } from '../../store/store-error.js';
import { salvageStore, verifyStore } from '../../store/verify.js';
import type { StoreScanner, VerifyReport } from '../../store/verify.js';
import { sanitizeForTerminal } from '../../results/terminal-text.js';
import { runReader } from '../reader-process.js';

/** Options of `troupe verify`. */
export interface VerifyOptions {
  /** The store's directory. */
  readonly dataDir: string;
  /** Copy the intact records into a new store in `out`. */
  readonly salvage: boolean;
  /** Where `--salvage` writes the new store (a new or empty directory). */
  readonly out?: string;
}

/** Damaged records listed one per line; the rest are counted. */
const DAMAGED_LISTED_MAX = 1_000;

/**
 * Returns the exit code: 0 when every record passed (or, with `--salvage`, once the intact records
 * are copied), 3 when damage was found and nothing was salvaged. The store checked is never written.
 */
export async function runVerify(options: VerifyOptions, out: (line: string) => void): Promise<number> {
  if (options.salvage) {
    if (options.out === undefined) throw new Error('verify --salvage needs --out DIR');
    const report = await salvageStore(options.dataDir, options.out, scanInReader(options.dataDir));
    printReport(report, out);
    const copied = Object.entries(report.copied)
      .map(([name, count]) => `${count} ${name}`)
      .join(', ');
    out(`salvaged into ${sanitizeForTerminal(report.outDir)}: ${copied || 'nothing'}`);
    return ExitCode.ok;
  }
  const report = await verifyStore(options.dataDir, scanInReader(options.dataDir));
  printReport(report, out);
  return report.ok ? ExitCode.ok : ExitCode.internal;
}

/** Damaged records a refused resume names; `troupe verify` lists them all. */
const DAMAGE_NAMED_MAX = 3;

/**
 * Checks every record of the store in `dataDir` as `troupe verify` does, in reader processes, and
 * throws `troupe:store-damaged` naming the store and the first damage found when any fails: what
 * `run --resume <job>` does before it writes, since a store that fails its checks is never
 * written, even where the damage is in another job's records (its writes share LMDB's index).
 */
export async function checkStoreInReader(dataDir: string, job: string): Promise<void> {
  const report = await verifyStore(dataDir, scanInReader(dataDir));
  if (report.ok) return;
  const found = report.databases.flatMap((db) => [
    ...db.damaged.map(describeDamage),
    ...(db.unreadable === undefined
      ? []
      : [`the ${db.name} database, unreadable past ${db.intact} records (${db.unreadable})`]),
  ]);
  const named = found.slice(0, DAMAGE_NAMED_MAX).join('; ');
  const more = found.length > DAMAGE_NAMED_MAX ? ` and ${found.length - DAMAGE_NAMED_MAX} more` : '';
  throw new StoreError(
    'troupe:store-damaged',
    `the store in ${dataDir} is damaged (${named}${more}), beyond job ${job}'s own turns: a damaged store is never written, not even to resume a job whose turns are intact. troupe verify lists the damage; troupe verify --salvage --out DIR copies every intact record, job ${job}'s included, into a new store, where troupe run --resume ${job} --data-dir DIR continues it`,
    dataDir,
  );
}

/**
 * Walks the databases in a reader process: a database whose damage crashes it is reported
 * unreadable past the records it had read, and a new reader walks the databases after it (and
 * salvages them). A reader that fails otherwise (the store cannot be opened, the copy cannot be
 * written) has said why on stderr; verify ends with its exit code.
 */
export function scanInReader(dataDir: string): StoreScanner {
  return async (databases, out, events) => {
    const finished = await runReader(
      { type: 'scan', dataDir, databases, ...(out === undefined ? {} : { out }) },
      (message) => {
        if (message.type === 'scan-page') events.onPage(message.database, message.page);
        else if (message.type === 'scan-end') events.onEnd(message.database, message.end);
      },
    );
    if (finished.kind === 'crashed') return { crashed: `the reader crashed reading it (${finished.signal})` };
    // The reader said why on stderr.
    if (finished.code !== ExitCode.ok) throw new ExitError('', finished.code);
    return {};
  };
}

function printReport(report: VerifyReport, out: (line: string) => void): void {
  let listed = 0;
  for (const db of report.databases) {
    out(
      `${db.name}: ${db.intact} intact, ${db.damaged.length} damaged${db.unreadable ? `, unreadable past that (${sanitizeForTerminal(db.unreadable)})` : ''}`,
    );
    for (const damaged of db.damaged) {
      if (listed < DAMAGED_LISTED_MAX) out(`  damaged: ${sanitizeForTerminal(describeDamage(damaged))}`);
      listed += 1;
    }
  }
  if (listed > DAMAGED_LISTED_MAX) out(`  … and ${listed - DAMAGED_LISTED_MAX} more damaged records`);
  out(
    report.ok
      ? `${sanitizeForTerminal(report.dataDir)}: every record passed its check`
      : `${sanitizeForTerminal(report.dataDir)}: damaged (troupe verify --salvage --out DIR copies the intact records into a new store)`,
  );
}
