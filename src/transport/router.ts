/**
 * The primary's side of the boundary: one ZeroMQ ROUTER that every worker's DEALER connects to.
 *
 * A peer becomes known when its first message arrives; `DealerTransport` sends a
 * `transport:hello` as soon as it connects, so a worker is known before it says anything else.
 * Every live peer is pinged each `heartbeatIntervalMs`; one that leaves `heartbeatMisses` pings in
 * a row unanswered is reported through `onPeerLost`, once. A process that exits is better seen
 * through the cluster `exit` event; the pings are there to notice a process that hangs. Any later
 * message from a lost peer (the same routing id, e.g. a restarted worker) makes it alive again.
 */
import { Router } from 'zeromq';

import type { Envelope } from './codec.js';
import { TRANSPORT_DEFAULTS } from './defaults.js';
import type { MessageGuard, PrimaryEnd } from './ends.js';
import { PrimaryEndEvents } from './end-events.js';
import { parseEndpoint } from './endpoint.js';
import { IpcSocketFile } from './ipc-file.js';
import { joinEncoded } from './codec.js';
import { encodeControl, encodeOutbound, readInbound } from './frames.js';
import type { Inbound } from './frames.js';
import { receiveUntilClosed } from './receive-loop.js';
import { PeerTable } from './peer-table.js';
import { peerIdOf } from './routing-id.js';
import { checkQueueBound, SendQueue } from './send-queue.js';
import { sendFailure, systemCodeOf, TransportError } from './transport-error.js';

/** Options of `RouterTransport.bind`. */
export interface RouterOptions<In extends Envelope> {
  /** Time between heartbeat pings to each live peer, in milliseconds. Default 1 000. */
  readonly heartbeatIntervalMs?: number;
  /** Consecutive unanswered pings after which a peer is reported lost. Default 3. */
  readonly heartbeatMisses?: number;
  /**
   * How long one send may wait to be handed to ZeroMQ, in milliseconds; then it rejects and the
   * queue moves on. Meanwhile later sends, to any peer, wait behind it. Default 1 000.
   */
  readonly sendTimeoutMs?: number;
  /** Messages waiting in the send queue at most. Default 100 000. */
  readonly maxQueuedMessages?: number;
  /** How long ZeroMQ may keep delivering handed-over messages after `close()`, in milliseconds. Default 1 000. */
  readonly closeLingerMs?: number;
  /** Accept a non-loopback tcp endpoint. Default false: remote workers are not supported yet. */
  readonly allowRemote?: boolean;
  /** Checks each decoded message against the protocol; refused ones are malformed. Default: accept all. */
  readonly isMessage?: MessageGuard<In>;
}

/** One queued message: its body and the routing id frame of the peer it is for. */
interface Outbound {
  readonly peerId: string;
  readonly routingFrame: Buffer;
  readonly body: Buffer;
}

