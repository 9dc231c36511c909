/**
 * The events of each end of the boundary, and the rules by which an inbound frame becomes them.
 * The ZeroMQ ends and the in-memory pair of the tests both extend these, so the two cannot
 * drift apart on what a hello, a ping or a malformed frame means.
 */
import type { Envelope } from './codec.js';
import type { PeerLostReason, Unsubscribe } from './ends.js';
import type { Inbound } from './frames.js';
import { Listeners } from './listeners.js';
import type { PeerTable } from './peer-table.js';

/** The primary end's listeners and its rule for what a peer sent; see `PrimaryEnd`. */
export abstract class PrimaryEndEvents<In extends Envelope> {
  private readonly messageListeners = new Listeners<[peerId: string, message: In]>();
  private readonly malformedListeners = new Listeners<[peerId: string, reason: string]>();
  private readonly joinedListeners = new Listeners<[peerId: string]>();
  private readonly lostListeners = new Listeners<[peerId: string, reason: PeerLostReason]>();

  protected constructor(protected readonly table: PeerTable) {}

  onMessage(handler: (peerId: string, message: In) => void): Unsubscribe {
    return this.messageListeners.add(handler);
  }

  onMalformed(handler: (peerId: string, reason: string) => void): Unsubscribe {
    return this.malformedListeners.add(handler);
  }

  onPeerJoined(handler: (peerId: string) => void): Unsubscribe {
    return this.joinedListeners.add(handler);
  }

  onPeerLost(handler: (peerId: string, reason: PeerLostReason) => void): Unsubscribe {
    return this.lostListeners.add(handler);
  }

  peers(): readonly string[] {
    return this.table.alive();
  }

  protected reportLost(peerId: string): void {
    this.lostListeners.emit(peerId, 'heartbeat');
  }

  protected reportMalformed(peerId: string, reason: string): void {
    this.malformedListeners.emit(peerId, reason);
  }

  /**
   * What one inbound frame of `peerId` means: a hello (or any first word) makes the peer join,
   * a pong only keeps it alive, a ping is a protocol error (the primary is never pinged), and a
   * message reaches `onMessage`.
   */
  protected receiveInbound(peerId: string, inbound: Inbound<In>): void {
    if (inbound.kind === 'malformed') {
      this.reportMalformed(peerId, inbound.reason);
      return;
    }
    if (inbound.kind === 'control') {
      const { control } = inbound;
      if (control.type === 'transport:ping') {
        this.reportMalformed(peerId, 'a transport:ping sent to the primary');
      } else if (this.table.heard(peerId, control.type === 'transport:hello')) {
        this.joinedListeners.emit(peerId);
      }
      return;
    }
    if (this.table.heard(peerId, false)) this.joinedListeners.emit(peerId);
    this.messageListeners.emit(peerId, inbound.message);
  }
}

/** A worker end's listeners and its rule for what the primary sent; see `WorkerEnd`. */
export abstract class WorkerEndEvents<In extends Envelope> {
  private readonly messageListeners = new Listeners<[message: In]>();
  private readonly malformedListeners = new Listeners<[reason: string]>();

  onMessage(handler: (message: In) => void): Unsubscribe {
    return this.messageListeners.add(handler);
  }

  onMalformed(handler: (reason: string) => void): Unsubscribe {
    return this.malformedListeners.add(handler);
  }

  protected reportMalformed(reason: string): void {
    this.malformedListeners.emit(reason);
  }

  /**
   * What one inbound frame means: a ping is answered through `pong` and never reaches
   * `onMessage`, any other control message is a protocol error, a message reaches `onMessage`.
   */
  protected receiveInbound(inbound: Inbound<In>, pong: (seq: number) => void): void {
    if (inbound.kind === 'malformed') {
      this.reportMalformed(inbound.reason);
      return;
    }
    if (inbound.kind === 'control') {
      const { control } = inbound;
      if (control.type === 'transport:ping') pong(control.seq);
      else this.reportMalformed(`a ${control.type} sent to a worker`);
      return;
    }
    this.messageListeners.emit(inbound.message);
  }
}
