/**
 * The coordination store's client: one ioredis connection per store URL, its scripts, and
 * errors turned into data (`troupe:coordination-*`) whose messages never hold the password.
 */
import { createRequire } from 'node:module';
import type * as IoRedis from 'ioredis';
import type { Redis } from 'ioredis';
import type { StoreAddress } from './config.js';
import { parseStoreUrl } from './config.js';
import {
  STORE_COMMAND_TIMEOUT_MS,
  STORE_CONNECT_TIMEOUT_MS,
  STORE_RECONNECT_BASE_MS,
  STORE_RECONNECT_MAX_MS,
} from './defaults.js';
import { ACQUIRE_SCRIPT } from './lua/acquire.js';
import { STATUS_SCRIPT } from './lua/status.js';

/** Why a call to the coordination store failed. */
export type CoordinationErrorCode =
  /** Not reachable: refused, unknown host, timed out, connection lost. Retried. */
  | 'troupe:coordination-unreachable'
  /** The store refused the password (or asked for one that was not given). */
  | 'troupe:coordination-auth'
  /** The store answered with an error (a script error, a wrong database). */
  | 'troupe:coordination-failed';

/** A failed call, as data: `message` names the store by its URL, never its password. */
export interface CoordinationError {
  readonly code: CoordinationErrorCode;
  readonly message: string;
}

/** What connecting to a store needs. */
export interface StoreClientOptions {
  /** `redis://host:port/db` or `rediss://…`, as `parseStoreUrl` accepts it. */
  readonly url: string;
  /** The password, if the store needs one. Never logged, never in a message. */
  readonly password?: string;
  /** Name of the connection in the store's `CLIENT LIST`. */
  readonly connectionName?: string;
}

const AUTH_REPLY = /\b(NOAUTH|WRONGPASS)\b|without any password configured|invalid password/i;
const UNREACHABLE = new Set([
  'ECONNREFUSED',
  'ENOTFOUND',
  'EAI_AGAIN',
  'ETIMEDOUT',
  'ECONNRESET',
  'EHOSTUNREACH',
]);
const UNREACHABLE_MESSAGE =
  /Connection is closed|Stream isn't writeable|Command timed out|connect ETIMEDOUT|enableOfflineQueue|Reached the max retries/i;

interface ScriptCommands {
  troupeAcquire(...args: (string | number)[]): Promise<unknown>;
  troupeStatus(...args: (string | number)[]): Promise<unknown>;
}

const require = createRequire(import.meta.url);

/**
 * ioredis, loaded when the first store client is made: most suites share no limits, and loading it
 * costs about 100 ms of CPU on every daemon start, before the resumed jobs' first requests.
 * It is CommonJS, so a synchronous require loads it on the spot.
 */
function redisClass(): typeof IoRedis.Redis {
  return (require('ioredis') as typeof IoRedis).Redis;
}

/** A connection to one coordination store. Calls reject with a `CoordinationFailure`. */
export class StoreClient {
  private readonly redis: Redis & ScriptCommands;
  private readonly address: StoreAddress;
  /** The last connection error, for `lastError`. */
  private lastConnectionError: CoordinationError | undefined;

  constructor(private readonly options: StoreClientOptions) {
    const address = parseStoreUrl(options.url);
    if (typeof address === 'string') throw new Error(`coordination store URL: ${address}`);
    this.address = address;
    const RedisClient = redisClass();
    this.redis = new RedisClient({
      host: address.host,
      port: address.port,
      db: address.db,
      ...(address.username !== undefined && { username: address.username }),
      ...(options.password !== undefined && { password: options.password }),
      ...(address.tls && { tls: { servername: address.host } }),
      ...(options.connectionName !== undefined && { connectionName: options.connectionName }),
      lazyConnect: true,
      // While the store is away a call fails at once; the caller decides when to ask again.
      enableOfflineQueue: false,
      maxRetriesPerRequest: 0,
      commandTimeout: STORE_COMMAND_TIMEOUT_MS,
      connectTimeout: STORE_CONNECT_TIMEOUT_MS,
      retryStrategy: (times) => Math.min(STORE_RECONNECT_MAX_MS, STORE_RECONNECT_BASE_MS * 2 ** (times - 1)),
      // A wrong password is not cured by reconnecting: stop and say so.
      reconnectOnError: () => false,
    }) as Redis & ScriptCommands;
    // Without a listener ioredis prints every connection error itself.
    this.redis.on('error', (error: unknown) => {
      this.lastConnectionError = this.describe(error);
    });
    this.redis.on('ready', () => {
      this.lastConnectionError = undefined;
    });
    this.redis.defineCommand('troupeAcquire', { lua: ACQUIRE_SCRIPT, numberOfKeys: 8 });
    this.redis.defineCommand('troupeStatus', { lua: STATUS_SCRIPT, numberOfKeys: 8, readOnly: true });
  }

