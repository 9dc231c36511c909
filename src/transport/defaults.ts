/** Defaults of the transport's options, in one place. */
export const TRANSPORT_DEFAULTS = {
  /** Time between two heartbeat pings from the primary to each live peer, in milliseconds. */
  heartbeatIntervalMs: 1_000,
  /** Consecutive unanswered pings after which a peer is reported lost. */
  heartbeatMisses: 3,
  /**
   * How long one send may wait to be handed to ZeroMQ, in milliseconds. Without it a send to a
   * ROUTER with no peer at all, or to a peer at its high-water mark, would wait forever.
   */
  sendTimeoutMs: 1_000,
  /** Messages a socket's send queue holds at most before `send` rejects with `queue-full`. */
  maxQueuedMessages: 100_000,
  /** Messages one ZeroMQ send carries at most (frames queued while a send was pending go together). */
  maxBatchFrames: 256,
  /** How long `close()` lets ZeroMQ keep delivering messages already handed to it, in milliseconds. */
  closeLingerMs: 1_000,
} as const;
