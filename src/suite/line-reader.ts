/**
 * Reading a big text file line by line without holding it: the bytes are read in chunks, split
 * at `\n`, and each line is checked to be UTF-8 before it is decoded (a bad byte is reported
 * with its offset, never replaced by U+FFFD). Only regular files are read: a FIFO, a device or a
 * directory is refused before a byte is read, so reading never hangs.
 */
import { constants as fsConstants } from 'node:fs';
import { open } from 'node:fs/promises';
import type { FileHandle } from 'node:fs/promises';
import { isUtf8 } from 'node:buffer';
import { createHash } from 'node:crypto';

/** Bytes read from the file at a time. */
export const READ_CHUNK_BYTES = 1 << 20;

const NEWLINE = 0x0a;
const CARRIAGE_RETURN = 0x0d;
const BYTE_ORDER_MARK = Buffer.from([0xef, 0xbb, 0xbf]);

/** One line of a file: its 1-based number, the byte offset of its start, and its text or why it has none. */
export type FileLine =
  | { readonly kind: 'text'; readonly line: number; readonly offset: number; readonly text: string }
  | {
      readonly kind: 'invalid-utf8';
      readonly line: number;
      readonly offset: number;
      /** Offset of the first byte that is not UTF-8, from the start of the file. */
      readonly badOffset: number;
      /** That byte's 1-based column in the line, in bytes. */
      readonly badColumn: number;
      readonly badByte: number;
    }
  | { readonly kind: 'too-long'; readonly line: number; readonly offset: number; readonly bytes: number };

/** Why a path cannot be read as a text file, as a phrase (`it is a FIFO (named pipe)`). */
export type FileRefusal = { readonly ok: false; readonly reason: string };

/** An open regular file and its size, or why it was refused. */
export type OpenedFile =
  { readonly ok: true; readonly handle: FileHandle; readonly bytes: number } | FileRefusal;

/**
 * Opens `file` for reading if it is a regular file of at most `maxBytes`. Opened non-blocking
 * and checked on the open handle, so a FIFO put in place between a check and the open cannot
 * block the process. Errors of the file system (no such file, permission) are thrown.
 */
export async function openRegularFile(file: string, maxBytes: number): Promise<OpenedFile> {
  const handle = await open(file, fsConstants.O_RDONLY | fsConstants.O_NONBLOCK);
  try {
    const stats = await handle.stat();
    let kind: string | undefined;
    if (stats.isDirectory()) kind = 'a directory';
    else if (stats.isFIFO()) kind = 'a FIFO (named pipe)';
    else if (stats.isCharacterDevice()) kind = 'a character device';
    else if (stats.isBlockDevice()) kind = 'a block device';
    else if (stats.isSocket()) kind = 'a socket';
    else if (!stats.isFile()) kind = 'not a regular file';
    if (kind !== undefined) {
      await handle.close();
      return { ok: false, reason: `it is ${kind}, expected a regular file` };
    }
    if (stats.size > maxBytes) {
      await handle.close();
      return {
        ok: false,
        reason: `it is ${stats.size} bytes, over the limit of ${maxBytes} bytes (${formatBytes(maxBytes)}) for a sequences file`,
      };
    }
    return { ok: true, handle, bytes: stats.size };
  } catch (error) {
    await handle.close();
    throw error;
  }
}

/** `1.5 GiB`, `300 MiB`, `12 KiB`, `17 bytes`. */
export function formatBytes(bytes: number): string {
  const units = ['GiB', 'MiB', 'KiB'] as const;
  for (const [index, unit] of units.entries()) {
    const size = 1024 ** (units.length - index);
    if (bytes >= size) return `${Number((bytes / size).toFixed(1))} ${unit}`;
  }
  return `${bytes} bytes`;
}

/** What `readLines` found besides the lines. */
export interface ReadDigest {
  /** SHA-256 (hex) of every byte read: the same digest on a second read means the same content. */
  sha256: string;
  bytes: number;
}

/**
 * The lines of an open file, from its start, as they are read, in batches (the lines each read
 * of `READ_CHUNK_BYTES` completes: one promise per batch, not per line). A leading byte-order
 * mark is dropped, a line's trailing `\r` too. A line longer than `maxLineBytes` is reported as too
 * long without being kept. Fills `digest` once the end is reached. Closes nothing.
 */
