/**
 * An in-memory stand-in for the ZeroMQ transports: a primary end and one worker end in the same
 * process, so that the worker's core and the primary's proxies are unit-tested without sockets.
 *
 * It stays faithful where it matters: messages are msgpack-encoded and decoded (a value that
 * does not survive the wire does not survive here), delivered asynchronously and in order, a
 * worker end announces itself with a hello, and a dead peer makes the primary's sends reject
 * with `troupe:transport-unreachable`. There are no heartbeats: `dropPeer()` reports the loss.
 */
import type { Envelope } from '../../src/transport/codec.js';
import { PrimaryEndEvents, WorkerEndEvents } from '../../src/transport/end-events.js';
import type { MessageGuard, PrimaryEnd, WorkerEnd } from '../../src/transport/ends.js';
import { encodeControl, encodeOutbound, readInbound } from '../../src/transport/frames.js';
import { PeerTable } from '../../src/transport/peer-table.js';
import { TransportError } from '../../src/transport/transport-error.js';

/** Options of `createInMemoryPair`. */
export interface InMemoryPairOptions<A extends Envelope, B extends Envelope> {
  /** The worker end's routing id. Default `worker-1`. */
  readonly peerId?: string;
  /** Checks what arrives at the worker end. Default: accept every envelope. */
  readonly isWorkerMessage?: MessageGuard<A>;
  /** Checks what arrives at the primary end. Default: accept every envelope. */
  readonly isPrimaryMessage?: MessageGuard<B>;
}

/** A primary end and its worker end; `A` flows primary → worker, `B` worker → primary. */
export interface InMemoryPair<A extends Envelope, B extends Envelope> {
  readonly primary: InMemoryPrimaryEnd<A, B>;
  /** The worker end created with the pair (see `restartPeer` for its successors). */
  readonly worker: InMemoryWorkerEnd<B, A>;
  /**
   * Simulates the worker process dying: its end stops receiving and its sends reject with
   * `troupe:transport-closed`, the primary's sends to it reject with `troupe:transport-unreachable`,
   * and the primary reports it through `onPeerLost` (as its heartbeat eventually would).
   */
  dropPeer(): void;
  /**
   * Simulates a restarted worker with the same routing id: the current worker end dies (without
   * a loss report), and a new one is returned; its hello makes the peer join again.
   */
  restartPeer(): InMemoryWorkerEnd<B, A>;
}

/** The default routing id of the in-memory worker end. */
export const DEFAULT_IN_MEMORY_PEER_ID = 'worker-1';

/** Creates a connected primary end and worker end; see `InMemoryPair`. */
export function createInMemoryPair<A extends Envelope, B extends Envelope>(
  options: InMemoryPairOptions<A, B> = {},
): InMemoryPair<A, B> {
  const peerId = options.peerId ?? DEFAULT_IN_MEMORY_PEER_ID;
  const primary = new InMemoryPrimaryEnd<A, B>(peerId, options.isPrimaryMessage);
  const spawnWorker = (): InMemoryWorkerEnd<B, A> => {
    const worker = new InMemoryWorkerEnd<B, A>(peerId, primary, options.isWorkerMessage);
    primary.attach(worker);
    return worker;
  };
  const worker = spawnWorker();
  return {
    primary,
    worker,
    dropPeer: () => primary.dropPeer(),
    restartPeer: () => {
      primary.detach();
      return spawnWorker();
    },
  };
}

/** Something an in-memory end can hand a frame to. */
interface FrameSink {
  /** @internal What arrived, read at once. */
  receive(frame: Buffer): void;
  readonly closed: boolean;
}

/**
 * Hands `frame` to `sink` on a later turn of the event loop, after the frames handed to it before,
 * as a socket would; a sink closed by then never sees it.
 */
function deliver(sink: FrameSink, frame: Uint8Array): void {
  const copy = Buffer.from(frame);
  setImmediate(() => {
    if (!sink.closed) sink.receive(copy);
  });
}

