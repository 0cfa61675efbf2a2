// The gRPC server over real sockets (in a temporary directory) with a real gRPC client.
import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { createServer, type Server as NetServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { status } from '@grpc/grpc-js';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { type CsiClient, createCsiClient } from '../../../src/csi/csi-client.ts';
import { CsiError } from '../../../src/csi/errors.ts';
import type { CallContext } from '../../../src/csi/handler.ts';
import { identityService } from '../../../src/csi/identity-service.ts';
import { nodeService } from '../../../src/csi/node-service.ts';
import {
  type CallOutcome,
  type CsiServer,
  parseEndpoint,
  startCsiServer,
  stripSecrets,
} from '../../../src/csi/server.ts';
import { BUILD, memoryLogger } from './fakes.ts';

let dir: string;
const cleanups: (() => unknown)[] = [];

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'csi-server-'));
});
afterEach(async () => {
  for (const fn of cleanups.splice(0).reverse()) await fn();
  rmSync(dir, { recursive: true, force: true });
});

const identity = () =>
  identityService({
    driverName: 'etcd-snapshot-driver',
    build: BUILD,
    readiness: { cachesSynced: () => true, apiReachable: () => true },
  });

async function serve(
  services: Parameters<typeof startCsiServer>[0]['services'] = {},
  extra: Partial<Parameters<typeof startCsiServer>[0]> = {},
): Promise<{ server: CsiServer; client: CsiClient; socket: string; lines: () => Record<string, unknown>[] }> {
  const socket = join(dir, 'plugin', 'csi.sock');
  const { log, lines } = memoryLogger();
  const server = await startCsiServer({
    endpoints: [`unix://${socket}`],
    services: { Identity: identity(), Node: nodeService({ nodeId: 'node-a' }), ...services },
    log,
    ...extra,
  });
  const client = createCsiClient(server.addresses[0]!);
  cleanups.push(
    () => server.stop(100),
    () => client.close(),
  );
  return { server, client, socket, lines };
}

async function grpcError(promise: Promise<unknown>): Promise<{ code: number; details: string }> {
  try {
    await promise;
  } catch (err) {
    return err as { code: number; details: string };
  }
  throw new Error('expected the call to fail');
}

describe('endpoints', () => {
  it('parses unix and tcp endpoints', () => {
    expect(parseEndpoint('unix:///var/lib/kubelet/plugins/x/csi.sock')).toEqual({
      kind: 'unix',
      path: '/var/lib/kubelet/plugins/x/csi.sock',
    });
    expect(parseEndpoint('unix:/tmp/a.sock')).toEqual({ kind: 'unix', path: '/tmp/a.sock' });
    expect(parseEndpoint('tcp://127.0.0.1:50051')).toEqual({ kind: 'tcp', host: '127.0.0.1', port: 50051 });
    expect(parseEndpoint(':50051')).toEqual({ kind: 'tcp', host: '0.0.0.0', port: 50051 });
    expect(() => parseEndpoint('unix://relative.sock')).toThrow(/absolute/);
    expect(() => parseEndpoint('http://x')).toThrow(/expected/);
  });

  it('serves the four services on a unix socket only its owner and group may use', async () => {
    const { client, socket } = await serve();
    expect(statSync(socket).mode & 0o777).toBe(0o660);
    expect(statSync(join(dir, 'plugin')).mode & 0o777).toBe(0o750);
    expect(await client.Identity.GetPluginInfo!()).toEqual({
      name: 'etcd-snapshot-driver',
      vendor_version: '9.9.9',
      manifest: { commit: 'abc123' },
    });
    expect(await client.Node.NodeGetInfo!()).toMatchObject({ node_id: 'node-a' });
  });

  it('serves on TCP as well', async () => {
    const { log } = memoryLogger();
    const server = await startCsiServer({
      endpoints: ['tcp://127.0.0.1:0'],
      services: { Identity: identity() },
      log,
    });
    const client = createCsiClient(server.addresses[0]!);
    cleanups.push(
      () => server.stop(100),
      () => client.close(),
    );
    expect(server.addresses[0]).toMatch(/^tcp:\/\/127\.0\.0\.1:\d+$/);
    expect((await client.Identity.Probe!()).ready.value).toBe(true);
  });

  it('removes a socket left by a process that died', async () => {
    const socket = join(dir, 'plugin', 'csi.sock');
    const { mkdirSync } = await import('node:fs');
    mkdirSync(join(dir, 'plugin'));
    const child = spawn(process.execPath, [
      '-e',
      `require('net').createServer().listen(${JSON.stringify(socket)}, () => console.log('up'))`,
    ]);
    await new Promise<void>((res) => child.stdout.once('data', () => res()));
    child.kill('SIGKILL');
    await new Promise((res) => child.once('exit', res));
    expect(existsSync(socket)).toBe(true);
    const { client } = await serve();
    expect((await client.Identity.Probe!()).ready.value).toBe(true);
  });

  it('refuses to start when a live process serves the socket, or the path is not a socket', async () => {
    const socket = join(dir, 'csi.sock');
    const live: NetServer = createServer();
    await new Promise<void>((res) => live.listen(socket, res));
    cleanups.push(() => new Promise((res) => live.close(res)));
    const { log } = memoryLogger();
    await expect(startCsiServer({ endpoints: [`unix://${socket}`], services: {}, log })).rejects.toThrow(
      /another live process/,
    );
    const file = join(dir, 'file.sock');
    writeFileSync(file, 'x');
    await expect(startCsiServer({ endpoints: [`unix://${file}`], services: {}, log })).rejects.toThrow(
      /not a socket/,
    );
  });
});

