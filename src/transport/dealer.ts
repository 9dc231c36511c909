/**
 * A worker's side of the boundary: one ZeroMQ DEALER connected to the primary's ROUTER, under a
 * stable routing id (the worker id), so that a restarted worker takes its predecessor's place.
 *
 * On connect it sends `transport:hello`, which makes the router know this worker before the
 * worker's own first message. It answers the router's `transport:ping` with `transport:pong`
 * by itself; neither reaches `onMessage`. A worker whose event loop is blocked for longer than
 * the router's `heartbeatMisses × heartbeatIntervalMs` is therefore reported lost.
 */
import { Dealer } from 'zeromq';

import type { Envelope } from './codec.js';
import type { ControlMessage } from './control.js';
import { TRANSPORT_DEFAULTS } from './defaults.js';
import type { MessageGuard, WorkerEnd } from './ends.js';
import { WorkerEndEvents } from './end-events.js';
import { parseEndpoint } from './endpoint.js';
import { joinEncoded } from './codec.js';
import { encodeControl, encodeOutbound, readInbound } from './frames.js';
import type { Inbound } from './frames.js';
import { receiveUntilClosed } from './receive-loop.js';
import { checkRoutingId } from './routing-id.js';
import { checkQueueBound, SendQueue } from './send-queue.js';
import { sendFailure, TransportError } from './transport-error.js';

/** Options of `DealerTransport.connect`. */
export interface DealerOptions<In extends Envelope> {
  /** The worker's id, 1–255 bytes, not starting with a zero byte; the router names the peer by it. Required. */
  readonly routingId: string;
  /**
   * How long one send may wait to be handed to ZeroMQ, in milliseconds (it waits only when
   * 1 000 messages already wait for a primary that does not read them). Default 1 000.
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

/** A DEALER socket connected to the primary; see the module comment. */
export class DealerTransport<Out extends Envelope, In extends Envelope>
  extends WorkerEndEvents<In>
  implements WorkerEnd<Out, In>
{
  private readonly queue: SendQueue<Buffer>;
  private readonly receiving: Promise<void>;
  private closing: Promise<void> | undefined;

  /**
   * Connects to the router at `endpoint` and queues the hello. ZeroMQ connects in the
   * background and reconnects by itself, so this does not wait for the router to be up.
   * Rejects with a `TransportError` (`bad-endpoint`, `bad-routing-id`) if it cannot start.
   */
  static async connect<Out extends Envelope, In extends Envelope>(
    endpoint: string,
    options: DealerOptions<In>,
  ): Promise<DealerTransport<Out, In>> {
    const parsed = parseEndpoint(endpoint, { role: 'connect', allowRemote: options.allowRemote ?? false });
    checkRoutingId(options.routingId);
    checkQueueBound(options.maxQueuedMessages);
    const socket = new Dealer({
      routingId: options.routingId,
      sendTimeout: options.sendTimeoutMs ?? TRANSPORT_DEFAULTS.sendTimeoutMs,
      linger: options.closeLingerMs ?? TRANSPORT_DEFAULTS.closeLingerMs,
      ipv6: parsed.kind === 'tcp' && parsed.ipv6,
    });
    try {
      socket.connect(endpoint);
    } catch (error) {
      socket.close();
      throw new TransportError(
        'troupe:transport-bad-endpoint',
        `cannot connect to ${endpoint}: ${error instanceof Error ? error.message : String(error)}`,
        undefined,
        error,
      );
    }
    return new DealerTransport<Out, In>(socket, endpoint, options);
  }

  /** The worker's routing id. */
  readonly routingId: string;

  private constructor(
    private readonly socket: Dealer,
    /** The router's endpoint this dealer connects to. */
    readonly endpoint: string,
    private readonly options: DealerOptions<In>,
  ) {
    super();
    this.routingId = options.routingId;
    // A batch leaves as one frame: zeromq.js pays per frame (a reference, a release on the main thread).
    this.queue = new SendQueue<Buffer>((bodies) => this.socket.send(joinEncoded(bodies)), options);
    this.sendControl({ type: 'transport:hello' });
    this.receiving = receiveUntilClosed(
      this.socket,
      () => this.closing !== undefined,
      (frames) => this.dispatch(frames),
    );
  }

  send(message: Out): Promise<void> {
    if (this.closing !== undefined) return Promise.reject(this.closedError());
    let body: Buffer;
    try {
      body = encodeOutbound(message);
    } catch (error) {
      return Promise.reject(error);
    }
    return this.queue
      .enqueue(body)
      .catch((error: unknown) => Promise.reject(sendFailure(error, undefined, this.closing !== undefined)));
  }

  close(): Promise<void> {
    this.closing ??= this.shutdown();
    return this.closing;
  }

  private async shutdown(): Promise<void> {
    this.queue.close(this.closedError());
    this.socket.close();
    await this.receiving;
  }

  // A lost hello or pong needs no report: the router's heartbeat notices a worker it cannot hear.
  private sendControl(message: ControlMessage): void {
    this.queue.enqueue(encodeControl(message)).catch(() => undefined);
  }

  private dispatch(bodies: readonly Buffer[]): void {
    if (bodies.length === 0) this.reportMalformed('a message with no body frame');
    for (const body of bodies)
      for (const inbound of readInbound(body, this.options.isMessage)) this.dispatchOne(inbound);
  }

  private dispatchOne(inbound: Inbound<In>): void {
    this.receiveInbound(inbound, (seq) => this.sendControl({ type: 'transport:pong', seq }));
  }

  private closedError(): TransportError {
    return new TransportError('troupe:transport-closed', `the transport to ${this.endpoint} is closed`);
  }
}
