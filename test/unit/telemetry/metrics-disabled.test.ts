// METRICS_ENABLED=false (serveMetrics: false): the probes stay, /metrics is not served.
import { afterEach, describe, expect, it } from 'vitest';
import { type HealthServer, startHealthServer } from '../../../src/telemetry/http-server.ts';
import { createDriverMetrics } from '../../../src/telemetry/metrics.ts';

let server: HealthServer | undefined;
afterEach(async () => {
  await server?.close();
  server = undefined;
});

describe('metrics and health server without metrics', () => {
  it('answers /metrics 404 and still serves /healthz and /ready', async () => {
    const metrics = createDriverMetrics({ processMetrics: false });
    server = await startHealthServer({
      bindAddress: '127.0.0.1:0',
      registry: metrics.registry,
      serveMetrics: false,
      readiness: { fine: () => true },
    });
    const base = `http://127.0.0.1:${server.port}`;
    const scrape = await fetch(`${base}/metrics`);
    expect(scrape.status).toBe(404);
    expect(await scrape.text()).not.toContain('# TYPE');
    expect((await fetch(`${base}/healthz`)).status).toBe(200);
    expect((await fetch(`${base}/ready`)).status).toBe(200);
  });
});
