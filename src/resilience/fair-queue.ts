/** An item of a `FairQueue`. */
export interface Queued {
  /** Unique among the queued items. */
  readonly id: string;
  /** Items of one group are served by priority; groups take turns. */
  readonly group: string;
  /** Higher is served first within its group; equal priorities are served in arrival order. */
  readonly priority: number;
}

/**
 * A queue that takes turns between groups (round-robin) and serves each group's items by priority.
 * Two jobs or models sharing a provider therefore both progress, whatever their sizes.
 */
export class FairQueue<T extends Queued> {
  private readonly groups = new Map<string, T[]>();
  private readonly groupOf = new Map<string, string>();
  /** Groups with items, in turn order; `cursor` points at the group whose turn it is. */
  private ring: string[] = [];
  private cursor = 0;

  /** Items queued. */
  get size(): number {
    return this.groupOf.size;
  }

  /** True if an item with this id is queued. */
  has(id: string): boolean {
    return this.groupOf.has(id);
  }

  /** Queues an item; throws if its id is already queued. */
  push(item: T): void {
    if (this.groupOf.has(item.id)) throw new Error(`"${item.id}" is already queued`);
    let items = this.groups.get(item.group);
    if (!items) {
      items = [];
      this.groups.set(item.group, items);
      this.ring.push(item.group);
    }
    // First position whose priority is lower: equal priorities keep their arrival order.
    let lo = 0;
    let hi = items.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (items[mid]!.priority >= item.priority) lo = mid + 1;
      else hi = mid;
    }
    items.splice(lo, 0, item);
    this.groupOf.set(item.id, item.group);
  }

  /** The item whose turn it is, without removing it. */
  peek(): T | undefined {
    const group = this.ring[this.cursor];
    return group === undefined ? undefined : this.groups.get(group)![0];
  }

  /** Removes and returns the item whose turn it is; the next group's turn comes next. */
  shift(): T | undefined {
    const group = this.ring[this.cursor];
    if (group === undefined) return undefined;
    const items = this.groups.get(group)!;
    const item = items.shift()!;
    this.groupOf.delete(item.id);
    if (items.length === 0) this.dropGroup(this.cursor);
    else this.cursor = (this.cursor + 1) % this.ring.length;
    return item;
  }

  /** Removes the item with this id; returns it, or undefined if it was not queued. */
  remove(id: string): T | undefined {
    const group = this.groupOf.get(id);
    if (group === undefined) return undefined;
    const items = this.groups.get(group)!;
    const index = items.findIndex((item) => item.id === id);
    const [item] = items.splice(index, 1);
    this.groupOf.delete(id);
    if (items.length === 0) this.dropGroup(this.ring.indexOf(group));
    return item;
  }

  private dropGroup(index: number): void {
    const [group] = this.ring.splice(index, 1);
    this.groups.delete(group!);
    if (index < this.cursor) this.cursor--;
    if (this.cursor >= this.ring.length) this.cursor = 0;
  }
}
