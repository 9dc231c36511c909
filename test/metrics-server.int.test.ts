import { createServer } from 'node:net';
import { networkInterfaces } from 'node:os';
import { afterEach, describe, expect, it } from 'vitest';
import { PrometheusMetrics } from '../src/metrics/prometheus.js';
import { startMetricsServer } from '../src/metrics/server.js';
import type { MetricsServer, Readiness } from '../src/metrics/server.js';

let server: MetricsServer | undefined;

afterEach(async () => {
  await server?.close();
  server = undefined;
});

async function start(ready: () => Readiness = () => ({ ok: true, reasons: [] })) {
  const metrics = new PrometheusMetrics();
  server = await startMetricsServer({ port: 0, registry: metrics.registry, ready });
  return { metrics, url: `http://127.0.0.1:${server.port}` };
}

describe('metrics server', () => {
  it('serves the registry on /metrics in the text exposition format', async () => {
    const { metrics, url } = await start();
    metrics.workerRestarted();
    const response = await fetch(`${url}/metrics`);
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toBe(metrics.registry.contentType);
    expect(response.headers.get('content-type')).toMatch(/^text\/plain; version=0\.0\.4/);
    const text = await response.text();
    expect(text).toContain('# TYPE troupe_worker_restarts_total counter');
    expect(text).toContain('troupe_worker_restarts_total 1');
    expect(text).toContain('troupe_process_cpu_seconds_total');
    // A query string does not change the route.
    expect((await fetch(`${url}/metrics?x=1`)).status).toBe(200);
  });

  it('answers /healthz while alive and /readyz with the readiness and its reasons', async () => {
    let readiness: Readiness = { ok: false, reasons: ['store not open', 'workers: 1 of 2 up'] };
    const { url } = await start(() => readiness);
    const health = await fetch(`${url}/healthz`);
    expect(health.status).toBe(200);
    expect(await health.text()).toBe('ok\n');

    const notReady = await fetch(`${url}/readyz`);
    expect(notReady.status).toBe(503);
    expect(notReady.headers.get('content-type')).toMatch(/^application\/json/);
    expect(await notReady.json()).toEqual({ ok: false, reasons: ['store not open', 'workers: 1 of 2 up'] });

    readiness = { ok: true, reasons: [] };
    const ready = await fetch(`${url}/readyz`);
    expect(ready.status).toBe(200);
    expect(await ready.json()).toEqual({ ok: true, reasons: [] });
  });

  it('reports a readiness check that throws as not ready', async () => {
    const { url } = await start(() => {
      throw new Error('store closed');
    });
    const response = await fetch(`${url}/readyz`);
    expect(response.status).toBe(503);
    expect(await response.json()).toEqual({
      ok: false,
      reasons: ['readiness check failed: store closed'],
    });
  });

  it('answers 404 for other paths and 405 for methods other than GET and HEAD', async () => {
    const { url } = await start();
    expect((await fetch(`${url}/`)).status).toBe(404);
    expect((await fetch(`${url}/metrics/extra`)).status).toBe(404);
    const post = await fetch(`${url}/metrics`, { method: 'POST', body: 'x' });
    expect(post.status).toBe(405);
    expect(post.headers.get('allow')).toBe('GET, HEAD');
    expect((await fetch(`${url}/healthz`, { method: 'DELETE' })).status).toBe(405);
    const head = await fetch(`${url}/metrics`, { method: 'HEAD' });
    expect(head.status).toBe(200);
    expect(await head.text()).toBe('');
  });

  it('listens on loopback only by default and reports the port it picked', async () => {
    await start();
    expect(server?.port).toBeGreaterThan(0);
    expect((await fetch(`http://127.0.0.1:${server?.port}/healthz`)).status).toBe(200);
    // On this machine's other addresses, nothing answers.
    const external = Object.values(networkInterfaces())
      .flat()
      .find((address) => address !== undefined && !address.internal && address.family === 'IPv4');
    if (external) {
      await expect(fetch(`http://${external.address}:${server?.port}/healthz`)).rejects.toThrow();
    }
  });

  it('rejects when the port is taken', async () => {
    const blocker = createServer();
    await new Promise<void>((resolve) => blocker.listen(0, '127.0.0.1', resolve));
    const address = blocker.address();
    const port = typeof address === 'object' && address ? address.port : 0;
    try {
      await expect(
        startMetricsServer({
          port,
          registry: new PrometheusMetrics().registry,
          ready: () => ({ ok: true, reasons: [] }),
        }),
      ).rejects.toThrow(/EADDRINUSE/);
    } finally {
      await new Promise((resolve) => blocker.close(resolve));
    }
  });

  it('closes with its connections open, and a second close is harmless', async () => {
    const { url } = await start();
    await fetch(`${url}/healthz`, { keepalive: true });
    const running = server;
    server = undefined;
    await running?.close();
    await running?.close();
    await expect(fetch(`${url}/healthz`)).rejects.toThrow();
  });
});
