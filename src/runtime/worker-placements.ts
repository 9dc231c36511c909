/**
 * Which worker hosts each placed sequence actor, with a count per worker kept beside it so
 * that choosing the least loaded worker costs the number of workers, not of sequences.
 */
import type { ActorRef } from '../actors/nact.js';
import type { SequenceKey, SequenceReport } from '../transport/protocol.js';

/** A sequence actor placed on the workers, as the primary's proxy for it knows it. */
export interface Placed {
  readonly key: SequenceKey;
  readonly job: string;
  readonly model: string;
  readonly sequence: string;
  readonly firstRun: number;
  readonly runs: number;
  readonly replyTo: ActorRef<SequenceReport>;
  /** The worker hosting it now; undefined while it waits for one. Changed by `PlacementTable.move`. */
  worker: string | undefined;
  started: boolean;
  /**
   * The last of `stop-work` or `drain` it was told: then it is never spawned again (say on a
   * worker that replaces a dead one), or it would run again for a job cancelled or shutting down.
   */
  halted: 'stop-work' | 'drain' | undefined;
}

/** The placed sequences, by key, and how many each worker hosts. */
export class PlacementTable {
  private readonly byKey = new Map<SequenceKey, Placed>();
  private readonly hosted = new Map<string, number>();
  private placedCount = 0;
  private mostPlacedCount = 0;

  /** Sequence actors placed so far, in all. */
  get placed(): number {
    return this.placedCount;
  }

  /** The most sequence actors placed at once so far. */
  get mostPlaced(): number {
    return this.mostPlacedCount;
  }

  /** The placed sequence of `key`, if it is still placed. */
  get(key: SequenceKey): Placed | undefined {
    return this.byKey.get(key);
  }

  /** True while `placed` (this very placement, not a later one of the same key) is in the table. */
  holds(placed: Placed): boolean {
    return this.byKey.get(placed.key) === placed;
  }

  /** Adds a sequence, on no worker yet. */
  add(placed: Placed): void {
    this.byKey.set(placed.key, placed);
    this.placedCount += 1;
    this.mostPlacedCount = Math.max(this.mostPlacedCount, this.byKey.size);
  }

  /** Forgets a sequence (and the worker that hosted it counts one less). */
  remove(placed: Placed): void {
    this.move(placed, undefined);
    this.byKey.delete(placed.key);
  }

  /** Records that `placed` runs on `worker` now (or nowhere), keeping the counts in step. */
  move(placed: Placed, worker: string | undefined): void {
    if (placed.worker !== undefined)
      this.hosted.set(placed.worker, (this.hosted.get(placed.worker) ?? 1) - 1);
    if (worker !== undefined) this.hosted.set(worker, (this.hosted.get(worker) ?? 0) + 1);
    placed.worker = worker;
  }

  /** Sequences hosted by `worker` now. */
  countOn(worker: string): number {
    return this.hosted.get(worker) ?? 0;
  }

  /** The first worker of `ready` (in its order) hosting the fewest sequences, if any. */
  leastLoaded(ready: readonly string[]): string | undefined {
    let best: string | undefined;
    let bestLoad = Number.POSITIVE_INFINITY;
    for (const worker of ready) {
      const load = this.countOn(worker);
      if (load < bestLoad) {
        best = worker;
        bestLoad = load;
      }
    }
    return best;
  }

  /** The sequences for which `include` holds, as a list (safe to change the table while walking it). */
  select(include: (placed: Placed) => boolean): Placed[] {
    return [...this.byKey.values()].filter(include);
  }
}
