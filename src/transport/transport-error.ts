/**
 * Why a transport operation failed, as a namespaced code that survives a process boundary:
 * - `troupe:transport-unreachable`: the peer is gone (ZeroMQ `EHOSTUNREACH`: never connected,
 *   disconnected, or no peer at all once the send timeout ran out).
 * - `troupe:transport-send-timeout`: the message could not be handed over within the send timeout
 *   (ZeroMQ `EAGAIN`: the peer's high-water mark is reached, e.g. a stopped process).
 * - `troupe:transport-queue-full`: the socket's send queue already holds its maximum of messages.
 * - `troupe:transport-closed`: the transport was closed before the message was handed over.
 * - `troupe:transport-send-failed`: ZeroMQ refused the send for another reason (the cause says which).
 * - `troupe:transport-invalid-message`: the message uses a reserved `transport:` type or cannot be encoded.
 * - `troupe:transport-bad-endpoint`: the endpoint is not a usable `ipc://` or `tcp://` address.
 * - `troupe:transport-bad-routing-id`: the routing id is empty, too long or starts with a zero byte.
 * - `troupe:transport-bind-failed`: the endpoint is valid but could not be bound (in use, no such directory).
 */
export type TransportErrorCode =
  | 'troupe:transport-unreachable'
  | 'troupe:transport-send-timeout'
  | 'troupe:transport-queue-full'
  | 'troupe:transport-closed'
  | 'troupe:transport-send-failed'
  | 'troupe:transport-invalid-message'
  | 'troupe:transport-bad-endpoint'
  | 'troupe:transport-bad-routing-id'
  | 'troupe:transport-bind-failed';

/** A transport failure; match it by `code`, never by `instanceof` across processes. */
export class TransportError extends Error {
  constructor(
    /** What went wrong. */
    readonly code: TransportErrorCode,
    message: string,
    /** The peer a failed send was addressed to, when there is one. */
    readonly peerId?: string,
    cause?: unknown,
  ) {
    super(message);
    this.name = 'TransportError';
    if (cause !== undefined) this.cause = cause;
  }
}

/** The `code` property of a ZeroMQ (or system) error, if it has one. */
export function systemCodeOf(error: unknown): string | undefined {
  if (typeof error !== 'object' || error === null || !('code' in error)) return undefined;
  return typeof error.code === 'string' ? error.code : undefined;
}

/** Maps the failure of one ZeroMQ `send()` to a `TransportError` naming the peer. */
export function sendFailure(error: unknown, peerId: string | undefined, closed: boolean): TransportError {
  if (error instanceof TransportError) return error;
  const to = peerId === undefined ? '' : ` to ${peerId}`;
  const code = systemCodeOf(error);
  if (closed)
    return new TransportError('troupe:transport-closed', `send${to}: the transport is closed`, peerId, error);
  if (code === 'EHOSTUNREACH') {
    return new TransportError(
      'troupe:transport-unreachable',
      `send${to}: the peer is not connected`,
      peerId,
      error,
    );
  }
  if (code === 'EAGAIN') {
    return new TransportError(
      'troupe:transport-send-timeout',
      `send${to}: not accepted within the send timeout (is the peer stopped?)`,
      peerId,
      error,
    );
  }
  const detail = error instanceof Error ? error.message : String(error);
  return new TransportError('troupe:transport-send-failed', `send${to} failed: ${detail}`, peerId, error);
}