export async function* readLines(
  handle: FileHandle,
  maxLineBytes: number,
  digest?: ReadDigest,
): AsyncGenerator<FileLine[], void, undefined> {
  const hash = createHash('sha256');
  const chunk = Buffer.allocUnsafe(READ_CHUNK_BYTES);
  let parts: Buffer[] = [];
  let partBytes = 0;
  let overflow = false;
  let line = 0;
  let lineStart = 0;
  let chunkStart = 0;

  const lineOf = (): FileLine => {
    line += 1;
    if (overflow) return { kind: 'too-long', line, offset: lineStart, bytes: partBytes };
    const bytes = parts.length === 1 ? (parts[0] as Buffer) : Buffer.concat(parts, partBytes);
    let end = bytes.length;
    if (end > 0 && bytes[end - 1] === CARRIAGE_RETURN) end -= 1;
    const start =
      line === 1 && bytes.subarray(0, BYTE_ORDER_MARK.length).equals(BYTE_ORDER_MARK)
        ? BYTE_ORDER_MARK.length
        : 0;
    const content = bytes.subarray(start, end);
    if (isUtf8(content)) return { kind: 'text', line, offset: lineStart, text: content.toString('utf8') };
    const bad = firstInvalidUtf8(content);
    return {
      kind: 'invalid-utf8',
      line,
      offset: lineStart,
      badOffset: lineStart + start + bad,
      badColumn: start + bad + 1,
      badByte: content[bad] ?? 0,
    };
  };

  while (true) {
    const { bytesRead } = await handle.read(chunk, 0, chunk.length, chunkStart);
    if (bytesRead === 0) break;
    const data = chunk.subarray(0, bytesRead);
    hash.update(data);
    const batch: FileLine[] = [];
    let from = 0;
    while (from < data.length) {
      const newline = data.indexOf(NEWLINE, from);
      const piece = data.subarray(from, newline === -1 ? data.length : newline);
      if (!overflow && partBytes + piece.length > maxLineBytes) {
        overflow = true;
        parts = [];
      }
      // A piece left at the end of the chunk is copied: the next read reuses the chunk buffer.
      if (!overflow && piece.length > 0) parts.push(newline === -1 ? Buffer.from(piece) : piece);
      partBytes += piece.length;
      if (newline === -1) break;
      batch.push(lineOf());
      parts = [];
      partBytes = 0;
      overflow = false;
      lineStart = chunkStart + newline + 1;
      from = newline + 1;
    }
    chunkStart += bytesRead;
    if (batch.length > 0) yield batch;
  }
  if (partBytes > 0 || overflow) yield [lineOf()];
  if (digest) {
    digest.sha256 = hash.digest('hex');
    digest.bytes = chunkStart;
  }
}

/**
 * Offset of the first byte of `bytes` that does not belong to a well-formed UTF-8 sequence
 * (overlong forms, surrogates and code points past U+10FFFF are ill-formed too), or
 * `bytes.length` when there is none.
 */
export function firstInvalidUtf8(bytes: Uint8Array): number {
  let i = 0;
  while (i < bytes.length) {
    const b = bytes[i] as number;
    if (b < 0x80) {
      i += 1;
      continue;
    }
    let need: number;
    let min: number;
    let code: number;
    if (b >= 0xc2 && b <= 0xdf) [need, min, code] = [1, 0x80, b & 0x1f];
    else if (b >= 0xe0 && b <= 0xef) [need, min, code] = [2, 0x800, b & 0x0f];
    else if (b >= 0xf0 && b <= 0xf4) [need, min, code] = [3, 0x10000, b & 0x07];
    else return i;
    for (let k = 1; k <= need; k++) {
      const next = bytes[i + k];
      if (next === undefined || (next & 0xc0) !== 0x80) return i;
      code = (code << 6) | (next & 0x3f);
    }
    if (code < min || code > 0x10ffff || (code >= 0xd800 && code <= 0xdfff)) return i;
    i += need + 1;
  }
  return i;
}
