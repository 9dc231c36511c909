/**
 * The two ends of the process boundary as consumers see them. The ZeroMQ transports and the
 * in-memory pair of the tests (test/helpers) both implement these; code above the transport
 * depends on nothing else.
 */
import type { Envelope } from './codec.js';

/** Removes the handler it was returned for. */
export type Unsubscribe = () => void;

/** Why a peer was reported lost: it stopped answering heartbeat pings. */
export type PeerLostReason = 'heartbeat';

/**
 * Checks a decoded envelope against the protocol's union (the codec checked only `type`).
 * A message it refuses is reported as malformed and dropped. Default: accept every envelope.
 */
export type MessageGuard<In extends Envelope> = (message: Envelope) => message is In;

/**
 * The primary's end: it talks to many peers (workers), each named by its routing id.
 * Handlers run synchronously in arrival order; one that throws does not stop the others or the
 * transport, and its error is rethrown on a later tick (an uncaught exception: a bug to fix).
 */
export interface PrimaryEnd<Out extends Envelope, In extends Envelope> {
  /**
   * Queues `message` for the peer `peerId`. Resolves when it is handed to the socket (not when
   * the peer has read it); rejects with a `TransportError` if the peer is unreachable, the send
   * timed out, the queue is full or the transport is closed. One failure never blocks later sends.
   */
  send(peerId: string, message: Out): Promise<void>;
  /** Calls `handler` for every well-formed message from any peer. */
  onMessage(handler: (peerId: string, message: In) => void): Unsubscribe;
  /** Calls `handler` for every frame that was dropped because it is not a valid message. */
  onMalformed(handler: (peerId: string, reason: string) => void): Unsubscribe;
  /**
   * Calls `handler` when a peer becomes alive: its hello (every connect of a worker, so also a
   * restarted one) or its first message ever or since it was reported lost.
   */
  onPeerJoined(handler: (peerId: string) => void): Unsubscribe;
  /** Calls `handler` once when a live peer stops answering heartbeats. */
  onPeerLost(handler: (peerId: string, reason: PeerLostReason) => void): Unsubscribe;
  /** The peers heard from and not reported lost since, in the order they were first heard. */
  peers(): readonly string[];
  /** Stops heartbeats, rejects the sends still queued, closes the socket. Idempotent. */
  close(): Promise<void>;
}

/** A worker's end: it talks to the primary only. */
export interface WorkerEnd<Out extends Envelope, In extends Envelope> {
  /** This worker's routing id: the name the primary knows it by. */
  readonly routingId: string;
  /**
   * Queues `message` for the primary. Resolves when it is handed to the socket; rejects with a
   * `TransportError` on timeout, a full queue or after `close()`.
   */
  send(message: Out): Promise<void>;
  /** Calls `handler` for every well-formed message from the primary. */
  onMessage(handler: (message: In) => void): Unsubscribe;
  /** Calls `handler` for every frame that was dropped because it is not a valid message. */
  onMalformed(handler: (reason: string) => void): Unsubscribe;
  /** Rejects the sends still queued and closes the socket. Idempotent. */
  close(): Promise<void>;
}
