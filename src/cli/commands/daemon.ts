import { Daemon } from '../../daemon/daemon.js';
import { createLogger } from '../../log/logger.js';

/** Options of `troupe daemon`. */
export interface DaemonCommandOptions {
  readonly dataDir: string;
  readonly workers: number;
  /** Jobs of at most this many conversations run in the daemon's own process (see `workerSettings`). */
  readonly inProcessJobMaxConversations: number;
  /** After SIGTERM/SIGINT, how long requests in flight may take to finish, in ms. */
  readonly graceMs: number;
  /** Lowest level of the JSON log lines (stderr). */
  readonly logLevel: string;
  readonly version: string;
  /** Port of the Prometheus endpoint (none when undefined) and its host. */
  readonly metricsPort?: number;
  readonly metricsHost: string;
}

/**
 * `troupe daemon`: runs in the foreground until SIGTERM/SIGINT, logging JSON
 * lines to stderr and writing nothing to stdout. Resolves (exit 0) after a clean
 * shutdown; a refused data directory or a second daemon throws (exit 2).
 */
export async function runDaemon(options: DaemonCommandOptions): Promise<void> {
  const log = createLogger({ level: options.logLevel });
  try {
    const daemon = await Daemon.start({
      dataDir: options.dataDir,
      workers: options.workers,
      inProcessJobMaxConversations: options.inProcessJobMaxConversations,
      graceMs: options.graceMs,
      log,
      logLevel: options.logLevel,
      env: process.env,
      version: options.version,
      metrics:
        options.metricsPort === undefined
          ? undefined
          : { port: options.metricsPort, host: options.metricsHost },
    });
    await daemon.whenStopped();
  } finally {
    log.flush();
  }
}
