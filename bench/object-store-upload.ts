// Off-cluster copies (issue 13, docs/object-store.md): `agent upload` against a real S3 server
// (versitygw, test/harness/s3-server.ts) in the same run as `agent save` and the raw SDK.
// A local 1-member etcd is loaded with BENCH_SIZE_MIB MiB (default 256) of Kubernetes-like
// objects (JSON of Pods and ConfigMaps with names, uids, labels, timestamps, managedFields and
// some Secret-like base64: compressible as real clusters are, not random bytes), saved once by
// `agent save`, then, BENCH_ROUNDS times (default 2):
//   - `agent save` alone;
//   - `agent upload` plain, zstd, gzip and zstd + encrypted (each a process, as in a Job);
//   - the raw SDK: lib-storage Upload of the same file with the same part size and queue.
// Prints wall times, MB/s of the db, the stored size (compression ratio), the ratio of
// save + upload to save alone (goal ≤ 1.3×), agent upload MB/s / raw SDK MB/s (goal ≥ 0.9×) and
// the peak RSS of each agent process (/usr/bin/time; goal ≤ 256 MiB). Wall times include the
// agent's process start (Node, the SDK's modules); "in the agent" is its own durationSeconds,
// comparable with the raw SDK's in-process time.
//   node bench/object-store-upload.ts        BENCH_SIZE_MIB=1024 node bench/object-store-upload.ts
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { createReadStream, mkdirSync, mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { S3Client } from '@aws-sdk/client-s3';
import { Upload } from '@aws-sdk/lib-storage';
import { saveCommand, uploadCommand } from '../src/agent/contract.ts';
import { EtcdClient } from '../src/etcd/client/etcd-client.ts';
import { NO_CREDENTIALS } from '../src/etcd/credentials.ts';
import { startEtcdProcessCluster } from '../test/harness/etcd-processes.ts';
import { startS3Server } from '../test/harness/s3-server.ts';
import { PROJECT_ROOT, toolsBinDir } from '../test/harness/tools.ts';

const SIZE_MIB = Number(process.env.BENCH_SIZE_MIB ?? 256);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 2);
const PART_MIB = 8;
const QUEUE = 4;

/** Runs the agent under /usr/bin/time: wall seconds, exit code and peak RSS in MiB. */
function runAgent(
  argv: string[],
): Promise<{ seconds: number; code: number; rssMiB: number; stdout: string }> {
  const started = performance.now();
  return new Promise((resolve, reject) => {
    const child = spawn(
      '/usr/bin/time',
      [
        '-f',
        'maxrss_kib=%M',
        join(PROJECT_ROOT, 'node_modules/.bin/node'),
        join(PROJECT_ROOT, 'src/agent/process-entry.ts'),
        ...argv,
        '--termination-log=/dev/null',
      ],
      { env: { ...process.env, PATH: `${toolsBinDir()}:/usr/bin:/bin` }, stdio: ['ignore', 'pipe', 'pipe'] },
    );
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => {
      stdout += d;
    });
    child.stderr.setEncoding('utf8').on('data', (d: string) => {
      stderr += d;
    });
    child.on('error', reject);
    child.on('close', (code) => {
      const rss = Number(/maxrss_kib=(\d+)/.exec(stderr)?.[1] ?? 0) / 1024;
      if (code !== 0) process.stderr.write(stderr.slice(-3000));
      resolve({ seconds: (performance.now() - started) / 1000, code: code ?? -1, rssMiB: rss, stdout });
    });
  });
}

function kubernetesObject(i: number): string {
  const uid = randomBytes(16).toString('hex');
  const ts = new Date(Date.UTC(2026, 0, 1) + i * 1000).toISOString();
  const labels = { app: `service-${i % 40}`, tier: ['web', 'api', 'worker'][i % 3], release: `r${i % 7}` };
  const managedFields = [
    {
      manager: 'kube-controller-manager',
      operation: 'Update',
      apiVersion: 'v1',
      time: ts,
      fieldsType: 'FieldsV1',
    },
    { manager: 'kubelet', operation: 'Update', apiVersion: 'v1', time: ts, subresource: 'status' },
  ];
  if (i % 5 === 0) {
    return JSON.stringify({
      apiVersion: 'v1',
      kind: 'Secret',
      metadata: {
        name: `tls-${i}`,
        namespace: `ns-${i % 50}`,
        uid,
        creationTimestamp: ts,
        labels,
        managedFields,
      },
      type: 'kubernetes.io/tls',
      data: {
        'tls.crt': randomBytes(1200).toString('base64'),
        'tls.key': randomBytes(900).toString('base64'),
      },
    });
  }
  return JSON.stringify({
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: {
      name: `${labels.app}-${uid.slice(0, 10)}`,
      namespace: `ns-${i % 50}`,
      uid,
      creationTimestamp: ts,
      labels,
      managedFields,
    },
    spec: {
      containers: [
        {
          name: 'main',
          image: `registry.example.com/${labels.app}:1.${i % 30}.0`,
          env: Array.from({ length: 12 }, (_, k) => ({ name: `ENV_${k}`, value: `value-${(i * k) % 997}` })),
          resources: { requests: { cpu: '100m', memory: '128Mi' }, limits: { memory: '256Mi' } },
          volumeMounts: [{ name: 'config', mountPath: '/etc/config' }],
        },
      ],
      nodeName: `node-${i % 100}`,
      serviceAccountName: 'default',
    },
    status: { phase: 'Running', podIP: `10.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}`, startTime: ts },
  });
}