  /** The store's URL, as configured (it never holds a password). */
  get url(): string {
    return this.options.url;
  }

  /** The last error the connection met (not a call's), if any. */
  get lastError(): CoordinationError | undefined {
    return this.lastConnectionError;
  }

  /** Connects (if not yet) and checks the password with a PING. */
  async check(): Promise<void> {
    await this.call(async () => {
      if (this.redis.status === 'wait' || this.redis.status === 'end') await this.redis.connect();
      await this.redis.ping();
    });
  }

  /** Runs the acquire script (see `ACQUIRE_SCRIPT` for its keys and arguments). */
  acquire(keys: readonly string[], args: readonly (string | number)[]): Promise<string[]> {
    return this.call(async () => {
      await this.ensureConnecting();
      return asStrings(await this.redis.troupeAcquire(...keys, ...args));
    });
  }

  /** Runs the status script (see `STATUS_SCRIPT`): a JSON text. */
  status(keys: readonly string[], args: readonly (string | number)[]): Promise<string> {
    return this.call(async () => {
      await this.ensureConnecting();
      return String(await this.redis.troupeStatus(...keys, ...args));
    });
  }

  /** Closes the connection; later calls fail. */
  async close(): Promise<void> {
    try {
      if (this.redis.status === 'ready') await this.redis.quit();
    } catch {
      // Closing a connection that is going away anyway.
    }
    this.redis.disconnect();
  }

  private async ensureConnecting(): Promise<void> {
    // A lazy client connects on its first call; after that ioredis reconnects by itself.
    if (this.redis.status === 'wait') await this.redis.connect();
  }

  private async call<T>(run: () => Promise<T>): Promise<T> {
    try {
      return await run();
    } catch (error) {
      const described = this.describe(error);
      // A refused password closes the connection: the call only sees "Connection is closed".
      const auth = this.lastConnectionError?.code === 'troupe:coordination-auth';
      throw new CoordinationFailure(auth && this.lastConnectionError ? this.lastConnectionError : described);
    }
  }

  /** An error of ioredis or the socket, as data, with a message of our own words. */
  private describe(error: unknown): CoordinationError {
    const text = error instanceof Error ? error.message : String(error);
    const code = (error as NodeJS.ErrnoException | undefined)?.code;
    const where = `coordination store ${this.options.url}`;
    if (AUTH_REPLY.test(text)) {
      return {
        code: 'troupe:coordination-auth',
        message:
          this.options.password === undefined
            ? `${where} requires a password (name the variable that holds it in passwordEnv)`
            : `${where} refused the password`,
      };
    }
    if ((code !== undefined && UNREACHABLE.has(code)) || UNREACHABLE_MESSAGE.test(text)) {
      return {
        code: 'troupe:coordination-unreachable',
        message: `${where} unreachable (${code ?? 'no connection'})`,
      };
    }
    return { code: 'troupe:coordination-failed', message: `${where}: ${this.scrub(text)}` };
  }

  /** The store's own words, with the password cut out should it ever echo it. */
  private scrub(text: string): string {
    const password = this.options.password;
    return password === undefined || password === '' ? text : text.split(password).join('***');
  }
}

/** A failed call to the coordination store; `error` is what crosses process boundaries. */
export class CoordinationFailure extends Error {
  readonly error: CoordinationError;
  constructor(error: CoordinationError) {
    super(error.message);
    this.name = 'CoordinationFailure';
    this.error = error;
  }
}

function asStrings(reply: unknown): string[] {
  if (!Array.isArray(reply)) throw new Error(`coordination store: unexpected reply ${typeof reply}`);
  return reply.map((item) => String(item));
}
