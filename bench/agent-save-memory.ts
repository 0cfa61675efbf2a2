// The save Job's memory under its limit: `agent save` of a large database (BENCH_SIZE_MIB,
// default 2048) run in a memory cgroup limited to the save Job's default limit (512Mi, the
// pipeline's DEFAULT_PIPELINE_OPTIONS), as the process kubelet runs a Job's container
// (test/harness/kubelet/memory-cgroup.ts): an OOM kill there is what a node does to the Job.
// Prints the exit code, the cgroup's OOM kills and peak charge (page cache included), and the
// peak RSS of the agent's Node process and of etcdutl (VmHWM, sampled every 50 ms).
//   node bench/agent-save-memory.ts        BENCH_ENDPOINT=http://… uses an etcd already loaded
// Needs a writable cgroup v1 memory controller (root); says so and exits 2 elsewhere.
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { saveCommand } from '../src/agent/contract.ts';
import { EtcdClient } from '../src/etcd/client/etcd-client.ts';
import { NO_CREDENTIALS } from '../src/etcd/credentials.ts';
import { DEFAULT_PIPELINE_OPTIONS } from '../src/reconcile/etcd-snapshot/options.ts';
import { startEtcdProcessCluster } from '../test/harness/etcd-processes.ts';
import { detectMemoryCgroups } from '../test/harness/kubelet/memory-cgroup.ts';
import { parseQuantity } from '../test/harness/kubelet/quantity.ts';
import { PROJECT_ROOT, toolsBinDir } from '../test/harness/tools.ts';

const SIZE_MIB = Number(process.env.BENCH_SIZE_MIB ?? 2048);
const LIMIT = process.env.BENCH_LIMIT ?? DEFAULT_PIPELINE_OPTIONS.resources.limits?.memory ?? '512Mi';
const MIB = 2 ** 20;

const detected = detectMemoryCgroups();
if (!detected.cgroups) {
  console.log(`cannot enforce a memory limit here: ${detected.reason}`);
  process.exit(2);
}
const cgroups = detected.cgroups;

/** VmHWM (peak RSS) in bytes of each process in the cgroup, by command name. */
function sampleHighWater(procsFile: string, peaks: Map<string, number>): void {
  for (const pid of readFileSync(procsFile, 'utf8').split('\n').filter(Boolean)) {
    try {
      const status = readFileSync(`/proc/${pid}/status`, 'utf8');
      const comm = /^Name:\s+(\S+)/m.exec(status)?.[1] ?? '?';
      // The agent's one Node process: "node" until Node names its main thread "MainThread".
      const name = comm === 'MainThread' || comm === 'node' ? 'agent (node)' : comm;
      const hwm = Number(/^VmHWM:\s+(\d+) kB/m.exec(status)?.[1] ?? 0) * 1024;
      peaks.set(name, Math.max(peaks.get(name) ?? 0, hwm));
    } catch {
      // exited between the listing and the read
    }
  }
}

async function saveUnderLimit(endpoint: string, file: string, round: number) {
  const cgroup = cgroups.create(`agent-save-${round}`, parseQuantity(LIMIT));
  const peaks = new Map<string, number>();
  const started = performance.now();
  const child = spawn(
    '/bin/sh',
    [
      '-c',
      'echo $$ > "$0" && exec "$@"',
      cgroup.procsFile,
      join(PROJECT_ROOT, 'node_modules/.bin/node'),
      join(PROJECT_ROOT, 'src/agent/process-entry.ts'),
      ...saveCommand({ endpoints: [endpoint], file, snapshotId: `memory-${round}` }),
      '--termination-log=/dev/null',
    ],
    { env: { ...process.env, PATH: `${toolsBinDir()}:/usr/bin:/bin` }, stdio: ['ignore', 'ignore', 'pipe'] },
  );
  let stderr = '';
  child.stderr.setEncoding('utf8').on('data', (d: string) => {
    stderr += d;
  });
  const timer = setInterval(() => sampleHighWater(cgroup.procsFile, peaks), 50);
  const code = await new Promise<number>((resolve) => {
    child.on('close', (c, signal) => resolve(c ?? (signal === 'SIGKILL' ? 137 : 128)));
  });
  clearInterval(timer);
  const seconds = (performance.now() - started) / 1000;
  const result = { code, seconds, oomKills: cgroup.oomKills(), cgroupPeak: cgroup.peakBytes() ?? 0, peaks };
  cgroup.remove();
  if (code !== 0) process.stderr.write(stderr.split('\n').slice(-5).join('\n'));
  return result;
}

const external = process.env.BENCH_ENDPOINT;
const cluster = external
  ? undefined
  : await startEtcdProcessCluster({
      size: 1,
      quotaBackendBytes: 8 * 1024 ** 3,
      extraArgs: ['--log-level=error'],
    });
const workDir = mkdtempSync(join(tmpdir(), 'agent-save-memory-'));
try {
  const endpoint = external ?? (cluster?.endpoints[0] as string);
  const client = new EtcdClient(endpoint, { credentials: NO_CREDENTIALS, callTimeoutMs: 60_000 });
  let next = 0;
  await Promise.all(
    Array.from({ length: external ? 0 : 4 }, async () => {
      for (let i = next++; i < SIZE_MIB; i = next++)
        await client.put(`/bench/${String(i).padStart(6, '0')}`, randomBytes(MIB));
    }),
  );
  const status = await client.status();
  client.close();
  console.log(`etcd db ${(status.dbSizeBytes / MIB).toFixed(0)} MiB; save Job limit ${LIMIT}`);
  for (let round = 1; round <= Number(process.env.BENCH_ROUNDS ?? 2); round++) {
    const file = join(workDir, `round-${round}`, 'snapshot.db');
    const r = await saveUnderLimit(endpoint, file, round);
    const peaks = [...r.peaks].map(([name, bytes]) => `${name} ${(bytes / MIB).toFixed(0)} MiB`).join(', ');
    console.log(
      `round ${round}: exit ${r.code} in ${r.seconds.toFixed(1)} s; OOM kills ${r.oomKills}; cgroup peak ${(r.cgroupPeak / MIB).toFixed(0)} MiB (page cache included); peak RSS ${peaks}; load ${loadavg()[0]?.toFixed(1)}`,
    );
    rmSync(join(workDir, `round-${round}`), { recursive: true, force: true });
  }
} finally {
  cgroups.remove();
  rmSync(workDir, { recursive: true, force: true });
  await cluster?.stop();
}
