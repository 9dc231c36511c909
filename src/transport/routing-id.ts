/** Routing ids: how a ROUTER names its peers, as strings for the rest of troupe. */
import { TransportError } from './transport-error.js';

/** Longest routing id ZeroMQ accepts, in bytes. */
export const MAX_ROUTING_ID_BYTES = 255;

/** Throws `troupe:transport-bad-routing-id` unless `id` is 1–255 bytes and does not start with a zero byte. */
export function checkRoutingId(id: string): void {
  const bytes = Buffer.byteLength(id);
  if (bytes === 0 || bytes > MAX_ROUTING_ID_BYTES || id.startsWith('\0')) {
    throw new TransportError(
      'troupe:transport-bad-routing-id',
      `routing id ${JSON.stringify(id)}: expected 1 to ${MAX_ROUTING_ID_BYTES} bytes, not starting with a zero byte`,
    );
  }
}

/**
 * The peer id of a routing id frame: its UTF-8 text, or `0x<hex>` for an id that is not text
 * (ZeroMQ gives a peer that set no routing id five bytes starting with zero).
 */
export function peerIdOf(frame: Buffer): string {
  if (frame.length > 0 && frame[0] !== 0) {
    const text = frame.toString('utf8');
    if (Buffer.from(text, 'utf8').equals(frame)) return text;
  }
  return `0x${frame.toString('hex')}`;
}
