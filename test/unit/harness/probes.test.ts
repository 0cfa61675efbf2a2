import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { V1Container } from '@kubernetes/client-node';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import type { ExecResult } from '../../harness/kubelet/container-process.ts';
import {
  ContainerProber,
  type HandlerTarget,
  resolvePort,
  runHandler,
} from '../../harness/kubelet/probes.ts';

const container: V1Container = { name: 'web', ports: [{ name: 'http', containerPort: 8080 }] };

function target(
  exec: (argv: readonly string[]) => ExecResult = () => ({ exitCode: 0, output: '', timedOut: false }),
): HandlerTarget {
  return { podIP: '127.0.0.1', container, exec: async (argv) => exec(argv) };
}

describe('resolvePort', () => {
  it('takes numbers, numeric strings and named container ports', () => {
    expect(resolvePort(80, container)).toBe(80);
    expect(resolvePort('81', container)).toBe(81);
    expect(resolvePort('http', container)).toBe(8080);
    expect(() => resolvePort('grpc', container)).toThrow('not a named port');
  });
});

describe('runHandler', () => {
  let server: Server;
  let port: number;
  beforeAll(async () => {
    server = createServer((req, res) => {
      res.writeHead(req.url === '/healthz' && req.headers['x-probe'] === 'yes' ? 200 : 503).end('body');
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    port = (server.address() as AddressInfo).port;
  });
  afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));

  it('succeeds on a 2xx/3xx httpGet and fails otherwise, sending the probe headers', async () => {
    const ok = await runHandler(
      { httpGet: { path: '/healthz', port, httpHeaders: [{ name: 'X-Probe', value: 'yes' }] } },
      target(),
      1000,
    );
    expect(ok.success).toBe(true);
    const bad = await runHandler({ httpGet: { path: '/other', port } }, target(), 1000);
    expect(bad).toEqual({ success: false, message: 'HTTP probe failed with statuscode: 503' });
  });

  it('connects for tcpSocket probes', async () => {
    expect((await runHandler({ tcpSocket: { port } }, target(), 1000)).success).toBe(true);
    const closed = await runHandler({ tcpSocket: { port: 1 } }, target(), 1000);
    expect(closed.success).toBe(false);
    expect(closed.message).toMatch(/^dial tcp 127\.0\.0\.1:1: /);
  });

  it('runs exec probes in the container and reports their output', async () => {
    const seen: string[][] = [];
    const t = target((argv) => {
      seen.push([...argv]);
      return { exitCode: argv[0] === 'true' ? 0 : 1, output: 'not yet', timedOut: false };
    });
    expect((await runHandler({ exec: { command: ['true'] } }, t, 1000)).success).toBe(true);
    expect(await runHandler({ exec: { command: ['false'] } }, t, 1000)).toEqual({
      success: false,
      message: 'not yet',
    });
    expect(seen).toEqual([['true'], ['false']]);
    const slow = target(() => ({ exitCode: 137, output: '', timedOut: true }));
    expect((await runHandler({ exec: { command: ['sleep'] } }, slow, 1000)).message).toBe(
      'command timed out after 1s',
    );
  });
});

describe('ContainerProber', () => {
  it('starts liveness and readiness only after the startup probe passed, honouring thresholds', async () => {
    vi.useFakeTimers();
    try {
      let startupOk = false;
      let ready = true;
      let alive = true;
      const events: string[] = [];
      const prober = new ContainerProber(
        {
          name: 'c',
          startupProbe: { exec: { command: ['startup'] }, periodSeconds: 1, failureThreshold: 10 },
          readinessProbe: {
            exec: { command: ['ready'] },
            periodSeconds: 1,
            successThreshold: 2,
            failureThreshold: 1,
          },
          livenessProbe: {
            exec: { command: ['alive'] },
            initialDelaySeconds: 5,
            periodSeconds: 1,
            failureThreshold: 2,
          },
        },
        target((argv) => {
          const ok = argv[0] === 'startup' ? startupOk : argv[0] === 'ready' ? ready : alive;
          return { exitCode: ok ? 0 : 1, output: '', timedOut: false };
        }),
        {
          started: () => events.push('started'),
          readiness: (r) => events.push(`ready=${r}`),
          failed: (kind) => events.push(`failed:${kind}`),
          unhealthy: (kind) => events.push(`unhealthy:${kind}`),
        },
      );
      prober.start();
      await vi.advanceTimersByTimeAsync(2500);
      expect(events).toEqual(['unhealthy:startup', 'unhealthy:startup', 'unhealthy:startup']);
      startupOk = true;
      await vi.advanceTimersByTimeAsync(1000);
      expect(events.at(-1)).toBe('started');
      // Readiness needs two successes in a row.
      await vi.advanceTimersByTimeAsync(500);
      expect(events).not.toContain('ready=true');
      await vi.advanceTimersByTimeAsync(1000);
      expect(events.at(-1)).toBe('ready=true');
      ready = false;
      await vi.advanceTimersByTimeAsync(1000);
      expect(events.slice(-2)).toEqual(['unhealthy:readiness', 'ready=false']);
      alive = false;
      await vi.advanceTimersByTimeAsync(6000);
      expect(events).toContain('failed:liveness');
      expect(events.filter((e) => e === 'failed:liveness')).toHaveLength(1);
      prober.stop();
    } finally {
      vi.useRealTimers();
    }
  });

  it('reports started at once without a startup probe', () => {
    const events: string[] = [];
    const prober = new ContainerProber({ name: 'c' }, target(), {
      started: () => events.push('started'),
      readiness: () => undefined,
      failed: () => undefined,
      unhealthy: () => undefined,
    });
    prober.start();
    prober.stop();
    expect(events).toEqual(['started']);
  });
});
