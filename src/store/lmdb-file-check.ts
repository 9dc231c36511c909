/**
 * A look at an LMDB data file's first meta page, read with plain file I/O before LMDB sees it.
 * lmdb-js trusts the header it reads: a file that is not LMDB, or a truncated one, crashes
 * the whole process with a segmentation fault instead of returning an error.
 */
import { open as openFile } from 'node:fs/promises';

/** The file LMDB keeps its pages in, inside the environment directory. */
export const LMDB_DATA_FILE = 'data.mdb';
/** LMDB's lock file, next to the data file. */
export const LMDB_LOCK_FILE = 'lock.mdb';

// Layout of LMDB 0.9 (the lmdb-js build) on a 64-bit machine: a 24-byte page header
// (page number, txn id, pad, flags at byte 18, bounds), then MDB_meta: magic, version,
// mapping address, map size, then the free-space MDB_db whose first field is the page size.
const PAGE_FLAGS_OFFSET = 18;
const META_MAGIC_OFFSET = 24;
const META_VERSION_OFFSET = 28;
const META_PAGE_SIZE_OFFSET = 48;
// After the two 48-byte MDB_db records (free space, main) of the meta: the last page used, then
// the id of the transaction that wrote this meta page.
const META_LAST_PAGE_OFFSET = 136;
const META_TXN_ID_OFFSET = 144;
const HEADER_BYTES = 152;
const P_META = 0x08;
const MDB_MAGIC = 0xbeefc0de;
const MDB_DATA_VERSION = 2;
const DATA_VERSION_MASK = 0xffff;
const MIN_PAGE_BYTES = 512;
const MAX_PAGE_BYTES = 65_536;
/** LMDB keeps two meta pages at the start of the file; anything shorter is truncated. */
const META_PAGES = 2;

/** What the data file's first page says. */
export type DataFileCheck =
  | { readonly kind: 'empty' }
  | { readonly kind: 'lmdb'; readonly pageBytes: number }
  | { readonly kind: 'invalid'; readonly reason: string }
  | { readonly kind: 'truncated'; readonly reason: string };

/** Reads the first meta page of `file` (an existing LMDB data file path) and says whether LMDB can safely open it. */
export async function checkDataFile(file: string): Promise<DataFileCheck> {
  const handle = await openFile(file, 'r');
  try {
    const { size } = await handle.stat();
    if (size === 0) return { kind: 'empty' };
    if (size < HEADER_BYTES) return { kind: 'invalid', reason: `it is only ${size} bytes long` };
    const header = Buffer.alloc(HEADER_BYTES);
    await handle.read(header, 0, HEADER_BYTES, 0);
    if (
      (header.readUInt16LE(PAGE_FLAGS_OFFSET) & P_META) === 0 ||
      header.readUInt32LE(META_MAGIC_OFFSET) !== MDB_MAGIC
    ) {
      return { kind: 'invalid', reason: 'it does not start with an LMDB meta page' };
    }
    const version = header.readUInt32LE(META_VERSION_OFFSET) & DATA_VERSION_MASK;
    if (version !== MDB_DATA_VERSION) {
      return { kind: 'invalid', reason: `its LMDB data version is ${version}, expected ${MDB_DATA_VERSION}` };
    }
    const pageBytes = header.readUInt32LE(META_PAGE_SIZE_OFFSET);
    const isPowerOfTwo = (pageBytes & (pageBytes - 1)) === 0;
    if (!isPowerOfTwo || pageBytes < MIN_PAGE_BYTES || pageBytes > MAX_PAGE_BYTES) {
      return { kind: 'invalid', reason: `its page size ${pageBytes} is not a valid LMDB page size` };
    }
    if (size < META_PAGES * pageBytes) {
      return { kind: 'truncated', reason: `it is truncated (${size} bytes, pages of ${pageBytes})` };
    }
    // LMDB maps the file and trusts its meta page: a page beyond the end of a shorter file is a
    // SIGBUS, not an error. The newest meta page (as LMDB picks it) says how long the file must be.
    const second = Buffer.alloc(HEADER_BYTES);
    await handle.read(second, 0, HEADER_BYTES, pageBytes);
    const newest =
      second.readBigUInt64LE(META_TXN_ID_OFFSET) > header.readBigUInt64LE(META_TXN_ID_OFFSET)
        ? second
        : header;
    const neededBytes = (newest.readBigUInt64LE(META_LAST_PAGE_OFFSET) + 1n) * BigInt(pageBytes);
    // The size is measured again after the meta pages were read: another process may have
    // committed in between, growing the file and writing a newer meta page, and the size seen
    // before would call a healthy store truncated. LMDB never shrinks a file, so a size read after
    // the meta page is at least what that meta page needs unless the file really is truncated.
    const { size: sizeAfter } = await handle.stat();
    if (BigInt(sizeAfter) < neededBytes) {
      return {
        kind: 'truncated',
        reason: `it is truncated: ${sizeAfter} bytes, where its own metadata says ${neededBytes} at least`,
      };
    }
    return { kind: 'lmdb', pageBytes };
  } finally {
    await handle.close();
  }
}
