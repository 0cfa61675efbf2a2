// A snapshot stream broken midway is retried from scratch on another healthy member: a TCP proxy
// in front of the preferred member cuts every connection after 512 KiB from etcd.
import { readFileSync } from 'node:fs';
import net from 'node:net';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AGENT_EXIT_CODES, saveCommand } from '../../../src/agent/contract.ts';
import { EtcdClient } from '../../../src/etcd/client/etcd-client.ts';
import { NO_CREDENTIALS } from '../../../src/etcd/credentials.ts';
import { type EtcdProcessCluster, startEtcdProcessCluster } from '../../harness/etcd-processes.ts';
import { runAgentProcess } from './agent-env.ts';

/** Forwards to `target`, closing each connection once more than `cutAfter` bytes came back. */
async function startCuttingProxy(
  host: string,
  target: URL,
  cutAfter: number,
): Promise<{ url: string; close(): void }> {
  const server = net.createServer((client) => {
    const upstream = net.connect(Number(target.port), target.hostname);
    let down = 0;
    client.pipe(upstream);
    upstream.on('data', (d: Buffer) => {
      down += d.length;
      if (down > cutAfter) {
        client.destroy();
        upstream.destroy();
      } else {
        client.write(d);
      }
    });
    client.on('error', () => upstream.destroy());
    upstream.on('error', () => client.destroy());
    client.on('close', () => upstream.destroy());
  });
  await new Promise<void>((resolve) => server.listen(0, host, resolve));
  const { port } = server.address() as net.AddressInfo;
  return { url: `http://${host}:${port}`, close: () => server.close() };
}

describe('agent save when the stream breaks', () => {
  let cluster: EtcdProcessCluster;
  beforeAll(async () => {
    cluster = await startEtcdProcessCluster({ size: 3 });
    const client = new EtcdClient(cluster.endpoints[0] as string, { credentials: NO_CREDENTIALS });
    for (let i = 0; i < 8; i++) await client.put(`/big/${i}`, Buffer.alloc(512 * 1024, i));
    client.close();
  });
  afterAll(async () => {
    await cluster?.stop();
  });

  it('retries on another member and saves a complete file', async () => {
    const proxy = await startCuttingProxy(
      `${cluster.subnet}.3.10`,
      new URL(cluster.endpoints[0] as string),
      512 * 1024,
    );
    try {
      const file = join(cluster.dir, 'snapshots', 'retry', 'snapshot.db');
      const endpoints = [proxy.url, ...cluster.endpoints.slice(1)];
      const run = await runAgentProcess(saveCommand({ endpoints, file, snapshotId: 'retry' }), {
        terminationLog: join(cluster.dir, 'term'),
      });
      expect(run.code, run.stderr).toBe(AGENT_EXIT_CODES.OK);
      expect(run.stderr).toContain('retrying on another member');
      expect(endpoints.slice(1)).toContain(run.result?.member);
      expect(run.result?.sizeBytes).toBe(readFileSync(file).length);
      expect(run.result?.sizeBytes).toBeGreaterThan(4 * 1024 * 1024);
      expect(run.result?.totalKeys).toBe(8);
    } finally {
      proxy.close();
    }
  });

  it('gives up as SNAPSHOT_INCOMPLETE when every member breaks the stream', async () => {
    const proxies = await Promise.all(
      cluster.endpoints.map((e, i) =>
        startCuttingProxy(`${cluster.subnet}.3.${20 + i}`, new URL(e), 256 * 1024),
      ),
    );
    try {
      const run = await runAgentProcess(
        saveCommand({
          endpoints: proxies.map((p) => p.url),
          file: join(cluster.dir, 'snapshots', 'broken', 'snapshot.db'),
          snapshotId: 'broken',
        }),
        { terminationLog: join(cluster.dir, 'term') },
      );
      expect(run.code).toBe(AGENT_EXIT_CODES.CORRUPT_STREAM);
      expect(run.terminationMessage?.error?.reason).toBe('SNAPSHOT_INCOMPLETE');
      expect(run.terminationMessage?.error?.message).toMatch(/after 3 attempts/);
    } finally {
      for (const p of proxies) p.close();
    }
  });
});