describe('calls', () => {
  it('answers UNIMPLEMENTED for every method the driver does not serve', async () => {
    const { client } = await serve();
    for (const path of [
      '/csi.v1.Controller/ControllerPublishVolume',
      '/csi.v1.Controller/ListVolumes',
      '/csi.v1.Controller/GetCapacity',
      '/csi.v1.Node/NodePublishVolume',
      '/csi.v1.Node/NodeStageVolume',
      '/csi.v1.SnapshotMetadata/GetMetadataAllocated',
    ]) {
      expect((await grpcError(client.raw(path))).code).toBe(status.UNIMPLEMENTED);
    }
  });

  it('maps a CsiError to its code with "REASON: message"', async () => {
    const { client } = await serve({
      Controller: {
        DeleteSnapshot: async () => {
          throw new CsiError('GROUP_SNAPSHOT_NOT_FOUND', 'group grp-x does not exist');
        },
      },
    });
    const err = await grpcError(client.Controller.DeleteSnapshot!({ snapshot_id: 'x' }));
    expect(err.code).toBe(status.NOT_FOUND);
    expect(err.details).toBe('GROUP_SNAPSHOT_NOT_FOUND: group grp-x does not exist');
  });

  it('answers INTERNAL for an unexpected error, logging its cause but never returning it', async () => {
    const { client, lines } = await serve({
      Controller: {
        DeleteSnapshot: async () => {
          throw new TypeError('cannot read password=hunter2 of undefined');
        },
      },
    });
    const err = await grpcError(client.Controller.DeleteSnapshot!({ snapshot_id: 'x' }));
    expect(err.code).toBe(status.INTERNAL);
    expect(err.details).toBe('INTERNAL: internal error; see the driver log');
    const logged = lines().find((l) => l.level === 'error');
    expect(logged).toMatchObject({ code: 'INTERNAL', method: '/csi.v1.Controller/DeleteSnapshot' });
    expect(JSON.stringify(logged)).toContain('cannot read password');
  });

  it('strips secrets from logged requests', async () => {
    const { client, lines } = await serve({
      Controller: {
        CreateSnapshot: async () => {
          throw new CsiError('MISSING_NAME', 'name is required');
        },
      },
    });
    await grpcError(
      client.Controller.CreateSnapshot!({
        name: '',
        source_volume_id: 'a/b',
        secrets: { password: 'hunter2', 'tls.key': 'PRIVATE' },
        parameters: { 'retention-days': '3' },
      }),
    );
    const text = JSON.stringify(lines());
    expect(text).not.toContain('hunter2');
    expect(text).not.toContain('PRIVATE');
    expect(text).toContain('[REDACTED]');
    expect(text).toContain('retention-days');
    expect(stripSecrets({ a: [{ secrets: { k: 'v' } }], secrets: {} })).toEqual({
      a: [{ secrets: '[REDACTED]' }],
      secrets: {},
    });
  });

  it('turns the call’s deadline into an aborted signal and answers DEADLINE_EXCEEDED', async () => {
    let seen: CallContext | undefined;
    const { client } = await serve({
      Controller: {
        ListSnapshots: (_req, call) => {
          seen = call;
          return new Promise(() => undefined); // never answers on its own
        },
      },
    });
    const started = Date.now();
    const err = await grpcError(client.Controller.ListSnapshots!({}, { timeoutMs: 300 }));
    expect(err.code).toBe(status.DEADLINE_EXCEEDED);
    expect(Date.now() - started).toBeLessThan(2000);
    expect(seen?.deadline).toBeInstanceOf(Date);
    await vi.waitFor(() => expect(seen?.signal.aborted).toBe(true));
  });

  it('aborts the handler’s signal when the client cancels', async () => {
    let signal: AbortSignal | undefined;
    const { client } = await serve({
      Controller: {
        ListSnapshots: (_req, call) => {
          signal = call.signal;
          return new Promise(() => undefined);
        },
      },
    });
    const cancel = new AbortController();
    const pending = grpcError(client.Controller.ListSnapshots!({}, { signal: cancel.signal }));
    await vi.waitFor(() => expect(signal).toBeDefined());
    cancel.abort();
    expect((await pending).code).toBe(status.CANCELLED);
    await vi.waitFor(() => expect(signal?.aborted).toBe(true));
    expect((signal?.reason as CsiError | undefined)?.reason).toBe('CANCELLED');
  });

  it('calls the metrics/tracing hooks and hands the trace context to the handler', async () => {
    const outcomes: (CallOutcome & { method: string })[] = [];
    const traces: (string | undefined)[] = [];
    const { client } = await serve(
      {
        Controller: {
          ListSnapshots: async (_req, call) => {
            traces.push(call.traceparent);
            return { entries: [], next_token: '' };
          },
          DeleteSnapshot: async () => {
            throw new CsiError('MISSING_SNAPSHOT_ID', 'snapshot_id is required');
          },
        },
      },
      {
        hooks: {
          onCall: ({ method, metadata }) => ({
            ...(metadata.get('x-test')[0] === 'hooked' ? { traceparent: '00-hooked-01' } : {}),
            end: (outcome) => outcomes.push({ ...outcome, method }),
          }),
        },
      },
    );
    await client.Controller.ListSnapshots!({}, { metadata: { traceparent: '00-from-client-01' } });
    await client.Controller.ListSnapshots!({}, { metadata: { 'x-test': 'hooked' } });
    await grpcError(client.Controller.DeleteSnapshot!({}));
    expect(traces).toEqual(['00-from-client-01', '00-hooked-01']);
    expect(outcomes.map(({ method, code, reason }) => ({ method, code, reason }))).toEqual([
      { method: 'ListSnapshots', code: 'OK', reason: undefined },
      { method: 'ListSnapshots', code: 'OK', reason: undefined },
      { method: 'DeleteSnapshot', code: 'INVALID_ARGUMENT', reason: 'MISSING_SNAPSHOT_ID' },
    ]);
    expect(outcomes.every((o) => o.durationSeconds >= 0 && o.durationSeconds < 5)).toBe(true);
  });
});

