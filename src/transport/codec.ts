/**
 * The wire encoding: a message is one msgpack map, and a frame holds one or more of them back to
 * back (msgpack values delimit themselves). Only the envelope is checked here (a plain object with
 * a non-empty string `type`); what each type carries is the protocol's business.
 */
import { Packr } from 'msgpackr';

/** What every message on the wire is at least: an object discriminated by a string `type`. */
export interface Envelope {
  readonly type: string;
}

/** The outcome of decoding one frame: the message, or why the frame was rejected. */
export type DecodeResult =
  { readonly ok: true; readonly message: Envelope } | { readonly ok: false; readonly reason: string };

/** Longest `reason` `decodeMessages` gives, in characters; msgpackr may quote the whole payload. */
export const MAX_REASON_CHARS = 200;

// Records and the extra types would make both ends depend on msgpackr's private extensions; plain
// maps keep the wire readable by any msgpack decoder (the test fixtures use a second Packr).
const packr = new Packr({ useRecords: false, moreTypes: false, mapsAsObjects: true });

/** Encodes a message as one msgpack frame. Throws if msgpackr cannot encode a value in it. */
export function encodeMessage<M extends Envelope>(message: M): Buffer {
  return packr.pack(message);
}

/**
 * Concatenated encoded messages: one frame that carries them all, in order (`decodeMessages`
 * reads them back).
 */
export function joinEncoded(encoded: readonly Buffer[]): Buffer {
  const [only] = encoded;
  return encoded.length === 1 && only !== undefined ? only : Buffer.concat(encoded);
}

/**
 * Decodes every message of a frame, in order. Never throws: the first value that is not an
 * envelope, or garbage, gives one `ok: false` and ends the frame — what follows is not ours.
 */
export function decodeMessages(frame: Uint8Array): DecodeResult[] {
  if (frame.length === 0) return [{ ok: false, reason: 'empty frame' }];
  const results: DecodeResult[] = [];
  try {
    packr.unpackMultiple(frame, (value: unknown) => {
      const result = envelopeOf(value);
      results.push(result);
      return result.ok;
    });
  } catch (error) {
    results.push(notMsgpack(frame, error));
  }
  return results;
}

function notMsgpack(frame: Uint8Array, error: unknown): DecodeResult {
  return rejected(
    `not msgpack (${frame.length} bytes): ${error instanceof Error ? error.message : String(error)}`,
  );
}

function envelopeOf(value: unknown): DecodeResult {
  if (!isPlainObject(value)) return rejected(`expected a map with a string "type", got ${describe(value)}`);
  const type = value['type'];
  if (typeof type !== 'string' || type.length === 0) {
    return rejected(`expected a non-empty string "type", got ${describe(type)}`);
  }
  return { ok: true, message: value as unknown as Envelope };
}

function rejected(reason: string): DecodeResult {
  return {
    ok: false,
    reason: reason.length > MAX_REASON_CHARS ? `${reason.slice(0, MAX_REASON_CHARS)}…` : reason,
  };
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  if (typeof value !== 'object' || value === null) return false;
  const proto: unknown = Object.getPrototypeOf(value);
  return proto === Object.prototype || proto === null;
}

function describe(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'an array';
  if (typeof value === 'object') return `an object of class ${value.constructor?.name ?? 'unknown'}`;
  if (typeof value === 'string') return `the string ${JSON.stringify(value.slice(0, 40))}`;
  return `${typeof value} ${String(value)}`;
}
