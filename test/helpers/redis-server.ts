/** The real redis-server the tests start (the bench's launcher), and when a Redis test is skipped. */
import { findRedisServer } from '../../bench/lib/redis-server.js';

export { findRedisServer, startRedisServer } from '../../bench/lib/redis-server.js';
export type { RedisServer, StartRedisOptions } from '../../bench/lib/redis-server.js';

/** Why a Redis test is skipped: only without `redis-server` outside CI (in CI it runs and fails). */
export function skipWithoutRedis(): string | false {
  if (findRedisServer() !== undefined || process.env.CI) return false;
  return 'redis-server is not installed (Debian: apt-get install redis-server); skipped outside CI';
}
