// Agent save throughput against `etcdctl snapshot save` on the same database, in the same run.
// A local 1-member etcd (test/harness/etcd-processes.ts) is loaded with BENCH_SIZE_MIB MiB
// (default 1024) of incompressible 1 MiB values; then, alternating BENCH_ROUNDS times (default 3):
// etcdctl snapshot save, the agent's save (which verifies SHA-256 + etcd's trailer in the stream
// and runs etcdutl snapshot status), and the agent's verify (re-reads the file). Prints wall
// times, MB/s and the ratios to etcdctl (goal: agent save ≤ 1.15 × etcdctl).
//   node bench/agent-save.ts            BENCH_SIZE_MIB=256 BENCH_ROUNDS=5 node bench/agent-save.ts
import { execFile, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { rmSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { saveCommand, verifyCommand } from '../src/agent/contract.ts';
import { EtcdClient } from '../src/etcd/client/etcd-client.ts';
import { NO_CREDENTIALS } from '../src/etcd/credentials.ts';
import { startEtcdProcessCluster } from '../test/harness/etcd-processes.ts';
import { PROJECT_ROOT, tool, toolsBinDir } from '../test/harness/tools.ts';

const execFileAsync = promisify(execFile);
const SIZE_MIB = Number(process.env.BENCH_SIZE_MIB ?? 1024);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 3);

function runAgent(argv: string[]): Promise<number> {
  return new Promise((resolve, reject) => {
    const child = spawn(
      join(PROJECT_ROOT, 'node_modules/.bin/node'),
      [join(PROJECT_ROOT, 'src/agent/process-entry.ts'), ...argv, '--termination-log=/dev/null'],
      {
        env: { ...process.env, PATH: `${toolsBinDir()}:/usr/bin:/bin` },
        stdio: ['ignore', 'ignore', 'inherit'],
      },
    );
    child.on('error', reject);
    child.on('exit', (code) => resolve(code ?? -1));
  });
}

async function timed(fn: () => Promise<unknown>): Promise<number> {
  const t = performance.now();
  await fn();
  return (performance.now() - t) / 1000;
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] as number;

const cluster = await startEtcdProcessCluster({
  size: 1,
  quotaBackendBytes: 8 * 1024 ** 3,
  extraArgs: ['--log-level=error'],
});
try {
  const endpoint = cluster.endpoints[0] as string;
  const client = new EtcdClient(endpoint, { credentials: NO_CREDENTIALS, callTimeoutMs: 60_000 });
  const loadStart = performance.now();
  let next = 0;
  await Promise.all(
    Array.from({ length: 4 }, async () => {
      for (let i = next++; i < SIZE_MIB; i = next++) {
        await client.put(`/bench/${String(i).padStart(6, '0')}`, randomBytes(1024 * 1024));
      }
    }),
  );
  const status = await client.status();
  client.close();
  console.log(
    `loaded ${SIZE_MIB} MiB in ${((performance.now() - loadStart) / 1000).toFixed(1)} s; db ${(status.dbSizeBytes / 2 ** 20).toFixed(0)} MiB`,
  );

  const dir = join(cluster.dir, 'bench');
  const rows: { etcdctl: number; save: number; verify: number; bytes: number }[] = [];
  for (let round = 1; round <= ROUNDS; round++) {
    const ctlFile = join(dir, 'etcdctl', 'snapshot.db');
    await execFileAsync('mkdir', ['-p', join(dir, 'etcdctl')]);
    const etcdctl = await timed(() =>
      execFileAsync(tool('etcdctl'), [`--endpoints=${endpoint}`, 'snapshot', 'save', ctlFile]),
    );
    const bytes = statSync(ctlFile).size;
    rmSync(ctlFile);
    const file = join(dir, `agent-${round}`, 'snapshot.db');
    let code = 0;
    const save = await timed(async () => {
      code = await runAgent(saveCommand({ endpoints: [endpoint], file, snapshotId: `bench-${round}` }));
    });
    if (code !== 0) throw new Error(`agent save exited ${code}`);
    const verify = await timed(async () => {
      code = await runAgent(verifyCommand({ file }));
    });
    if (code !== 0) throw new Error(`agent verify exited ${code}`);
    rmSync(join(dir, `agent-${round}`), { recursive: true, force: true });
    rows.push({ etcdctl, save, verify, bytes });
    console.log(
      `round ${round}: etcdctl ${etcdctl.toFixed(2)} s | agent save ${save.toFixed(2)} s (${(save / etcdctl).toFixed(2)}×) | verify ${verify.toFixed(2)} s | save+verify ${(save + verify).toFixed(2)} s (${((save + verify) / etcdctl).toFixed(2)}×)`,
    );
  }
  const mb = (rows[0]?.bytes ?? 0) / 1e6;
  const e = median(rows.map((r) => r.etcdctl));
  const s = median(rows.map((r) => r.save));
  const v = median(rows.map((r) => r.verify));
  console.log(`\nsnapshot ${mb.toFixed(0)} MB, medians of ${ROUNDS} rounds:`);
  console.log(`  etcdctl snapshot save   ${e.toFixed(2)} s  ${(mb / e).toFixed(0)} MB/s`);
  console.log(
    `  agent save              ${s.toFixed(2)} s  ${(mb / s).toFixed(0)} MB/s  ratio ${(s / e).toFixed(2)}× (goal ≤ 1.15×)`,
  );
  console.log(`  agent verify            ${v.toFixed(2)} s  ${(mb / v).toFixed(0)} MB/s`);
  console.log(`  agent save + verify     ${(s + v).toFixed(2)} s  ratio ${((s + v) / e).toFixed(2)}×`);
} finally {
  await cluster.stop();
}
