import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { vi } from 'vitest';

import { PeerTable } from '../../src/transport/peer-table.js';
import { PrivateSocketDir } from '../../src/transport/private-socket-dir.js';

/** Things to close after each test, closed in reverse order of creation. */
export class Closer {
  private readonly items: (() => unknown)[] = [];

  /** Registers `item` and returns it. */
  add<T extends { close(): unknown }>(item: T): T {
    this.items.push(() => item.close());
    return item;
  }

  /** Registers a cleanup function. */
  defer(cleanup: () => unknown): void {
    this.items.push(cleanup);
  }

  /** Runs every cleanup, latest first, even if one throws. */
  async closeAll(): Promise<void> {
    const errors: unknown[] = [];
    for (const cleanup of this.items.splice(0).reverse()) {
      try {
        await cleanup();
      } catch (error) {
        errors.push(error);
      }
    }
    if (errors.length > 0) throw new AggregateError(errors, 'cleanup failed');
  }
}

/** An ipc endpoint named `name` in a fresh private socket directory (as troupe's own); the cleanup removes it. */
export async function privateIpcEndpoint(closer: Closer, name: string): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'troupe-zmq-'));
  closer.defer(() => rm(dir, { recursive: true, force: true }));
  return (await PrivateSocketDir.open(dir)).endpointFor(name);
}

/**
 * Counts the heartbeat ticks of every router in this process (a router runs its peer table's
 * `tick` once an interval), so that a test waits for heartbeats to pass rather than for time: on
 * a loaded machine that runs them late it waits longer instead of failing. Undone by `closer`.
 */
export function countHeartbeatTicks(closer: Closer): () => number {
  const tick = vi.spyOn(PeerTable.prototype, 'tick');
  closer.defer(() => tick.mockRestore());
  return () => tick.mock.calls.length;
}