async function main(): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'bench-object-store-'));
  const etcd = await startEtcdProcessCluster({ size: 1, quotaBackendBytes: 8 * 1024 ** 3 });
  const s3 = await startS3Server(`${etcd.subnet}.2.1`, { dir: join(dir, 's3') });
  try {
    const client = new EtcdClient(etcd.endpoints[0] as string, { credentials: NO_CREDENTIALS });
    let bytes = 0;
    // 64 puts in flight: a sequential load of ~100 000 objects would take minutes by itself.
    for (let i = 0; bytes < SIZE_MIB * 1024 * 1024; i += 64) {
      const batch = Array.from({ length: 64 }, (_, k) => kubernetesObject(i + k));
      bytes += batch.reduce((sum, v) => sum + v.length, 0);
      await Promise.all(batch.map((v, k) => client.put(`/registry/objects/${i + k}`, v)));
    }
    client.close();
    const store = join(dir, 'store');
    mkdirSync(store);
    const secret = {
      endpoint: s3.endpoint,
      bucket: s3.bucket,
      forcePathStyle: 'true',
      accessKeyId: s3.credentials.accessKeyId,
      secretAccessKey: s3.credentials.secretAccessKey,
      checksumMode: 'when_required',
      partSizeMiB: String(PART_MIB),
      queueSize: String(QUEUE),
    };
    for (const [k, v] of Object.entries(secret)) writeFileSync(join(store, k), v);
    const keyFile = join(dir, 'key');
    writeFileSync(keyFile, randomBytes(32).toString('base64'));
    const file = join(dir, 'snapshots', 'snap', 'snapshot.db');
    const save = () => runAgent(saveCommand({ endpoints: etcd.endpoints, file, snapshotId: 'bench' }));
    if ((await save()).code !== 0) throw new Error('agent save failed');
    const dbMiB = statSync(file).size / 1024 / 1024;
    console.log(`db ${dbMiB.toFixed(0)} MiB (${SIZE_MIB} MiB of objects), parts ${PART_MIB} MiB × ${QUEUE}`);
    const raw = new S3Client(s3.clientConfig({ requestChecksumCalculation: 'WHEN_REQUIRED' }));

    for (let round = 1; round <= ROUNDS; round++) {
      const s = await save();
      console.log(`round ${round}: agent save ${s.seconds.toFixed(1)} s, RSS ${s.rssMiB.toFixed(0)} MiB`);
      const t = performance.now();
      await new Upload({
        client: raw,
        params: {
          Bucket: s3.bucket,
          Key: `raw/${round}`,
          Body: createReadStream(file, { highWaterMark: 1024 * 1024 }),
        },
        partSize: PART_MIB * 1024 * 1024,
        queueSize: QUEUE,
      }).done();
      const rawSeconds = (performance.now() - t) / 1000;
      console.log(
        `  raw SDK Upload          ${rawSeconds.toFixed(1)} s  ${(dbMiB / rawSeconds).toFixed(0)} MiB/s`,
      );
      for (const [name, compression, encrypted] of [
        ['plain', 'none', false],
        ['zstd', 'zstd', false],
        ['gzip', 'gzip', false],
        ['zstd+encrypted', 'zstd', true],
      ] as const) {
        const u = await runAgent(
          uploadCommand({
            file,
            storeConfigDir: store,
            namespace: 'bench',
            cluster: 'etcd',
            snapshot: `${name.replace('+', '-')}-${round}`,
            compression,
            ...(encrypted ? { encryptionKeyFile: keyFile } : {}),
          }),
        );
        if (u.code !== 0) throw new Error(`agent upload ${name} failed`);
        const result = JSON.parse(u.stdout.trim().split('\n').at(-1) as string) as {
          remote: { sizeBytes: number };
          durationSeconds: number;
        };
        const storedMiB = result.remote.sizeBytes / 1024 / 1024;
        console.log(
          `  agent upload ${name.padEnd(15)} ${u.seconds.toFixed(1)} s  ${(dbMiB / u.seconds).toFixed(0)} MiB/s` +
            ` (in the agent ${result.durationSeconds.toFixed(1)} s, ${(dbMiB / result.durationSeconds).toFixed(0)} MiB/s,` +
            ` vs raw ${(rawSeconds / result.durationSeconds).toFixed(2)}×)` +
            `  stored ${storedMiB.toFixed(0)} MiB (ratio ${(dbMiB / storedMiB).toFixed(2)})` +
            `  save+upload/save ${((s.seconds + u.seconds) / s.seconds).toFixed(2)}×` +
            `  vs raw ${(rawSeconds / u.seconds).toFixed(2)}×  RSS ${u.rssMiB.toFixed(0)} MiB`,
        );
      }
    }
    raw.destroy();
  } finally {
    await s3.stop();
    await etcd.stop();
    rmSync(dir, { recursive: true, force: true });
  }
}

await main();
