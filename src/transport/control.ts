/**
 * The transport's own messages, handled inside the transport and never passed to `onMessage`.
 * Their types start with `transport:`; that prefix is reserved and applications may not send it.
 *
 * - `transport:hello`: a dealer's first message after it connects (the router learns the peer).
 * - `transport:ping` `{ seq }`: the router asks a live peer for a sign of life.
 * - `transport:pong` `{ seq }`: the dealer's answer, carrying the ping's `seq`.
 */
import type { Envelope } from './codec.js';

/** The prefix of every reserved message type. */
export const CONTROL_TYPE_PREFIX = 'transport:';

/** A dealer announces itself to the router. */
export interface HelloMessage {
  readonly type: 'transport:hello';
}

/** The router's heartbeat to one peer; `seq` counts pings of this router from 1. */
export interface PingMessage {
  readonly type: 'transport:ping';
  readonly seq: number;
}

/** A dealer's answer to the ping with the same `seq`. */
export interface PongMessage {
  readonly type: 'transport:pong';
  readonly seq: number;
}

/** Every transport-internal message. */
export type ControlMessage = HelloMessage | PingMessage | PongMessage;

/** True if `type` is reserved for the transport. */
export function isControlType(type: string): boolean {
  return type.startsWith(CONTROL_TYPE_PREFIX);
}

/** Reads a message whose type is reserved; a string is the reason it is not a valid control message. */
export function parseControl(message: Envelope): ControlMessage | string {
  const fields = message as Envelope & { readonly seq?: unknown };
  switch (message.type) {
    case 'transport:hello':
      return { type: 'transport:hello' };
    case 'transport:ping':
    case 'transport:pong':
      if (!Number.isSafeInteger(fields.seq)) return `${message.type} without an integer "seq"`;
      return { type: message.type, seq: fields.seq as number };
    default:
      return `unknown transport message type "${message.type}"`;
  }
}
