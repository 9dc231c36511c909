/**
 * The one encoding every stored record passes through: a msgpack payload behind a small header
 * that carries a CRC-32 of the record's key and payload. A record whose bytes (or whose key) were
 * changed on disk fails the check and is reported as damaged, never returned as data.
 *
 * Layout of a stored value: `0xc1` (a byte msgpack never writes, so a value written without this
 * envelope is told apart), the envelope version (1), the CRC-32 (unsigned, little-endian) of the
 * canonical key bytes followed by the payload, then the payload (msgpack, self-contained: no
 * structures shared across records, so each record can be checked and salvaged alone).
 */
import { crc32 } from 'node:zlib';

import { Packr } from 'msgpackr';

/** First byte of every enveloped record; msgpack reserves it ("never used"). */
const ENVELOPE_MARK = 0xc1;
/** Version of the envelope layout. */
const ENVELOPE_VERSION = 1;
const CRC_OFFSET = 2;
/** Header bytes before the payload: mark, version, CRC-32. */
export const RECORD_HEADER_BYTES = 6;

// Plain maps, no shared structures: a record is decodable on its own, whatever else is damaged.
const packr = new Packr({ useRecords: false, mapsAsObjects: true, moreTypes: false });

/** The bytes a key is checksummed as: stable for the strings, numbers and arrays of them troupe uses as keys. */
export function keyBytes(key: unknown): Buffer {
  return Buffer.from(JSON.stringify(key) ?? 'undefined', 'utf8');
}

/** Encodes `value` stored under `key` into an enveloped, checksummed record. */
export function encodeRecord(key: unknown, value: unknown): Buffer {
  const payload = packr.pack(value);
  const out = Buffer.allocUnsafe(RECORD_HEADER_BYTES + payload.length);
  out[0] = ENVELOPE_MARK;
  out[1] = ENVELOPE_VERSION;
  out.writeUInt32LE(crc32(payload, crc32(keyBytes(key))), CRC_OFFSET);
  payload.copy(out, RECORD_HEADER_BYTES);
  return out;
}

/** A decoded record: its value, or why it cannot be trusted. */
export type DecodedRecord<V> =
  { readonly ok: true; readonly value: V } | { readonly ok: false; readonly reason: string };

/** Checks and decodes a stored record read under `key`. Never throws. */
export function decodeRecord<V>(key: unknown, bytes: Uint8Array): DecodedRecord<V> {
  if (bytes.length < RECORD_HEADER_BYTES) {
    return { ok: false, reason: `it is only ${bytes.length} bytes long` };
  }
  if (bytes[0] !== ENVELOPE_MARK) return { ok: false, reason: 'it has no checksum envelope' };
  if (bytes[1] !== ENVELOPE_VERSION) {
    return { ok: false, reason: `its envelope version is ${bytes[1]}, expected ${ENVELOPE_VERSION}` };
  }
  const buffer = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const stored = buffer.readUInt32LE(CRC_OFFSET);
  const payload = buffer.subarray(RECORD_HEADER_BYTES);
  if (crc32(payload, crc32(keyBytes(key))) !== stored) {
    return { ok: false, reason: 'checksum mismatch' };
  }
  try {
    return { ok: true, value: packr.unpack(payload) as V };
  } catch (error) {
    // The checksum matched, so these are the bytes that were written: a bug, not damage. Still never data.
    return { ok: false, reason: `undecodable (${error instanceof Error ? error.message : String(error)})` };
  }
}

/** Whether `bytes` start like an enveloped record (used to tell a store of an older format). */
export function isEnveloped(bytes: Uint8Array): boolean {
  return bytes.length >= RECORD_HEADER_BYTES && bytes[0] === ENVELOPE_MARK;
}
