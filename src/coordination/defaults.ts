/** Defaults and tuning constants of the coordination layer, with units in their names. */

/** A call to the coordination store that takes longer than this fails (the store counts as away), in ms. */
export const STORE_COMMAND_TIMEOUT_MS = 1_000;

/** Connecting to the coordination store gives up after this long, in ms. */
export const STORE_CONNECT_TIMEOUT_MS = 2_000;

/** First delay before reconnecting to a lost store, in ms; doubles up to `STORE_RECONNECT_MAX_MS`. */
export const STORE_RECONNECT_BASE_MS = 100;

/** Longest delay between reconnection attempts, in ms. */
export const STORE_RECONNECT_MAX_MS = 2_000;

/**
 * A participant is alive this long after its last call, in ms: a killed process's concurrency
 * slots come back after it, and after a state loss new slots wait this long for every live
 * participant to say what it holds.
 */
export const PARTICIPANT_TTL_MS = 3_000;

/** A participant calls at least this often, even when idle, to stay alive, in ms. */
export const HEARTBEAT_INTERVAL_MS = 1_000;

/**
 * Units of a lease must be sent within this long of asking for it, in ms; what is left then goes
 * back to the store. A lease counts in the shared window for a window plus this long.
 */
export const LEASE_USE_MS = 250;

/** A lease holds about this long's worth of the process's recent rate, in ms (half its use time). */
export const LEASE_HORIZON_MS = 125;

/**
 * Most requests one lease holds. At high rates a lease is this big (one round trip per 64
 * requests); at a provider's usual rates it is a few: the smoothing bucket holds a quarter of a
 * second's worth.
 */
export const MAX_LEASE_REQUESTS = 64;

/** Over how long the recent rate that sizes leases is measured, in ms. */
export const RATE_SAMPLE_MS = 1_000;

/** While a process waits for a concurrency slot another holds, it asks again this often, in ms. */
export const SLOT_POLL_MS = 50;

/**
 * While another process holds a shared breaker's half-open probe, a process that would probe asks
 * again this often, in ms (to learn the probe's outcome soon after it is told).
 */
export const PROBE_POLL_MS = 250;

/** After a failed call, the next waits this long, doubling up to `RETRY_MAX_MS`, in ms. */
export const RETRY_BASE_MS = 200;

/** Longest wait between calls to an unreachable store, in ms. */
export const RETRY_MAX_MS = 2_000;

/** Prefix of every key troupe writes in the coordination store. */
export const KEY_PREFIX = 'troupe';
