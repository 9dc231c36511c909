/**
 * `providers.<id>.sharedLimits`: the coordination store through which several troupe
 * processes (on one host or several) share one provider account's limits.
 */
/** Where a provider's limits are shared, as a suite names it. */
export interface SharedLimitsConfig {
  /**
   * The Redis (or Valkey) server: `redis://host:port/db`, `rediss://` for TLS. It never holds
   * the password (that comes from `passwordEnv`), so a job's stored suite holds no secret.
   */
  readonly url: string;
  /** Every process whose provider names this key draws from one budget. */
  readonly key: string;
  /** Name of the environment variable that holds the store's password. Default: no password. */
  readonly passwordEnv?: string;
}

/** The parts of a `sharedLimits.url` a client connects with. */
export interface StoreAddress {
  readonly tls: boolean;
  readonly host: string;
  readonly port: number;
  readonly db: number;
  /** An ACL user name, if the URL names one (`redis://user@host`). */
  readonly username?: string;
}

/** Redis's own port, when the URL names none. */
export const DEFAULT_REDIS_PORT = 6379;
/** Redis's databases are numbered 0…15 by default; larger numbers need a server setting. */
const MAX_REDIS_DB = 1_000;

/**
 * Parses a `redis://` or `rediss://` URL into what a client needs; the reason it is not one,
 * as a message, otherwise. A password in the URL is refused (it would be stored with the job).
 */
export function parseStoreUrl(url: string): StoreAddress | string {
  if (!URL.canParse(url)) return 'expected a redis:// or rediss:// URL, found a string that is not a URL';
  const parsed = new URL(url);
  if (parsed.protocol !== 'redis:' && parsed.protocol !== 'rediss:') {
    return `expected a redis:// or rediss:// URL, found a ${parsed.protocol}// URL`;
  }
  if (parsed.password !== '') {
    // Not echoed: the message would carry the password.
    return 'the URL holds a password; put it in an environment variable and name it in passwordEnv';
  }
  if (parsed.hostname === '') return 'expected a host in the URL (redis://host:port/db)';
  const path = parsed.pathname.replace(/^\//, '');
  const db = path === '' ? 0 : Number(path);
  if (!Number.isInteger(db) || db < 0 || db > MAX_REDIS_DB) {
    return `expected a database number after the host (redis://host:port/0), found "/${path}"`;
  }
  if (parsed.search !== '' || parsed.hash !== '') return 'expected no query or fragment in the URL';
  return {
    tls: parsed.protocol === 'rediss:',
    // An IPv6 literal comes bracketed from URL; the socket wants it bare.
    host: parsed.hostname.replace(/^\[(.*)\]$/, '$1'),
    port: parsed.port === '' ? DEFAULT_REDIS_PORT : Number(parsed.port),
    db,
    ...(parsed.username !== '' && { username: decodeURIComponent(parsed.username) }),
  };
}