/** A bound ROUTER socket speaking to many workers; see the module comment. */
export class RouterTransport<Out extends Envelope, In extends Envelope>
  extends PrimaryEndEvents<In>
  implements PrimaryEnd<Out, In>
{
  private readonly queue: SendQueue<Outbound>;
  /** The routing id frame of every peer heard from, so that ids that are not text route back. */
  private readonly routingFrames = new Map<string, Buffer>();
  private readonly heartbeat: NodeJS.Timeout;
  private readonly receiving: Promise<void>;
  private pingSeq = 0;
  private closing: Promise<void> | undefined;

  /**
   * Binds a ROUTER on `endpoint`: `ipc://<path>` (in a `PrivateSocketDir`) or `tcp://127.0.0.1:<port>`,
   * where port 0 picks a free one; `endpoint` then reports it. Rejects with a `TransportError`
   * (`bad-endpoint`, `bind-failed`) if it cannot. (`override`: a class's static side inherits
   * `Function.prototype.bind`, which this name shadows, as it always did.)
   */
  static override async bind<Out extends Envelope, In extends Envelope>(
    endpoint: string,
    options: RouterOptions<In> = {},
  ): Promise<RouterTransport<Out, In>> {
    const parsed = parseEndpoint(endpoint, { role: 'bind', allowRemote: options.allowRemote ?? false });
    const heartbeatIntervalMs = options.heartbeatIntervalMs ?? TRANSPORT_DEFAULTS.heartbeatIntervalMs;
    if (!(heartbeatIntervalMs > 0)) {
      throw new RangeError(`heartbeatIntervalMs must be positive, got ${heartbeatIntervalMs}`);
    }
    // Every option is checked before the socket exists, so that a bad one cannot leak it.
    const table = new PeerTable(options.heartbeatMisses ?? TRANSPORT_DEFAULTS.heartbeatMisses);
    checkQueueBound(options.maxQueuedMessages);
    const socket = new Router({
      mandatory: true,
      handover: true,
      sendTimeout: options.sendTimeoutMs ?? TRANSPORT_DEFAULTS.sendTimeoutMs,
      linger: options.closeLingerMs ?? TRANSPORT_DEFAULTS.closeLingerMs,
      ipv6: parsed.kind === 'tcp' && parsed.ipv6,
    });
    try {
      await socket.bind(endpoint);
    } catch (error) {
      socket.close();
      const detail = systemCodeOf(error) ?? (error instanceof Error ? error.message : String(error));
      throw new TransportError(
        'troupe:transport-bind-failed',
        `cannot bind ${endpoint}: ${detail}${parsed.kind === 'ipc' ? ' (does the directory exist?)' : ''}`,
        undefined,
        error,
      );
    }
    const socketFile = parsed.kind === 'ipc' ? await IpcSocketFile.identify(parsed.path) : undefined;
    const bound = socket.lastEndpoint ?? endpoint;
    return new RouterTransport<Out, In>(socket, bound, table, heartbeatIntervalMs, socketFile, options);
  }

  private constructor(
    private readonly socket: Router,
    /** The bound endpoint, with the port the system picked for `tcp://…:0`. */
    readonly endpoint: string,
    table: PeerTable,
    heartbeatIntervalMs: number,
    private readonly socketFile: IpcSocketFile | undefined,
    private readonly options: RouterOptions<In>,
  ) {
    super(table);
    this.queue = new SendQueue<Outbound>(
      (batch) => this.sendBatch(batch),
      options,
      (outbound) => outbound.peerId,
    );
    this.heartbeat = setInterval(() => this.beat(), heartbeatIntervalMs);
    // The receive loop keeps the process alive while the socket is open; the timer need not.
    this.heartbeat.unref();
    this.receiving = receiveUntilClosed(
      this.socket,
      () => this.closing !== undefined,
      (frames) => this.dispatch(frames),
    );
  }

  send(peerId: string, message: Out): Promise<void> {
    if (this.closing !== undefined) return Promise.reject(this.closedError(peerId));
    let body: Buffer;
    try {
      body = encodeOutbound(message, peerId);
    } catch (error) {
      return Promise.reject(error);
    }
    return this.enqueue(peerId, body);
  }

  /** Also removes the ipc socket file this router created, unless another socket has bound the path since. */
  close(): Promise<void> {
    this.closing ??= this.shutdown();
    return this.closing;
  }

  private async shutdown(): Promise<void> {
    clearInterval(this.heartbeat);
    this.queue.close(this.closedError(undefined));
    this.socket.close();
    await this.receiving;
    await this.socketFile?.remove();
  }

  private enqueue(peerId: string, body: Buffer): Promise<void> {
    const routingFrame = this.routingFrames.get(peerId) ?? Buffer.from(peerId, 'utf8');
    return this.queue
      .enqueue({ peerId, routingFrame, body })
      .catch((error: unknown) => Promise.reject(sendFailure(error, peerId, this.closing !== undefined)));
  }

  /**
   * One batch is bound for one peer: one ZeroMQ message of its routing id and one frame of every
   * body back to back (zeromq.js pays per frame: a reference, a release on the main thread).
   */
  private sendBatch(batch: readonly Outbound[]): Promise<void> {
    const [first] = batch;
    if (first === undefined) return Promise.resolve();
    return this.socket.send([first.routingFrame, joinEncoded(batch.map((outbound) => outbound.body))]);
  }

  private beat(): void {
    const { ping, lost } = this.table.tick();
    for (const peerId of lost) this.reportLost(peerId);
    for (const peerId of ping) {
      this.pingSeq += 1;
      const sent = (): void => this.table.pingSent(peerId);
      // A failed ping (the peer is gone) is left unanswered like any other, and counts as missed.
      this.enqueue(peerId, encodeControl({ type: 'transport:ping', seq: this.pingSeq })).then(sent, sent);
    }
  }

  private dispatch([routingFrame, ...bodies]: Buffer[]): void {
    if (routingFrame === undefined) return;
    const peerId = peerIdOf(routingFrame);
    if (bodies.length === 0) this.reportMalformed(peerId, 'a message with no body frame');
    for (const body of bodies) {
      for (const inbound of readInbound(body, this.options.isMessage))
        this.dispatchOne(peerId, routingFrame, inbound);
    }
  }

  private dispatchOne(peerId: string, routingFrame: Buffer, inbound: Inbound<In>): void {
    if (inbound.kind !== 'malformed' && !this.routingFrames.has(peerId)) {
      this.routingFrames.set(peerId, routingFrame);
    }
    this.receiveInbound(peerId, inbound);
  }

  private closedError(peerId: string | undefined): TransportError {
    return new TransportError(
      'troupe:transport-closed',
      `the transport on ${this.endpoint} is closed`,
      peerId,
    );
  }
}
