import type { Logger } from '../log/logger.js';
import { PrometheusMetrics } from '../metrics/prometheus.js';
import { startMetricsServer } from '../metrics/server.js';
import type { MetricsServer, Readiness } from '../metrics/server.js';

/** Where to serve metrics: a port (0: any free one) on a host (default loopback). */
export interface MetricsEndpointOptions {
  readonly port: number;
  readonly host?: string;
}

/**
 * Troupe's Prometheus metrics and, once `serve` is called, the HTTP endpoint
 * that exposes them (`/metrics`, `/healthz`, `/readyz`). Created before the
 * engine (which records into it), served once the engine can say if it is ready.
 */
export class MetricsEndpoint {
  readonly metrics = new PrometheusMetrics();
  private server: MetricsServer | undefined;

  constructor(private readonly options: MetricsEndpointOptions) {}

  /** Starts the HTTP server; returns the port it listens on. */
  async serve(ready: () => Readiness, log: Logger): Promise<number> {
    this.server = await startMetricsServer({
      port: this.options.port,
      host: this.options.host,
      registry: this.metrics.registry,
      ready,
    });
    log.info({ port: this.server.port, host: this.options.host ?? '127.0.0.1' }, 'metrics served');
    return this.server.port;
  }

  async close(): Promise<void> {
    await this.server?.close();
  }
}