describe('shutdown', () => {
  it('drains: in-flight calls finish, new calls are refused, the socket is removed', async () => {
    let arrived = false;
    const { server, client, socket } = await serve({
      Controller: {
        ListSnapshots: () => {
          arrived = true;
          // Still working when the drain begins.
          return new Promise((res) => setTimeout(() => res({ entries: [], next_token: 'done' }), 400));
        },
      },
    });
    const inFlight = client.Controller.ListSnapshots!({});
    await vi.waitFor(() => expect(arrived).toBe(true));
    const stopped = server.stop(5_000);
    expect((await inFlight).next_token).toBe('done');
    await stopped;
    expect(existsSync(socket)).toBe(false);
    const late = createCsiClient(`unix://${socket}`);
    cleanups.push(() => late.close());
    expect((await grpcError(late.Identity.Probe!({}, { timeoutMs: 1000 }))).code).toBeOneOf([
      status.UNAVAILABLE,
      status.DEADLINE_EXCEEDED,
    ]);
  });

  it('cancels calls still running after the grace period', async () => {
    let signal: AbortSignal | undefined;
    const { server, client } = await serve({
      Controller: {
        ListSnapshots: (_req, call) => {
          signal = call.signal;
          return new Promise(() => undefined);
        },
      },
    });
    const pending = grpcError(client.Controller.ListSnapshots!({}));
    await vi.waitFor(() => expect(signal).toBeDefined());
    const started = Date.now();
    await server.stop(300);
    expect(Date.now() - started).toBeLessThan(2000);
    expect((await pending).code).toBeOneOf([status.CANCELLED, status.UNAVAILABLE]);
    expect(signal?.aborted).toBe(true);
  });

  it('drains on SIGTERM in a process wired like main.ts', async () => {
    const socket = join(dir, 'csi.sock');
    const script = resolve(import.meta.dirname, 'serve-fixture.ts');
    const child: ChildProcess = spawn(process.execPath, [script, socket], {
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    cleanups.push(() => child.kill('SIGKILL'));
    const printed = (text: string) =>
      new Promise<void>((res) => {
        let seen = '';
        const onData = (chunk: Buffer) => {
          seen += chunk.toString('utf8');
          if (!seen.includes(text)) return;
          child.stdout!.off('data', onData);
          res();
        };
        child.stdout!.on('data', onData);
      });
    await printed('serving');
    const client = createCsiClient(`unix://${socket}`);
    cleanups.push(() => client.close());
    const reached = printed('in-flight');
    const inFlight = client.Controller.ListSnapshots!({});
    await reached; // the handler runs: SIGTERM now finds the call in flight
    child.kill('SIGTERM');
    expect((await inFlight).next_token).toBe('slow-call-finished');
    const code = await new Promise((res) => child.once('exit', res));
    expect(code).toBe(0);
    expect(existsSync(socket)).toBe(false);
  });
});
