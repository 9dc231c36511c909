import { afterAll, beforeAll, beforeEach } from 'vitest';
import { BudgetStore } from '../../src/coordination/budget-store.js';
import type { AcquireRequest } from '../../src/coordination/budget-store.js';
import { StoreClient } from '../../src/coordination/store-client.js';
import { startRedisServer } from './redis-server.js';
import type { RedisServer } from './redis-server.js';

/** The scripts' timings in these tests: short participant TTL, one-minute window, 500 ms leases. */
export const TEST_TIMINGS = { participantTtlMs: 3_000, windowMs: 60_000, leaseUseMs: 500, burstMs: 500 };

/**
 * A request of `participant`'s `n`-th lease: one request at least, `want` more by default, and no
 * tokens or slots unless `over` says so.
 */
export function acquireRequest(
  participant: string,
  n: number,
  requestsPerMinute: number,
  wantRequests: number,
  over: Partial<AcquireRequest> = {},
): AcquireRequest {
  return {
    participant,
    limits: { requestsPerMinute },
    lease: `${participant}#${n}`,
    wantRequests,
    minRequests: 1,
    wantTokens: 0,
    minTokens: 0,
    slotsWanted: 0,
    slotsInUse: 0,
    adjustments: [],
    ...over,
  };
}

/**
 * A redis-server for the file (started before its tests, stopped after), one client to it, and a
 * budget store on a key of its own per test, so that no state carries over.
 */
export function useBudgetStores(keyPrefix: string): {
  readonly server: RedisServer;
  readonly client: StoreClient;
  readonly key: string;
  readonly store: BudgetStore;
} {
  let redis: RedisServer | undefined;
  let client: StoreClient | undefined;
  let store: BudgetStore | undefined;
  let key = '';
  let seq = 0;
  beforeAll(async () => {
    redis = await startRedisServer();
    client = new StoreClient({ url: redis.url });
  });
  afterAll(async () => {
    await client?.close();
    await redis?.close();
  });
  beforeEach(() => {
    key = `${keyPrefix}-${++seq}`;
    if (client) store = new BudgetStore(client, key, TEST_TIMINGS);
  });
  const started = <T>(value: T | undefined): T => {
    if (value === undefined) throw new Error('useBudgetStores: redis-server exists only while the tests run');
    return value;
  };
  return {
    get server() {
      return started(redis);
    },
    get client() {
      return started(client);
    },
    get key() {
      return key;
    },
    get store() {
      return started(store);
    },
  };
}
