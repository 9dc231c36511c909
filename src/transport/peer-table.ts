/**
 * Which peers are alive, driven by heartbeat ticks rather than a clock, so that it is tested
 * without sleeping. Any well-formed message from a peer is a sign of life, not only a pong.
 */

/** What one heartbeat tick decided. */
export interface HeartbeatTick {
  /** Live peers to ping now. */
  readonly ping: readonly string[];
  /** Peers that just missed their last allowed pong, each reported once. */
  readonly lost: readonly string[];
}

interface PeerState {
  alive: boolean;
  /** Consecutive pings handed over without a sign of life since. */
  missed: number;
  /** `queued`: a ping waits in the send queue; it counts as missed only once handed over. */
  ping: 'none' | 'queued' | 'sent';
}

/** The liveness of every peer a router has heard from. */
export class PeerTable {
  private readonly states = new Map<string, PeerState>();

  constructor(
    /** Consecutive unanswered pings after which a peer is lost (at least 1). */
    private readonly heartbeatMisses: number,
  ) {
    if (!Number.isSafeInteger(heartbeatMisses) || heartbeatMisses < 1) {
      throw new RangeError(`heartbeatMisses must be a positive integer, got ${heartbeatMisses}`);
    }
  }

  /**
   * A well-formed message (a hello when `hello`) arrived from `peerId`. Returns true if the peer
   * joined: never heard before, lost before, or announcing a new connection with a hello.
   */
  heard(peerId: string, hello: boolean): boolean {
    const state = this.states.get(peerId);
    if (state === undefined) {
      this.states.set(peerId, { alive: true, missed: 0, ping: 'none' });
      return true;
    }
    const joined = hello || !state.alive;
    state.alive = true;
    state.missed = 0;
    if (state.ping === 'sent') state.ping = 'none';
    return joined;
  }

  /**
   * One heartbeat interval passed: a peer whose ping was handed over and not answered misses one;
   * a peer that missed `heartbeatMisses` is lost; every other live peer without a ping waiting
   * in the queue is pinged again.
   */
  tick(): HeartbeatTick {
    const ping: string[] = [];
    const lost: string[] = [];
    for (const [peerId, state] of this.states) {
      if (!state.alive) continue;
      if (state.ping === 'sent') {
        state.missed += 1;
        if (state.missed >= this.heartbeatMisses) {
          this.markLost(peerId);
          lost.push(peerId);
          continue;
        }
      }
      if (state.ping !== 'queued') {
        state.ping = 'queued';
        ping.push(peerId);
      }
    }
    return { ping, lost };
  }

  /** The ping to `peerId` left the queue (handed to the socket, or failed: both await an answer). */
  pingSent(peerId: string): void {
    const state = this.states.get(peerId);
    if (state?.ping === 'queued') state.ping = 'sent';
  }

  /** Marks `peerId` lost. Returns true if it was alive. */
  markLost(peerId: string): boolean {
    const state = this.states.get(peerId);
    if (state === undefined || !state.alive) return false;
    state.alive = false;
    state.missed = 0;
    state.ping = 'none';
    return true;
  }

  /** True if `peerId` was heard from and not lost since. */
  isAlive(peerId: string): boolean {
    return this.states.get(peerId)?.alive ?? false;
  }

  /** The live peers, in the order they were first heard. */
  alive(): string[] {
    const result: string[] = [];
    for (const [peerId, state] of this.states) if (state.alive) result.push(peerId);
    return result;
  }
}
