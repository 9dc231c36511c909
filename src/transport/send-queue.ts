/**
 * A serialized, batching send queue for one socket. zeromq.js allows one pending `send()` per
 * socket and, after a few hundred back-to-back sends, throws `EBUSY`; every send therefore goes
 * through here. Frames wait until the event loop's check phase (`setImmediate`), and then until
 * the pending send, if any, is done; each send hands over all the waiting frames bound for one
 * peer at once (one multipart ZeroMQ message). A send's fixed cost (a native call, a wake-up of
 * ZeroMQ's I/O thread, a syscall) is most of the cost of a small frame, and the frames of one
 * loop iteration (the answers that arrived together, each turn's report and next admit) would
 * otherwise each pay it; the wait is below one loop iteration.
 */
import { TRANSPORT_DEFAULTS } from './defaults.js';
import { TransportError } from './transport-error.js';

/** Options of a `SendQueue`. */
export interface SendQueueOptions {
  /** Messages the queue holds at most (waiting, not yet handed over). Default 100 000. */
  readonly maxQueuedMessages?: number;
  /** Frames handed over in one send at most. Default 256. */
  readonly maxBatchFrames?: number;
}

interface Entry<F> {
  readonly frame: F;
  readonly key: unknown;
  readonly resolve: () => void;
  readonly reject: (error: unknown) => void;
}

/** The queue bound `options` ask for, or the default; throws a `RangeError` unless a positive integer. */
export function checkQueueBound(maxQueuedMessages: number | undefined): number {
  return positiveInteger('maxQueuedMessages', maxQueuedMessages ?? TRANSPORT_DEFAULTS.maxQueuedMessages);
}

function positiveInteger(name: string, value: number): number {
  if (!Number.isSafeInteger(value) || value < 1) {
    throw new RangeError(`${name} must be a positive integer, got ${value}`);
  }
  return value;
}

/** Compact the backing array once this many handed-over slots sit before the head. */
const COMPACT_AFTER_ENTRIES = 1_024;
/**
 * Waiting entries a batch looks through for more frames to the same peer, at most: it bounds the
 * work of one batch when many peers' frames interleave.
 */
const SCAN_ENTRIES_PER_BATCH = 4_096;

/**
 * Hands frames to `sendBatch` one batch at a time. Frames with the same key (the same peer) keep
 * the order they were queued in, and one batch holds frames of one key only. Each `enqueue`
 * promise settles with its batch's outcome; a failed batch does not stop the ones after it.
 */
export class SendQueue<F> {
  private entries: (Entry<F> | undefined)[] = [];
  private head = 0;
  private waiting = 0;
  private draining = false;
  private closedWith: Error | undefined;
  private readonly maxQueuedMessages: number;
  private readonly maxBatchFrames: number;

  /**
   * @param sendBatch hands frames of one key over, in order; resolves once handed over.
   * @param keyOf the peer a frame is bound for (default: all frames share one key).
   */
  constructor(
    private readonly sendBatch: (frames: readonly F[]) => Promise<void>,
    options: SendQueueOptions = {},
    private readonly keyOf: (frame: F) => unknown = () => undefined,
  ) {
    this.maxQueuedMessages = checkQueueBound(options.maxQueuedMessages);
    this.maxBatchFrames = positiveInteger(
      'maxBatchFrames',
      options.maxBatchFrames ?? TRANSPORT_DEFAULTS.maxBatchFrames,
    );
  }

  /** Frames waiting to be handed over, not counting those being handed over now. */
  get length(): number {
    return this.waiting;
  }

  /**
   * Queues `frame`. Resolves when `sendBatch` resolved for its batch, rejects with its error;
   * rejects at once with `troupe:transport-queue-full` when the queue is full, or with the close
   * error.
   */
  enqueue(frame: F): Promise<void> {
    if (this.closedWith !== undefined) return Promise.reject(this.closedWith);
    if (this.waiting >= this.maxQueuedMessages) {
      return Promise.reject(
        new TransportError(
          'troupe:transport-queue-full',
          `the send queue already holds ${this.maxQueuedMessages} messages; the peer or the socket is not keeping up`,
        ),
      );
    }
    return new Promise<void>((resolve, reject) => {
      this.entries.push({ frame, key: this.keyOf(frame), resolve, reject });
      this.waiting += 1;
      if (!this.draining) {
        this.draining = true;
        setImmediate(() => void this.drain());
      }
    });
  }

  /** Rejects every frame not yet handed over with `error`, and every later `enqueue` too. */
  close(error: Error): void {
    if (this.closedWith !== undefined) return;
    this.closedWith = error;
    const waiting = this.entries.slice(this.head);
    this.entries = [];
    this.head = 0;
    this.waiting = 0;
    for (const entry of waiting) entry?.reject(error);
  }

  // Runs while entries remain; their number is bounded by maxQueuedMessages.
  private async drain(): Promise<void> {
    try {
      for (let batch = this.takeBatch(); batch.length > 0; batch = this.takeBatch()) {
        try {
          await this.sendBatch(batch.map((entry) => entry.frame));
          for (const entry of batch) entry.resolve();
        } catch (error) {
          for (const entry of batch) entry.reject(error);
        }
      }
    } finally {
      this.draining = false;
    }
  }

  /** Removes the oldest waiting frame and the next waiting ones with its key, up to a batch. */
  private takeBatch(): Entry<F>[] {
    while (this.head < this.entries.length && this.entries[this.head] === undefined) this.head += 1;
    const first = this.entries[this.head];
    if (first === undefined) {
      this.entries = [];
      this.head = 0;
      return [];
    }
    const batch = [first];
    this.entries[this.head] = undefined;
    this.head += 1;
    const scanEnd = Math.min(this.entries.length, this.head + SCAN_ENTRIES_PER_BATCH);
    for (let index = this.head; index < scanEnd && batch.length < this.maxBatchFrames; index += 1) {
      const entry = this.entries[index];
      if (entry === undefined || entry.key !== first.key) continue;
      batch.push(entry);
      this.entries[index] = undefined;
    }
    this.waiting -= batch.length;
    this.compact();
    return batch;
  }

  private compact(): void {
    if (this.head >= COMPACT_AFTER_ENTRIES && this.head * 2 >= this.entries.length) {
      this.entries = this.entries.slice(this.head);
      this.head = 0;
    }
  }
}