/** The primary end of an in-memory pair; it has exactly one peer. */
export class InMemoryPrimaryEnd<Out extends Envelope, In extends Envelope>
  extends PrimaryEndEvents<In>
  implements PrimaryEnd<Out, In>, FrameSink
{
  private worker: (FrameSink & { die(): void }) | undefined;
  private isClosed = false;

  /** @internal Use `createInMemoryPair`. */
  constructor(
    private readonly peerId: string,
    private readonly isMessage: MessageGuard<In> | undefined,
  ) {
    super(new PeerTable(1));
  }

  /** True once `close()` was called. */
  get closed(): boolean {
    return this.isClosed;
  }

  send(peerId: string, message: Out): Promise<void> {
    if (this.isClosed) {
      return Promise.reject(
        new TransportError('troupe:transport-closed', 'the in-memory primary end is closed', peerId),
      );
    }
    let body: Buffer;
    try {
      body = encodeOutbound(message, peerId);
    } catch (error) {
      return Promise.reject(error);
    }
    const worker = this.worker;
    if (peerId !== this.peerId || worker === undefined || worker.closed) {
      return Promise.reject(
        new TransportError(
          'troupe:transport-unreachable',
          `send to ${peerId}: the peer is not connected`,
          peerId,
        ),
      );
    }
    deliver(worker, body);
    return Promise.resolve();
  }

  close(): Promise<void> {
    this.isClosed = true;
    return Promise.resolve();
  }

  /** Delivers `frame` to this end as if the worker had sent it (e.g. garbage, to test `onMalformed`). */
  injectRaw(frame: Uint8Array): void {
    deliver(this, frame);
  }

  /** @internal */
  attach(worker: FrameSink & { die(): void }): void {
    this.worker = worker;
  }

  /** @internal */
  detach(): void {
    this.worker?.die();
    this.worker = undefined;
  }

  /** @internal */
  dropPeer(): void {
    this.detach();
    // After the frames already in flight, like a heartbeat that expires later.
    setImmediate(() => {
      if (!this.isClosed && this.table.markLost(this.peerId)) this.reportLost(this.peerId);
    });
  }

  /** @internal */
  receive(frame: Buffer): void {
    for (const inbound of readInbound(frame, this.isMessage)) this.receiveInbound(this.peerId, inbound);
  }
}

/** The worker end of an in-memory pair. */
export class InMemoryWorkerEnd<Out extends Envelope, In extends Envelope>
  extends WorkerEndEvents<In>
  implements WorkerEnd<Out, In>, FrameSink
{
  private isClosed = false;
  private dead = false;

  /** @internal Use `createInMemoryPair`. */
  constructor(
    readonly routingId: string,
    private readonly primary: FrameSink,
    private readonly isMessage: MessageGuard<In> | undefined,
  ) {
    super();
    deliver(primary, encodeControl({ type: 'transport:hello' }));
  }

  /** True once closed, or dead through `dropPeer` / `restartPeer`. */
  get closed(): boolean {
    return this.isClosed || this.dead;
  }

  send(message: Out): Promise<void> {
    if (this.closed) {
      const why = this.dead ? 'its simulated process is dead' : 'it is closed';
      return Promise.reject(
        new TransportError('troupe:transport-closed', `the in-memory worker end: ${why}`),
      );
    }
    let body: Buffer;
    try {
      body = encodeOutbound(message);
    } catch (error) {
      return Promise.reject(error);
    }
    // A DEALER hands a message over even when the primary is gone; so does this end.
    if (!this.primary.closed) deliver(this.primary, body);
    return Promise.resolve();
  }

  close(): Promise<void> {
    this.isClosed = true;
    return Promise.resolve();
  }

  /** Delivers `frame` to this end as if the primary had sent it (e.g. garbage, to test `onMalformed`). */
  injectRaw(frame: Uint8Array): void {
    deliver(this, frame);
  }

  /** @internal */
  die(): void {
    this.dead = true;
  }

  /** @internal */
  receive(frame: Buffer): void {
    const pong = (seq: number): void => {
      if (!this.primary.closed) deliver(this.primary, encodeControl({ type: 'transport:pong', seq }));
    };
    for (const inbound of readInbound(frame, this.isMessage)) this.receiveInbound(inbound, pong);
  }
}
