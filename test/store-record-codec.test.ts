import { describe, expect, it } from 'vitest';

import { decodeRecord, encodeRecord, RECORD_HEADER_BYTES } from '../src/store/record-codec.js';
import { turnRecord } from './helpers/records.js';

describe('the record codec', () => {
  const key = ['job-1', 'model-a', 'seq-1', 1, 1];
  const value = turnRecord({ response: 'Hi ✓ — 🎉' });
  const encoded = encodeRecord(key, value);

  it('round-trips a record under its key', () => {
    expect(decodeRecord(key, encoded)).toEqual({ ok: true, value });
  });

  it('detects every single-bit flip of a record, header and payload', () => {
    for (let byte = 0; byte < encoded.length; byte += 1) {
      for (let bit = 0; bit < 8; bit += 1) {
        const damaged = Buffer.from(encoded);
        damaged[byte] = (damaged[byte] as number) ^ (1 << bit);
        const decoded = decodeRecord(key, damaged);
        expect(decoded.ok, `byte ${byte} bit ${bit}`).toBe(false);
      }
    }
  });

  it('detects a record read under another key, a truncated record, and bytes without an envelope', () => {
    expect(decodeRecord(['job-1', 'model-a', 'seq-1', 1, 2], encoded)).toEqual({
      ok: false,
      reason: 'checksum mismatch',
    });
    expect(decodeRecord(key, encoded.subarray(0, encoded.length - 1)).ok).toBe(false);
    expect(decodeRecord(key, encoded.subarray(0, RECORD_HEADER_BYTES - 1))).toMatchObject({ ok: false });
    expect(decodeRecord(key, Buffer.from([0x01]))).toMatchObject({ ok: false });
  });
});
