/**
 * The HTTP endpoint Prometheus scrapes, and the health checks a process manager
 * or an orchestrator polls: `/metrics`, `/healthz` (alive), `/readyz` (ready).
 */
import { createServer } from 'node:http';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Registry } from 'prom-client';

/** Address the metrics server listens on unless told otherwise: loopback only. */
export const DEFAULT_METRICS_HOST = '127.0.0.1';

/** Whether the process can do its work; `reasons` says what is missing when it cannot. */
export interface Readiness {
  readonly ok: boolean;
  readonly reasons: readonly string[];
}

/** Options of `startMetricsServer`. */
export interface MetricsServerOptions {
  /** Port to listen on; 0 picks a free one (see `MetricsServer.port`). */
  readonly port: number;
  /** Address to listen on. Default `127.0.0.1`: metrics describe the jobs, so they stay local unless asked. */
  readonly host?: string;
  /** The registry served on `/metrics`. */
  readonly registry: Registry;
  /** Asked on every `/readyz` (store open, workers up, …); must be cheap. */
  readonly ready: () => Readiness;
}

/** A running metrics server. */
export interface MetricsServer {
  /** The port it listens on (the one picked when 0 was asked for). */
  readonly port: number;
  /** Stops listening and ends open connections. */
  close(): Promise<void>;
}

const TEXT = 'text/plain; charset=utf-8';
const JSON_TYPE = 'application/json; charset=utf-8';
const ALLOWED_METHODS = 'GET, HEAD';

function send(response: ServerResponse, status: number, contentType: string, body: string): void {
  response.writeHead(status, { 'content-type': contentType, 'cache-control': 'no-store' });
  response.end(body);
}

function message(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

async function handle(
  options: MetricsServerOptions,
  request: IncomingMessage,
  response: ServerResponse,
): Promise<void> {
  const path = (request.url ?? '/').split('?')[0];
  // HEAD is GET without a body (node drops the body itself); every other method is refused.
  if (request.method !== 'GET' && request.method !== 'HEAD') {
    response.setHeader('allow', ALLOWED_METHODS);
    send(response, 405, TEXT, 'method not allowed\n');
    return;
  }
  switch (path) {
    case '/metrics': {
      let body: string;
      try {
        body = await options.registry.metrics();
      } catch (error) {
        send(response, 500, TEXT, `could not collect metrics: ${message(error)}\n`);
        return;
      }
      send(response, 200, options.registry.contentType, body);
      return;
    }
    case '/healthz':
      send(response, 200, TEXT, 'ok\n');
      return;
    case '/readyz': {
      let readiness: Readiness;
      try {
        readiness = options.ready();
      } catch (error) {
        readiness = { ok: false, reasons: [`readiness check failed: ${message(error)}`] };
      }
      send(response, readiness.ok ? 200 : 503, JSON_TYPE, JSON.stringify(readiness));
      return;
    }
    default:
      send(response, 404, TEXT, 'not found: try /metrics, /healthz or /readyz\n');
  }
}

/** Starts the metrics server; resolves once it listens, rejects when it cannot (port in use). */
export function startMetricsServer(options: MetricsServerOptions): Promise<MetricsServer> {
  const server = createServer((request, response) => {
    handle(options, request, response).catch((error: unknown) => {
      if (!response.headersSent) send(response, 500, TEXT, `${message(error)}\n`);
      else response.destroy();
    });
  });
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port, options.host ?? DEFAULT_METRICS_HOST, () => {
      server.off('error', reject);
      const { port } = server.address() as AddressInfo;
      let closing: Promise<void> | undefined;
      resolve({
        port,
        close: () =>
          (closing ??= new Promise<void>((done) => {
            server.close(() => done());
            server.closeAllConnections();
          })),
      });
    });
  });
}
