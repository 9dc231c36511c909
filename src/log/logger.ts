import { pino } from 'pino';
import type { Logger as PinoLogger } from 'pino';

/** troupe's structured logger (JSON lines). Never log prompts, answers or API keys. */
export type Logger = PinoLogger;

/** Field names whose values are replaced by `[redacted]` wherever they appear in a log line. */
const REDACTED_PATHS = [
  'apiKey',
  '*.apiKey',
  'headers.authorization',
  'headers["x-api-key"]',
  '*.authorization',
];

/** Options of `createLogger`. */
export interface LoggerOptions {
  /** Lowest level written. Default `info`. */
  readonly level?: string;
  /** File descriptor to write to. Default 2 (stderr), so stdout stays clean for results and process managers. */
  readonly fd?: number;
}

/** A JSON-lines logger on stderr (or `fd`), with secrets redacted as a second line of defence. */
export function createLogger(options: LoggerOptions = {}): Logger {
  return pino(
    {
      level: options.level ?? 'info',
      base: { pid: process.pid },
      redact: { paths: REDACTED_PATHS, censor: '[redacted]' },
    },
    pino.destination({ fd: options.fd ?? 2, sync: false }),
  );
}

/** A logger that writes nothing (tests, quiet commands). */
export function silentLogger(): Logger {
  return pino({ level: 'silent' });
}
