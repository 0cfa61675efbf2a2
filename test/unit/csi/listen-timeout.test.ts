// --csi-listen-timeout (CSI_LISTEN_TIMEOUT): while another live process still holds the CSI
// endpoint, start-up waits for it (up to the timeout) instead of failing at once; after the
// timeout it refuses to start, naming the endpoint and the timeout. Real sockets, real gRPC.
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer, type Server as NetServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createCsiClient } from '../../../src/csi/csi-client.ts';
import { identityService } from '../../../src/csi/identity-service.ts';
import { type CsiServer, startCsiServer } from '../../../src/csi/server.ts';
import { waitUntil } from '../../harness/process.ts';
import { BUILD, memoryLogger } from './fakes.ts';

let dir: string;
const cleanups: (() => unknown)[] = [];
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'csi-listen-'));
});
afterEach(async () => {
  for (const fn of cleanups.splice(0).reverse()) await fn();
  rmSync(dir, { recursive: true, force: true });
});

function hold(listen: (s: NetServer, ready: () => void) => void): Promise<NetServer> {
  const holder = createServer((socket) => socket.destroy());
  return new Promise((resolve) => listen(holder, () => resolve(holder)));
}
const release = (holder: NetServer) => new Promise<void>((resolve) => holder.close(() => resolve()));

const until = (what: string, condition: () => boolean) =>
  waitUntil(what, condition, { timeoutMs: 20_000, intervalMs: 20 });

const services = {
  Identity: identityService({
    driverName: 'etcd-snapshot-driver',
    build: BUILD,
    readiness: { cachesSynced: () => true, apiReachable: () => true },
  }),
};
const waiting = (lines: () => Record<string, unknown>[]) => () =>
  lines().some((l) => String(l.message).endsWith('waiting for it to be released'));

describe('CSI listen timeout', () => {
  it('waits for a unix socket a live process holds, and serves once it is released', async () => {
    const socket = join(dir, 'csi.sock');
    const holder = await hold((s, ready) => s.listen(socket, ready));
    const { log, lines } = memoryLogger();
    let server: CsiServer | undefined;
    const started = startCsiServer({
      endpoints: [`unix://${socket}`],
      services,
      log,
      listenTimeoutMs: 60_000,
    });
    started.then((s) => {
      server = s;
      cleanups.push(() => s.stop(100));
    });
    await until('the driver waits', waiting(lines));
    expect(server).toBeUndefined();
    await release(holder);
    await started;
    const client = createCsiClient(server!.addresses[0]!);
    cleanups.push(() => client.close());
    expect((await client.Identity.GetPluginInfo!()).name).toBe('etcd-snapshot-driver');
  });

  it('waits for a TCP port in use', async () => {
    const holder = await hold((s, ready) => s.listen(0, '127.0.0.1', ready));
    const port = (holder.address() as { port: number }).port;
    const { log, lines } = memoryLogger();
    const started = startCsiServer({
      endpoints: [`tcp://127.0.0.1:${port}`],
      services,
      log,
      listenTimeoutMs: 60_000,
    });
    await until('the driver waits', waiting(lines));
    await release(holder);
    const server = await started;
    cleanups.push(() => server.stop(100));
    expect(server.addresses).toEqual([`tcp://127.0.0.1:${port}`]);
  });

  it('refuses to start when the endpoint is still held after the timeout, naming both', async () => {
    const socket = join(dir, 'held.sock');
    const holder = await hold((s, ready) => s.listen(socket, ready));
    cleanups.push(() => release(holder));
    const { log } = memoryLogger();
    await expect(
      startCsiServer({ endpoints: [`unix://${socket}`], services, log, listenTimeoutMs: 300 }),
    ).rejects.toThrow(
      `CSI endpoint ${socket} is served by another live process; still held after 0.3s (--csi-listen-timeout); refusing to start`,
    );
  });

  it('stops waiting when start-up is aborted (a signal while the endpoint is held)', async () => {
    const socket = join(dir, 'aborted.sock');
    const holder = await hold((s, ready) => s.listen(socket, ready));
    cleanups.push(() => release(holder));
    const { log, lines } = memoryLogger();
    const abort = new AbortController();
    const started = startCsiServer({
      endpoints: [`unix://${socket}`],
      services,
      log,
      listenTimeoutMs: 600_000,
      signal: abort.signal,
    });
    const outcome = started.then(
      () => 'served',
      (err: unknown) => (err as Error).name,
    );
    await until('the server waits for the endpoint', waiting(lines));
    abort.abort();
    expect(await outcome).toBe('AbortError');
  });
});
