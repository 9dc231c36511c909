/**
 * A real store whose LMDB branch pages (its index) a test damages bit by bit: its shape, where
 * its branch pages are, which bytes of a page LMDB reads, and a flip written into a copy.
 */
import { createHash } from 'node:crypto';
import { cp, open, readFile } from 'node:fs/promises';
import { join } from 'node:path';

import { openLmdbStore } from '../../src/store/lmdb-store.js';
import { writeSyntheticJob } from '../../src/store/synthetic-job.js';

/**
 * 2 models × 50 sequences × 2 runs × 3 turns = 600 turns of about 1.7 kB (two to a page): some
 * 300 pages of turns under half a dozen branch pages, while each command has little to print.
 * Written the same way every time, so that a page number names the same page in every run.
 */
export const BRANCH_SHAPE = {
  id: 'job-1',
  models: 2,
  sequences: 50,
  runs: 2,
  turnsPerSequence: 3,
  responseChars: 1_500,
  failEvery: 7,
  disagreeEvery: 5,
};

/** Turns of `BRANCH_SHAPE`. */
export const BRANCH_SHAPE_TURNS = 2 * 50 * 2 * 3;

// LMDB's page header (lmdb-js's build, 64-bit): page number, transaction id, pad, then the
// flags at byte 18, then the ends of the page's free space (its node pointers' end and its
// nodes' start), both counted from the end of the 24-byte header. The first meta page gives the
// page size at byte 48.
const LAYOUT = {
  flags: 18,
  lower: 20,
  upper: 22,
  headerBytes: 24,
  metaPageSize: 48,
  branchFlag: 0x01,
} as const;

/** A bit of a page of the data file. */
export interface Flip {
  readonly page: number;
  /** Byte within the page. */
  readonly offset: number;
  readonly bit: number;
}

/** Writes `BRANCH_SHAPE`'s job into a new store in `dir`, its state `running` (a resume would write to it). */
export async function writeBranchStore(dir: string): Promise<void> {
  const store = await openLmdbStore(dir);
  try {
    const job = await writeSyntheticJob(store, BRANCH_SHAPE);
    await store.putJob({ ...job, state: 'running', finishedAt: null });
  } finally {
    await store.close();
  }
}

/** The page size of an LMDB data file, in bytes. */
export function pageBytesOf(bytes: Buffer): number {
  return bytes.readUInt32LE(LAYOUT.metaPageSize);
}

/** The page numbers of the branch pages of an LMDB data file. */
export function branchPages(bytes: Buffer): number[] {
  const pageBytes = pageBytesOf(bytes);
  const pages: number[] = [];
  for (let page = 2; (page + 1) * pageBytes <= bytes.length; page += 1) {
    if ((bytes.readUInt16LE(page * pageBytes + LAYOUT.flags) & LAYOUT.branchFlag) !== 0) pages.push(page);
  }
  return pages;
}

/**
 * The bytes of a page that LMDB reads: its header and node pointers, then its nodes. The free
 * space between them is never read, so a flip there changes nothing.
 */
export function usedBytes(bytes: Buffer, page: number): { from: number; to: number }[] {
  const pageBytes = pageBytesOf(bytes);
  const start = page * pageBytes;
  const lower = bytes.readUInt16LE(start + LAYOUT.lower);
  const upper = bytes.readUInt16LE(start + LAYOUT.upper);
  return [
    { from: 0, to: LAYOUT.headerBytes + lower },
    { from: LAYOUT.headerBytes + upper, to: pageBytes },
  ];
}

/** The `index`-th of the used bytes of a page, as an offset in the page. */
export function usedByte(used: readonly { from: number; to: number }[], index: number): number {
  let left = index;
  for (const { from, to } of used) {
    if (left < to - from) return from + left;
    left -= to - from;
  }
  throw new Error(`byte ${index} is past the page's used bytes`);
}

/** Copies the store in `from` to `to` and flips one bit of the copy's data file; returns the file. */
export async function flippedCopy(from: string, to: string, flip: Flip): Promise<string> {
  await cp(from, to, { recursive: true });
  const file = join(to, 'data.mdb');
  await flipInPlace(file, flip);
  return file;
}

/**
 * Flips one bit of a data file in place: the file is never truncated or replaced, so a process
 * that has it mapped (a daemon) reads the flipped bit.
 */
export async function flipInPlace(file: string, flip: Flip): Promise<void> {
  const handle = await open(file, 'r+');
  try {
    const pageBytes = pageBytesOf(await readFile(file));
    const at = flip.page * pageBytes + flip.offset;
    const byte = Buffer.alloc(1);
    await handle.read(byte, 0, 1, at);
    byte[0] = (byte[0] as number) ^ (1 << flip.bit);
    await handle.write(byte, 0, 1, at);
  } finally {
    await handle.close();
  }
}

/** The SHA-256 of a file, hex. */
export async function sha256(file: string): Promise<string> {
  return createHash('sha256')
    .update(await readFile(file))
    .digest('hex');
}
