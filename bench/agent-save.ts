// Agent save throughput against `etcdctl snapshot save` on the same database, in the same run.
// A local 1-member etcd (test/harness/etcd-processes.ts) is loaded with BENCH_SIZE_MIB MiB
// (default 1024) of incompressible 1 MiB values; then, alternating BENCH_ROUNDS times (default 3):
//   1. `etcdctl snapshot save` (stream + fsync, no check of the file);
//   2. `agent save`, what the pipeline's save Job runs for a snapshot: health check, the stream
//      with its in-stream verification (announced size, etcd's SHA-256 trailer, the file's
//      SHA-256 in the same pass), fsync, `etcdutl snapshot status`, the meta file;
//   3. `agent verify`, a separate re-read of the file (the pipeline does not run it after a save).
// Prints wall times (process start to exit), MB/s, the agent's own seconds per phase, and the
// ratios to etcdctl, with the load average at each round (the machine is shared). The issue's
// goal: agent save ≤ 1.10 × etcdctl.
//   node bench/agent-save.ts            BENCH_SIZE_MIB=256 BENCH_ROUNDS=5 node bench/agent-save.ts
// BENCH_ENDPOINT=http://… uses an etcd that is already loaded (no cluster started, nothing put).
// BENCH_BASELINE=<dir> also runs the agent of another checkout (e.g. `git archive <commit> src`
// with node_modules linked) in each round, between etcdctl and this agent: a change's effect in
// the same run. BENCH_VERIFY=0 skips `agent verify`.
// Where /usr/bin/time exists, etcdctl and each agent save run under it: their user and system CPU
// seconds and peak RSS (the process's or a waited-for child's, e.g. etcdutl) are printed too.
import { execFile, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
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
const BASELINE = process.env.BENCH_BASELINE;
const VERIFY = process.env.BENCH_VERIFY !== '0';
const TIME = existsSync('/usr/bin/time') ? '/usr/bin/time' : undefined;

interface Cpu {
  user: number;
  sys: number;
  maxRssMiB: number;
}

/** argv run under /usr/bin/time writing to `out`, when it exists; then `cpuOf(out)` reads it. */
function underTime(argv: string[], out: string): string[] {
  return TIME ? [TIME, '-f', '%U %S %M', '-o', out, ...argv] : argv;
}

function cpuOf(out: string): Cpu | undefined {
  if (!TIME || !existsSync(out)) return undefined;
  const fields = readFileSync(out, 'utf8').trim().split('\n').at(-1)?.split(' ').map(Number) ?? [];
  rmSync(out);
  const [user, sys, kib] = fields;
  return user === undefined || sys === undefined || kib === undefined
    ? undefined
    : { user, sys, maxRssMiB: kib / 1024 };
}

const cpuText = (c: Cpu | undefined) =>
  c
    ? ` [user ${c.user.toFixed(2)} s, sys ${c.sys.toFixed(2)} s, peak RSS ${c.maxRssMiB.toFixed(0)} MiB]`
    : '';

/** Runs the agent; resolves with its exit code and the phase seconds of its final log line. */
function runAgent(
  argv: string[],
  root = PROJECT_ROOT,
  timeFile?: string,
): Promise<{ code: number; phases: Record<string, number> }> {
  return new Promise((resolve, reject) => {
    const command = [
      join(PROJECT_ROOT, 'node_modules/.bin/node'),
      join(root, 'src/agent/process-entry.ts'),
      ...argv,
      '--termination-log=/dev/null',
    ];
    const [file, ...args] = timeFile ? underTime(command, timeFile) : command;
    const child = spawn(file as string, args, {
      env: { ...process.env, PATH: `${toolsBinDir()}:/usr/bin:/bin` },
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    let stderr = '';
    child.stderr.setEncoding('utf8').on('data', (d: string) => {
      stderr += d;
    });
    child.on('error', reject);
    child.on('close', (code) => {
      let phases: Record<string, number> = {};
      for (const line of stderr.split('\n')) {
        if (!line.includes('phase_seconds')) continue;
        phases = (JSON.parse(line) as { phase_seconds: Record<string, number> }).phase_seconds;
      }
      if (code !== 0) process.stderr.write(stderr);
      resolve({ code: code ?? -1, phases });
    });
  });
}

async function timed(fn: () => Promise<unknown>): Promise<number> {
  const t = performance.now();
  await fn();
  return (performance.now() - t) / 1000;
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] as number;

const external = process.env.BENCH_ENDPOINT;
const cluster = external
  ? undefined
  : await startEtcdProcessCluster({
      size: 1,
      quotaBackendBytes: 8 * 1024 ** 3,
      extraArgs: ['--log-level=error'],
    });
const workDir = cluster?.dir ?? mkdtempSync(join(tmpdir(), 'agent-save-bench-'));
try {
  const endpoint = external ?? (cluster?.endpoints[0] as string);
  const client = new EtcdClient(endpoint, { credentials: NO_CREDENTIALS, callTimeoutMs: 60_000 });
  const loadStart = performance.now();
  let next = 0;
  await Promise.all(
    Array.from({ length: external ? 0 : 4 }, async () => {
      for (let i = next++; i < SIZE_MIB; i = next++) {
        await client.put(`/bench/${String(i).padStart(6, '0')}`, randomBytes(1024 * 1024));
      }
    }),
  );
  const status = await client.status();
  client.close();
  console.log(
    external
      ? `etcd at ${endpoint}: db ${(status.dbSizeBytes / 2 ** 20).toFixed(0)} MiB`
      : `loaded ${SIZE_MIB} MiB in ${((performance.now() - loadStart) / 1000).toFixed(1)} s; db ${(status.dbSizeBytes / 2 ** 20).toFixed(0)} MiB`,
  );

  const dir = join(workDir, 'bench');
  const rows: {
    etcdctl: number;
    save: number;
    baseline: number;
    verify: number;
    bytes: number;
    phases: Record<string, number>;
    ctlCpu: Cpu | undefined;
    saveCpu: Cpu | undefined;
  }[] = [];
  for (let round = 1; round <= ROUNDS; round++) {
    const ctlFile = join(dir, 'etcdctl', 'snapshot.db');
    mkdirSync(join(dir, 'etcdctl'), { recursive: true });
    const ctlTime = join(dir, 'etcdctl.time');
    const [ctlCommand, ...ctlArgs] = underTime(
      [tool('etcdctl'), `--endpoints=${endpoint}`, 'snapshot', 'save', ctlFile],
      ctlTime,
    );
    const etcdctl = await timed(() => execFileAsync(ctlCommand as string, ctlArgs));
    const ctlCpu = cpuOf(ctlTime);
    const bytes = statSync(ctlFile).size;
    rmSync(ctlFile);
    let baseline = 0;
    if (BASELINE) {
      const baseFile = join(dir, `baseline-${round}`, 'snapshot.db');
      let based = { code: 0 };
      baseline = await timed(async () => {
        based = await runAgent(
          saveCommand({ endpoints: [endpoint], file: baseFile, snapshotId: `base-${round}` }),
          BASELINE,
        );
      });
      if (based.code !== 0) throw new Error(`baseline agent save exited ${based.code}`);
      rmSync(join(dir, `baseline-${round}`), { recursive: true, force: true });
    }
    const file = join(dir, `agent-${round}`, 'snapshot.db');
    const saveTime = join(dir, 'agent.time');
    let saved = { code: 0, phases: {} as Record<string, number> };
    const save = await timed(async () => {
      saved = await runAgent(
        saveCommand({ endpoints: [endpoint], file, snapshotId: `bench-${round}` }),
        PROJECT_ROOT,
        saveTime,
      );
    });
    const saveCpu = cpuOf(saveTime);
    if (saved.code !== 0) throw new Error(`agent save exited ${saved.code}`);
    let verified = { code: 0 };
    const verify = VERIFY
      ? await timed(async () => {
          verified = await runAgent(verifyCommand({ file }));
        })
      : 0;
    if (verified.code !== 0) throw new Error(`agent verify exited ${verified.code}`);
    rmSync(join(dir, `agent-${round}`), { recursive: true, force: true });
    rows.push({ etcdctl, save, baseline, verify, bytes, phases: saved.phases, ctlCpu, saveCpu });
    const p = saved.phases;
    const base = BASELINE
      ? ` | baseline agent ${baseline.toFixed(2)} s (${(baseline / etcdctl).toFixed(2)}×)`
      : '';
    console.log(
      `round ${round}: load ${loadavg()[0]?.toFixed(1)} | etcdctl ${etcdctl.toFixed(2)} s${cpuText(ctlCpu)}${base} | agent save ${save.toFixed(2)} s${cpuText(saveCpu)} (${(save / etcdctl).toFixed(2)}×; stream ${p.stream} s, fsync ${p.fsync} s, etcdutl status ${p.check} s, overlapping) | agent verify ${verify.toFixed(2)} s`,
    );
  }
  const mb = (rows[0]?.bytes ?? 0) / 1e6;
  const e = median(rows.map((r) => r.etcdctl));
  const s = median(rows.map((r) => r.save));
  const v = median(rows.map((r) => r.verify));
  const ratio = median(rows.map((r) => r.save / r.etcdctl));
  const phase = (name: string) => median(rows.map((r) => r.phases[name] ?? 0)).toFixed(2);
  console.log(
    `\nsnapshot ${mb.toFixed(0)} MB, medians of ${ROUNDS} alternating rounds (wall: process start to exit):`,
  );
  console.log(`  etcdctl snapshot save                     ${e.toFixed(2)} s  ${(mb / e).toFixed(0)} MB/s`);
  console.log(
    `  agent save (the pipeline's Job; verifies in-stream, etcdutl status)  ${s.toFixed(2)} s  ${(mb / s).toFixed(0)} MB/s  ${(s / e).toFixed(2)}× etcdctl; median of the rounds' ratios ${ratio.toFixed(2)}× (goal ≤ 1.10×)`,
  );
  const cpuMedian = (pick: (r: (typeof rows)[number]) => Cpu | undefined) => {
    const cpus = rows.map(pick).filter((c): c is Cpu => c !== undefined);
    return cpus.length === rows.length
      ? cpuText({
          user: median(cpus.map((c) => c.user)),
          sys: median(cpus.map((c) => c.sys)),
          maxRssMiB: median(cpus.map((c) => c.maxRssMiB)),
        })
      : '';
  };
  if (TIME) {
    console.log(
      `  CPU, medians: etcdctl${cpuMedian((r) => r.ctlCpu)}; agent save${cpuMedian((r) => r.saveCpu)}`,
    );
  }
  if (BASELINE) {
    const b = median(rows.map((r) => r.baseline));
    const baseRatio = median(rows.map((r) => r.baseline / r.etcdctl));
    const change = median(rows.map((r) => r.save / r.baseline));
    console.log(
      `  baseline agent save (${BASELINE})  ${b.toFixed(2)} s  median ratio ${baseRatio.toFixed(2)}× etcdctl; this agent / baseline ${change.toFixed(2)}×`,
    );
  }
  console.log(
    `    agent phases: health ${phase('health')} s, stream ${phase('stream')} s, fsync ${phase('fsync')} s, etcdutl status ${phase('check')} s (concurrent with the fsync)`,
  );
  if (VERIFY) {
    console.log(
      `  agent verify (separate re-read; not run by the pipeline)  ${v.toFixed(2)} s  ${(mb / v).toFixed(0)} MB/s`,
    );
    console.log(
      `  agent save + agent verify                 ${(s + v).toFixed(2)} s  ${((s + v) / e).toFixed(2)}× etcdctl`,
    );
  }
} finally {
  await cluster?.stop();
  if (!cluster) rmSync(workDir, { recursive: true, force: true });
}
