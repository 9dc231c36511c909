/**
 * A serialized send queue for one socket. zeromq.js allows one pending `send()` per socket and,
 * after a few hundred back-to-back sends, throws `EBUSY`; every send therefore goes through here.
 */
import { TRANSPORT_DEFAULTS } from './defaults.js';
import { TransportError } from './transport-error.js';

/** Options of a `SendQueue`. */
export interface SendQueueOptions {
  /** Messages the queue holds at most (waiting, not yet handed over). Default 100 000. */
  readonly maxQueuedMessages?: number;
}

interface Entry<F> {
  readonly frame: F;
  readonly resolve: () => void;
  readonly reject: (error: unknown) => void;
}

/** The queue bound `options` ask for, or the default; throws a `RangeError` unless a positive integer. */
export function checkQueueBound(maxQueuedMessages: number | undefined): number {
  const bound = maxQueuedMessages ?? TRANSPORT_DEFAULTS.maxQueuedMessages;
  if (!Number.isSafeInteger(bound) || bound < 1) {
    throw new RangeError(`maxQueuedMessages must be a positive integer, got ${bound}`);
  }
  return bound;
}

/** Compact the backing array once this many handed-over slots sit before the head. */
const COMPACT_AFTER_ENTRIES = 1_024;

/**
 * Hands frames to `sendFrame` one at a time, in the order they were queued. Each `enqueue`
 * promise settles with its own frame's outcome; a failed frame does not stop the ones after it.
 */
export class SendQueue<F> {
  private entries: (Entry<F> | undefined)[] = [];
  private head = 0;
  private draining = false;
  private closedWith: Error | undefined;
  private readonly maxQueuedMessages: number;

  constructor(
    private readonly sendFrame: (frame: F) => Promise<void>,
    options: SendQueueOptions = {},
  ) {
    this.maxQueuedMessages = checkQueueBound(options.maxQueuedMessages);
  }

  /** Frames waiting to be handed over, not counting the one being handed over now. */
  get length(): number {
    return this.entries.length - this.head;
  }

  /**
   * Queues `frame`. Resolves when `sendFrame` resolved for it, rejects with its error; rejects at
   * once with `troupe:transport-queue-full` when the queue is full, or with the close error.
   */
  enqueue(frame: F): Promise<void> {
    if (this.closedWith !== undefined) return Promise.reject(this.closedWith);
    if (this.length >= this.maxQueuedMessages) {
      return Promise.reject(
        new TransportError(
          'troupe:transport-queue-full',
          `the send queue already holds ${this.maxQueuedMessages} messages; the peer or the socket is not keeping up`,
        ),
      );
    }
    return new Promise<void>((resolve, reject) => {
      this.entries.push({ frame, resolve, reject });
      if (!this.draining) void this.drain();
    });
  }

  /** Rejects every frame not yet handed over with `error`, and every later `enqueue` too. */
  close(error: Error): void {
    if (this.closedWith !== undefined) return;
    this.closedWith = error;
    const waiting = this.entries.slice(this.head);
    this.entries = [];
    this.head = 0;
    for (const entry of waiting) entry?.reject(error);
  }

  // Runs while entries remain; their number is bounded by maxQueuedMessages.
  private async drain(): Promise<void> {
    this.draining = true;
    try {
      while (this.head < this.entries.length) {
        const entry = this.entries[this.head];
        this.entries[this.head] = undefined;
        this.head += 1;
        this.compact();
        if (entry === undefined) continue;
        try {
          await this.sendFrame(entry.frame);
          entry.resolve();
        } catch (error) {
          entry.reject(error);
        }
      }
    } finally {
      this.draining = false;
    }
  }

  private compact(): void {
    if (this.head >= COMPACT_AFTER_ENTRIES && this.head * 2 >= this.entries.length) {
      this.entries = this.entries.slice(this.head);
      this.head = 0;
    }
  }
}
