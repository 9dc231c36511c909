/** What both ends do with a frame: read an inbound one into a message, encode an outbound one. */
import { decodeMessages, encodeMessage } from './codec.js';
import type { DecodeResult } from './codec.js';
import type { Envelope } from './codec.js';
import { isControlType, parseControl } from './control.js';
import type { ControlMessage } from './control.js';
import type { MessageGuard } from './ends.js';
import { TransportError } from './transport-error.js';

/** An inbound frame, read: an application message, a transport message, or a reason to drop it. */
export type Inbound<In extends Envelope> =
  | { readonly kind: 'message'; readonly message: In }
  | { readonly kind: 'control'; readonly control: ControlMessage }
  | { readonly kind: 'malformed'; readonly reason: string };

/**
 * Reads one body frame (the routing id already removed) into the messages it holds, in order: a
 * frame carries one message or several back to back. Never throws.
 */
export function readInbound<In extends Envelope>(
  body: Uint8Array,
  guard: MessageGuard<In> | undefined,
): Inbound<In>[] {
  return decodeMessages(body).map((decoded) => readDecoded(decoded, guard));
}

function readDecoded<In extends Envelope>(
  decoded: DecodeResult,
  guard: MessageGuard<In> | undefined,
): Inbound<In> {
  if (!decoded.ok) return { kind: 'malformed', reason: decoded.reason };
  const { message } = decoded;
  if (isControlType(message.type)) {
    const control = parseControl(message);
    return typeof control === 'string'
      ? { kind: 'malformed', reason: control }
      : { kind: 'control', control };
  }
  if (guard !== undefined && !guard(message)) {
    return {
      kind: 'malformed',
      reason: `refused by the message guard (type "${message.type.slice(0, 80)}")`,
    };
  }
  return { kind: 'message', message: message as In };
}

/**
 * Encodes an application message. Throws `troupe:transport-invalid-message` for a reserved
 * `transport:` type or a value msgpack cannot encode.
 */
export function encodeOutbound(message: Envelope, peerId?: string): Buffer {
  const type: unknown = (message as { type?: unknown }).type;
  if (typeof type !== 'string' || type.length === 0) {
    throw new TransportError(
      'troupe:transport-invalid-message',
      'a message needs a non-empty string "type"',
      peerId,
    );
  }
  if (isControlType(type)) {
    throw new TransportError(
      'troupe:transport-invalid-message',
      `message type "${type}" is reserved for the transport`,
      peerId,
    );
  }
  return encodeControl(message, peerId);
}

/** Encodes a message without the reserved-type check (the transport's own messages go through here). */
export function encodeControl(message: Envelope | ControlMessage, peerId?: string): Buffer {
  try {
    return encodeMessage(message);
  } catch (error) {
    const detail = error instanceof Error ? error.message : String(error);
    throw new TransportError(
      'troupe:transport-invalid-message',
      `cannot encode a "${message.type}" message: ${detail}`,
      peerId,
      error,
    );
  }
}
