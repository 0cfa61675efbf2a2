// Many small single-member etcd clusters as local processes, for the many-clusters bench. One
// loopback slot (test/harness/cluster-slot.ts) holds them all — member i listens on
// <subnet>.<1 + i / 250>.<1 + i % 250> — because the slots are few (200) and shared with every
// test: a slot per cluster, as test/harness/etcd-processes.ts takes, would exhaust them.
// Slow ticks (heartbeat 1 s) keep 200 idle members from costing a core between them.
import { execFile } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { claimSlot } from '../test/harness/cluster-slot.ts';
import { type ManagedProcess, startProcess, waitFor } from '../test/harness/process.ts';
import { tool } from '../test/harness/tools.ts';

const execFileAsync = promisify(execFile);
const PER_OCTET = 250;

export interface EtcdFleetMember {
  name: string;
  /** http://<ip>:2379 */
  endpoint: string;
  process: ManagedProcess;
}

export interface EtcdFleet {
  members: EtcdFleetMember[];
  /** Starts members until there are `count`; each answers before this resolves. */
  grow(count: number): Promise<void>;
  /** Sum of the members' RSS in bytes (from /proc). */
  rssBytes(): Promise<number>;
  stop(): Promise<void>;
}

export function startEtcdFleet(prefix: string): EtcdFleet {
  const slot = claimSlot();
  const dir = mkdtempSync(join(tmpdir(), 'etcd-fleet-'));
  const members: EtcdFleetMember[] = [];

  const start = async (i: number): Promise<EtcdFleetMember> => {
    const name = `${prefix}${i}`;
    const ip = `${slot.subnet}.${1 + Math.floor(i / PER_OCTET)}.${1 + (i % PER_OCTET)}`;
    const dataDir = join(dir, name);
    mkdirSync(dataDir);
    const endpoint = `http://${ip}:2379`;
    const process = startProcess(
      `etcd-${name}`,
      tool('etcd'),
      [
        `--name=${name}`,
        `--data-dir=${dataDir}`,
        `--listen-client-urls=${endpoint}`,
        `--advertise-client-urls=${endpoint}`,
        `--listen-peer-urls=http://${ip}:2380`,
        `--initial-advertise-peer-urls=http://${ip}:2380`,
        `--initial-cluster=${name}=http://${ip}:2380`,
        '--initial-cluster-state=new',
        '--unsafe-no-fsync',
        '--log-level=error',
        '--heartbeat-interval=1000',
        '--election-timeout=5000',
        '--quota-backend-bytes=268435456',
      ],
      { logFile: join(dir, `${name}.log`) },
    );
    await waitFor(
      `etcd ${name} to answer`,
      async () => {
        await execFileAsync(tool('etcdctl'), [`--endpoints=${endpoint}`, 'endpoint', 'health']);
        return true;
      },
      { timeoutMs: 120_000, intervalMs: 500, abortIf: () => (process.hasExited ? 'etcd exited' : undefined) },
    );
    return { name, endpoint, process };
  };

  return {
    members,
    async grow(count) {
      // A few at a time: 200 etcd starts at once on 2 cores time each other out.
      while (members.length < count) {
        const batch = Array.from(
          { length: Math.min(10, count - members.length) },
          (_, k) => members.length + k,
        );
        members.push(...(await Promise.all(batch.map(start))));
      }
    },
    async rssBytes() {
      let total = 0;
      for (const m of members) {
        const status = await readFile(`/proc/${m.process.pid}/status`, 'utf8').catch(() => '');
        total += Number(/VmRSS:\s+(\d+) kB/.exec(status)?.[1] ?? 0) * 1024;
      }
      return total;
    },
    async stop() {
      try {
        await Promise.all(members.map((m) => m.process.stop(5_000)));
      } finally {
        rmSync(dir, { recursive: true, force: true });
        slot.release();
      }
    },
  };
}
