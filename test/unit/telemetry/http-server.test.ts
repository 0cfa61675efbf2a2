import { afterEach, describe, expect, it, vi } from 'vitest';
import {
  type HealthServer,
  parseBindAddress,
  startHealthServer,
} from '../../../src/telemetry/http-server.ts';
import { createDriverMetrics } from '../../../src/telemetry/metrics.ts';

let server: HealthServer | undefined;
afterEach(async () => {
  await server?.close();
  server = undefined;
});

const url = (path: string) => `http://127.0.0.1:${server!.port}${path}`;

describe('metrics and health server', () => {
  it('serves /metrics in the Prometheus text format, and OpenMetrics when asked', async () => {
    const metrics = createDriverMetrics();
    metrics.pipeline.jobTimeout('c');
    server = await startHealthServer({ bindAddress: '127.0.0.1:0', registry: metrics.registry });
    const text = await fetch(url('/metrics'));
    expect(text.status).toBe(200);
    expect(text.headers.get('content-type')).toMatch(/^text\/plain; version=0.0.4/);
    const body = await text.text();
    expect(body).toContain('etcd_snapshot_job_timeout_total{cluster="c"} 1');
    expect(body).toContain('process_resident_memory_bytes');
    expect(body).toContain('nodejs_eventloop_lag_seconds');
    const om = await fetch(url('/metrics'), {
      headers: { accept: 'application/openmetrics-text;version=1.0.0,text/plain;version=0.0.4;q=0.5' },
    });
    expect(om.headers.get('content-type')).toMatch(/^application\/openmetrics-text; version=1.0.0/);
    expect(await om.text()).toMatch(/etcd_snapshot_job_timeout_total\{cluster="c"\} 1\n[\s\S]*# EOF\n$/);
  });

  it('/healthz answers 200 while the event loop is responsive and 503 after it was blocked', async () => {
    const metrics = createDriverMetrics({ processMetrics: false });
    server = await startHealthServer({
      bindAddress: '127.0.0.1:0',
      registry: metrics.registry,
      maxEventLoopDelayMs: 300,
      eventLoopWindowMs: 200,
    });
    const ok = await fetch(url('/healthz'));
    expect(ok.status).toBe(200);
    expect(await ok.json()).toMatchObject({ status: 'ok' });
    const until = Date.now() + 700;
    while (Date.now() < until) {
      // Block the loop, as a runaway computation would.
    }
    const blocked = await fetch(url('/healthz'));
    expect(blocked.status).toBe(503);
    const body = (await blocked.json()) as { status: string; event_loop_delay_ms: number };
    expect(body.status).toBe('unresponsive');
    expect(body.event_loop_delay_ms).toBeGreaterThan(300);
    // It recovers once a full window passes without blocking.
    await vi.waitFor(async () => expect((await fetch(url('/healthz'))).status).toBe(200), {
      timeout: 10_000,
      interval: 50,
    });
  });

  it('/ready names each check: 200 when all pass, 503 with the failing one and its error', async () => {
    const metrics = createDriverMetrics({ processMetrics: false });
    let apiReachable = true;
    server = await startHealthServer({
      bindAddress: '127.0.0.1:0',
      registry: metrics.registry,
      checkTimeoutMs: 200,
      readiness: {
        caches_synced: () => true,
        api_reachable: async () => {
          if (!apiReachable) throw new Error('connect ECONNREFUSED 127.0.0.1:6443');
        },
        grpc_serving: (signal) =>
          new Promise((resolve) => signal.addEventListener('abort', () => resolve(true))),
      },
    });
    const slow = await fetch(url('/ready'));
    expect(slow.status).toBe(503);
    expect(await slow.json()).toEqual({
      status: 'not ready',
      checks: {
        caches_synced: { ok: true },
        api_reachable: { ok: true },
        grpc_serving: { ok: false, error: 'no answer within 200 ms' },
      },
    });
    await server.close();
    server = await startHealthServer({
      bindAddress: '127.0.0.1:0',
      registry: metrics.registry,
      readiness: {
        caches_synced: () => true,
        api_reachable: async () => {
          if (!apiReachable) throw new Error('connect ECONNREFUSED 127.0.0.1:6443');
        },
        grpc_serving: () => false,
      },
    });
    const notServing = (await (await fetch(url('/ready'))).json()) as { checks: Record<string, unknown> };
    expect(notServing.checks.grpc_serving).toEqual({ ok: false, error: 'not ready' });
    await server.close();
    server = await startHealthServer({
      bindAddress: '127.0.0.1:0',
      registry: metrics.registry,
      readiness: {
        api_reachable: async () => {
          if (!apiReachable) throw new Error('connect ECONNREFUSED 127.0.0.1:6443');
        },
      },
    });
    expect((await fetch(url('/ready'))).status).toBe(200);
    apiReachable = false;
    const down = await fetch(url('/ready'));
    expect(down.status).toBe(503);
    expect(await down.json()).toEqual({
      status: 'not ready',
      checks: { api_reachable: { ok: false, error: 'connect ECONNREFUSED 127.0.0.1:6443' } },
    });
  });

  it('answers 404 and 405 and closes while a keep-alive client is connected', async () => {
    const metrics = createDriverMetrics({ processMetrics: false });
    server = await startHealthServer({ bindAddress: '127.0.0.1:0', registry: metrics.registry });
    expect((await fetch(url('/nope'))).status).toBe(404);
    expect((await fetch(url('/metrics'), { method: 'POST' })).status).toBe(405);
    const started = Date.now();
    await server.close();
    expect(Date.now() - started).toBeLessThan(2_000);
    server = undefined;
  });

  it('parses bind addresses and rejects bad ones naming the value', () => {
    expect(parseBindAddress(':8080')).toEqual({ host: undefined, port: 8080 });
    expect(parseBindAddress('127.0.0.1:9090')).toEqual({ host: '127.0.0.1', port: 9090 });
    expect(parseBindAddress('[::1]:8080')).toEqual({ host: '::1', port: 8080 });
    expect(() => parseBindAddress('8080')).toThrow(/metrics bind address "8080" must be host:port/);
    expect(() => parseBindAddress(':70000')).toThrow(/":70000"/);
  });

  it('says which address it could not bind', async () => {
    const metrics = createDriverMetrics({ processMetrics: false });
    server = await startHealthServer({ bindAddress: '127.0.0.1:0', registry: metrics.registry });
    await expect(
      startHealthServer({ bindAddress: `127.0.0.1:${server.port}`, registry: metrics.registry }),
    ).rejects.toThrow(new RegExp(`metrics server cannot listen on 127.0.0.1:${server.port}: .*EADDRINUSE`));
  });
});
