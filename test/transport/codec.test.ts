import { Packr } from 'msgpackr';
import { describe, expect, it } from 'vitest';

import { decodeMessages, encodeMessage, joinEncoded, MAX_REASON_CHARS } from '../../src/transport/codec.js';
import type { DecodeResult } from '../../src/transport/codec.js';

/** The one result of a frame that holds one message (or fails at once). */
const decodeMessage = (frame: Uint8Array): DecodeResult | undefined => {
  const results = decodeMessages(frame);
  expect(results).toHaveLength(1);
  return results[0];
};

const roundTrip = <M extends { type: string }>(message: M): unknown => {
  const decoded = decodeMessage(encodeMessage(message));
  if (!decoded?.ok) throw new Error(decoded?.reason);
  return decoded.message;
};

describe('codec', () => {
  it('round-trips nested objects, unicode strings, numbers, null and arrays', () => {
    const message = {
      type: 'turn:done',
      text: 'naïve café — 日本語 🎭 \u0000 end',
      numbers: [0, -1, 42, 2 ** 31, 2 ** 53 - 1, -(2 ** 40), 0.1, -1.5e-300, 1e308],
      nothing: null,
      flag: false,
      nested: { a: { b: { c: [1, [2, [3, { d: 'deep' }]]] } }, empty: {}, list: [] },
      usage: { inputTokens: 10, outputTokens: 20 },
    };
    expect(roundTrip(message)).toEqual(message);
  });

  it('decodes plain objects, not records or class instances', () => {
    const decoded = roundTrip({ type: 'a', inner: { x: 1 } }) as { inner: object };
    expect(Object.getPrototypeOf(decoded)).toBe(Object.prototype);
    expect(Object.getPrototypeOf(decoded.inner)).toBe(Object.prototype);
  });

  it('is readable by a plain msgpack decoder, and reads what one wrote', () => {
    const other = new Packr({ useRecords: false });
    expect(other.unpack(encodeMessage({ type: 'x', n: 1 }))).toEqual({ type: 'x', n: 1 });
    expect(decodeMessage(other.pack({ type: 'y', list: [1, 'two'] }))).toEqual({
      ok: true,
      message: { type: 'y', list: [1, 'two'] },
    });
  });

  it('gives ok:false, never a throw, for garbage', () => {
    const valid = encodeMessage({ type: 'x', payload: 'some text to cut short' });
    const packr = new Packr({ useRecords: false });
    const garbage: [string, Uint8Array][] = [
      ['empty', new Uint8Array(0)],
      ['truncated', valid.subarray(0, valid.length - 5)],
      ['a single header byte', valid.subarray(0, 1)],
      ['trailing bytes', Buffer.concat([valid, Buffer.from([0x01])])],
      ['never-used byte', Buffer.from([0xc1])],
      ['text', Buffer.from('hello world')],
      ['unknown extension', Buffer.from([0xd4, 0x7f, 0x00])],
      ['a number', packr.pack(42)],
      ['a string', packr.pack('type')],
      ['null', packr.pack(null)],
      ['an array', packr.pack([{ type: 'x' }])],
      ['no type', packr.pack({ kind: 'x' })],
      ['numeric type', packr.pack({ type: 7 })],
      ['empty type', packr.pack({ type: '' })],
    ];
    for (const [what, frame] of garbage) {
      const decoded = decodeMessages(frame).at(-1);
      expect(decoded?.ok, what).toBe(false);
      if (decoded?.ok === false)
        expect(decoded.reason.length, what).toBeLessThanOrEqual(MAX_REASON_CHARS + 1);
    }
  });

  it('survives every truncation and random bytes', () => {
    const valid = encodeMessage({ type: 'x', nested: { list: [1, 'two', null, { three: 3 }] } });
    for (let end = 0; end < valid.length; end++)
      expect(decodeMessages(valid.subarray(0, end)).at(-1)?.ok).toBe(false);
    let seed = 12_345;
    const next = (): number => (seed = (seed * 1_103_515_245 + 12_345) % 2 ** 31);
    for (let i = 0; i < 2_000; i++) {
      const bytes = Uint8Array.from({ length: 1 + (next() % 64) }, () => next() % 256);
      expect(() => decodeMessages(bytes)).not.toThrow();
    }
  });

  it('reads several messages joined in one frame, in order', () => {
    const messages = [
      { type: 'a', n: 1 },
      { type: 'b', text: 'two' },
      { type: 'c', list: [3] },
    ];
    const frame = joinEncoded(messages.map((message) => encodeMessage(message)));
    expect(decodeMessages(frame)).toEqual(messages.map((message) => ({ ok: true, message })));
    const one = encodeMessage({ type: 'only' });
    expect(joinEncoded([one])).toBe(one);
  });

  it('ends a frame at its first value that is not a message', () => {
    const packr = new Packr({ useRecords: false });
    const frame = Buffer.concat([encodeMessage({ type: 'a' }), packr.pack(42), encodeMessage({ type: 'b' })]);
    expect(decodeMessages(frame)).toEqual([
      { ok: true, message: { type: 'a' } },
      { ok: false, reason: 'expected a map with a string "type", got number 42' },
    ]);
    const truncated = Buffer.concat([
      encodeMessage({ type: 'a' }),
      encodeMessage({ type: 'b' }).subarray(0, 3),
    ]);
    expect(decodeMessages(truncated).map((result) => result.ok)).toEqual([true, false]);
  });
});
