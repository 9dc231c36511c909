/** `troupe simulate`: serves the OpenAI and Anthropic APIs locally, to rehearse a suite for free. */
import { InputError } from '../../errors.js';
import { startSimulator } from '../../simulator/server.js';
import type { Simulator } from '../../simulator/server.js';

/** Options of `troupe simulate`. */
export interface SimulateOptions {
  /** TCP port; 0 picks a free one. */
  readonly port: number;
  /** Address to listen on. */
  readonly host: string;
  /** Latency of every reply in ms. */
  readonly latencyMs: number;
  /** Answer 429 above this many requests per minute. Default: no limit. */
  readonly requestsPerMinute?: number;
  /** Answer 429 above this many tokens per minute. Default: no limit. */
  readonly tokensPerMinute?: number;
  /** Accept only requests carrying this key. Default: any key. */
  readonly apiKey?: string;
}

function hasCode(error: unknown, code: string): boolean {
  return error instanceof Error && (error as NodeJS.ErrnoException).code === code;
}

/**
 * Starts the simulator and logs where it listens and the base URLs to put in a suite.
 * Resolves with the running simulator; the caller closes it.
 */
export async function runSimulate(options: SimulateOptions, log: (line: string) => void): Promise<Simulator> {
  const limited = options.requestsPerMinute !== undefined || options.tokensPerMinute !== undefined;
  let simulator: Simulator;
  try {
    simulator = await startSimulator({
      port: options.port,
      host: options.host,
      latencyMs: options.latencyMs,
      apiKey: options.apiKey,
      rateLimit: limited
        ? { requestsPerMinute: options.requestsPerMinute, tokensPerMinute: options.tokensPerMinute }
        : undefined,
    });
  } catch (error) {
    if (hasCode(error, 'EADDRINUSE')) {
      throw new InputError(`--port: ${options.host}:${options.port} is already in use; pick another port`);
    }
    if (hasCode(error, 'EADDRNOTAVAIL')) {
      throw new InputError(`--host: ${options.host} is not an address of this machine`);
    }
    if (error instanceof RangeError) throw new InputError(`simulate: ${error.message}`);
    throw error;
  }
  const limits = [
    options.requestsPerMinute === undefined ? undefined : `${options.requestsPerMinute} requests/min`,
    options.tokensPerMinute === undefined ? undefined : `${options.tokensPerMinute} tokens/min`,
  ].filter((part) => part !== undefined);
  log(`troupe simulator listening on ${simulator.url}`);
  log(`  openai:    baseURL: ${simulator.openaiBaseURL}`);
  log(`  anthropic: baseURL: ${simulator.anthropicBaseURL}`);
  log(
    `  latency ${options.latencyMs} ms; ${limits.length > 0 ? `limits ${limits.join(', ')}` : 'no rate limit'}; ` +
      (options.apiKey === undefined ? 'any API key accepted' : 'API key required'),
  );
  return simulator;
}
