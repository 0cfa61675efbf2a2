// A real N-member etcd cluster of local processes, without Kubernetes: for tests and benchmarks
// of the etcd client, the health check and the agent. Members listen on loopback addresses of a
// claimed slot (cluster-slot.ts), so clusters of parallel test files never collide; data dirs
// live in a temp dir; every process runs under process.ts, so none outlives the test. Variants:
// no auth, client-certificate TLS (client-cert-auth, certificates from pki.ts) and user/password
// (root user, `auth enable`). TLS members' certificates name their IP, or with serverNames 'dns'
// only a DNS name (`<member>.etcd.test`, which nothing resolves): clients then dial the IP and
// check the name, through endpoints like https://127.23.1.10:2379?tls-server-name=m0.etcd.test.
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { claimSlot } from './cluster-slot.ts';
import { createPki, type KeyPair, type Pki } from './pki.ts';
import { type ManagedProcess, startProcess, waitFor } from './process.ts';
import { ensureTools, tool } from './tools.ts';

export type EtcdProcessAuth = 'none' | 'tls' | 'basic';

export interface EtcdProcessClusterOptions {
  size?: number;
  auth?: EtcdProcessAuth;
  /** etcd's backend quota (--quota-backend-bytes); raise it to load more than 2 GiB. */
  quotaBackendBytes?: number;
  /** Extra etcd flags for every member. */
  extraArgs?: string[];
  /** TLS: what the members' serving certificates name; default 'ip'. */
  serverNames?: 'ip' | 'dns';
}

export interface EtcdProcessMember {
  name: string;
  /** Client URL (http:// or https:// by auth; with the TLS server name when certificates name DNS names only). */
  endpoint: string;
  dataDir: string;
  logFile: string;
  readonly running: boolean;
}

export interface EtcdProcessCluster {
  dir: string;
  /** The slot's first two octets ("127.23"): members use <subnet>.1.x, the rest is free for tests. */
  subnet: string;
  auth: EtcdProcessAuth;
  members: EtcdProcessMember[];
  endpoints: string[];
  /** TLS: the PKI, its CA and the client pair (CN root). */
  pki?: Pki;
  clientTls?: KeyPair & { ca: string };
  /** basic: the root user's credentials. */
  user?: { username: string; password: string };
  /** The files a credentials Secret would hold, as a mounted Secret (tls.crt/tls.key/ca.crt or username/password). */
  credentialsDir?: string;
  /** etcdctl against the cluster (or `endpoints`) with the cluster's credentials. */
  etcdctl(args: readonly string[], options?: { input?: string; endpoints?: string[] }): Promise<string>;
  stopMember(index: number): Promise<void>;
  startMember(index: number): Promise<void>;
  /** Waits until every running member answers and one of them is the leader. */
  waitHealthy(timeoutMs?: number): Promise<void>;
  stop(): Promise<void>;
}

const CLIENT_PORT = 2379;
const PEER_PORT = 2380;

export async function startEtcdProcessCluster(
  options: EtcdProcessClusterOptions = {},
): Promise<EtcdProcessCluster> {
  await ensureTools(['etcd']);
  const size = options.size ?? 3;
  const auth = options.auth ?? 'none';
  const slot = claimSlot();
  const dir = mkdtempSync(join(tmpdir(), 'etcd-processes-'));
  const scheme = auth === 'tls' ? 'https' : 'http';
  const ip = (i: number) => `${slot.subnet}.1.${10 + i}`;
  const names = Array.from({ length: size }, (_, i) => `m${i}`);
  const dnsOnly = auth === 'tls' && options.serverNames === 'dns';
  const dnsName = (i: number) => `${names[i]}.etcd.test`;
  const initialCluster = names.map((n, i) => `${n}=http://${ip(i)}:${PEER_PORT}`).join(',');

  let pki: Pki | undefined;
  let clientTls: (KeyPair & { ca: string }) | undefined;
  let credentialsDir: string | undefined;
  const serverPairs: KeyPair[] = [];
  if (auth === 'tls') {
    pki = createPki(join(dir, 'pki'));
    for (let i = 0; i < size; i++) {
      serverPairs.push(
        pki.issue(`server-${i}`, {
          commonName: names[i] as string,
          ...(dnsOnly ? { dnsNames: [dnsName(i)] } : { ipAddresses: [ip(i)] }),
          usage: 'both',
        }),
      );
    }
    const client = pki.issue('client', { commonName: 'root', usage: 'client' });
    clientTls = { ...client, ca: pki.ca.certFile };
    credentialsDir = join(dir, 'credentials');
    mkdirSync(credentialsDir);
    copy(client.certFile, join(credentialsDir, 'tls.crt'));
    copy(client.keyFile, join(credentialsDir, 'tls.key'));
    copy(pki.ca.certFile, join(credentialsDir, 'ca.crt'));
  }

  type Member = EtcdProcessMember & { process?: ManagedProcess; args: string[] };
  const members: Member[] = names.map((name, i) => {
    const url = `${scheme}://${ip(i)}:${CLIENT_PORT}`;
    const endpoint = dnsOnly ? `${url}?tls-server-name=${dnsName(i)}` : url;
    const dataDir = join(dir, name);
    const pair = serverPairs[i];
    const args = [
      `--name=${name}`,
      `--data-dir=${dataDir}`,
      `--listen-client-urls=${url}`,
      `--advertise-client-urls=${dnsOnly ? `https://${dnsName(i)}:${CLIENT_PORT}` : url}`,
      `--listen-peer-urls=http://${ip(i)}:${PEER_PORT}`,
      `--initial-advertise-peer-urls=http://${ip(i)}:${PEER_PORT}`,
      `--initial-cluster=${initialCluster}`,
      `--initial-cluster-token=etcd-processes-${slot.index}`,
      '--initial-cluster-state=new',
      '--unsafe-no-fsync',
      '--log-level=warn',
      // Fast elections keep tests that stop members short.
      '--heartbeat-interval=100',
      '--election-timeout=1000',
      ...(options.quotaBackendBytes ? [`--quota-backend-bytes=${options.quotaBackendBytes}`] : []),
      ...(pair && pki
        ? [
            `--cert-file=${pair.certFile}`,
            `--key-file=${pair.keyFile}`,
            `--trusted-ca-file=${pki.ca.certFile}`,
            '--client-cert-auth',
          ]
        : []),
      ...(options.extraArgs ?? []),
    ];
    const member: Member = {
      name,
      endpoint,
      dataDir,
      logFile: join(dir, `${name}.log`),
      args,
      get running(): boolean {
        return member.process !== undefined && !member.process.hasExited;
      },
    };
    return member;
  });
  const endpoints = members.map((m) => m.endpoint);

  let user: { username: string; password: string } | undefined;
  let authEnabled = false;
  // etcdctl has no server-name flag: against DNS-only certificates the harness's own calls skip
  // the name check (the client certificate still authenticates them).
  const tlsFlags = clientTls
    ? [
        `--cacert=${clientTls.ca}`,
        `--cert=${clientTls.certFile}`,
        `--key=${clientTls.keyFile}`,
        ...(dnsOnly ? ['--insecure-skip-tls-verify'] : []),
      ]
    : [];
  const etcdctl = (args: readonly string[], opts: { input?: string; endpoints?: string[] } = {}) => {
    const userFlags = user && authEnabled ? [`--user=${user.username}:${user.password}`] : [];
    return runEtcdctl(
      [
        `--endpoints=${(opts.endpoints ?? endpoints).map((e) => e.replace(/\?.*$/, '')).join(',')}`,
        ...tlsFlags,
        ...userFlags,
        '--command-timeout=10s',
        ...args,
      ],
      opts.input,
    );
  };

  const start = (i: number) => {
    const m = members[i];
    if (!m) throw new Error(`no member ${i}`);
    if (m.running) return;
    m.process = startProcess(`etcd-${m.name}`, tool('etcd'), m.args, { logFile: m.logFile });
  };

  const waitHealthy = async (timeoutMs = 60_000) => {
    await waitFor(
      `etcd process cluster (${dir}) to have its running members healthy with a leader`,
      async () => {
        const running = members.filter((m) => m.running).map((m) => m.endpoint);
        if (running.length === 0) throw new Error('no member is running');
        const out = await etcdctl(['endpoint', 'status', '-w', 'json'], { endpoints: running });
        const statuses = JSON.parse(out) as { Status: { leader: number | string } }[];
        return statuses.length === running.length && statuses.every((s) => Number(s.Status.leader) !== 0)
          ? true
          : undefined;
      },
      {
        timeoutMs,
        intervalMs: 300,
        abortIf: () => {
          const dead = members.find((m) => m.process?.hasExited && !stoppedOnPurpose.has(m.name));
          return dead ? `member ${dead.name} exited; see ${dead.logFile}` : undefined;
        },
      },
    );
  };
  const stoppedOnPurpose = new Set<string>();

  const stop = async () => {
    await Promise.all(members.map((m) => m.process?.stop(2000)));
    slot.release();
    if (!process.env.KEEP_LOCAL_CLUSTER) rmSync(dir, { recursive: true, force: true });
  };

  try {
    for (let i = 0; i < size; i++) start(i);
    await waitHealthy();
    if (auth === 'basic') {
      user = { username: 'root', password: randomBytes(12).toString('base64url') };
      await etcdctl(['user', 'add', `${user.username}:${user.password}`]);
      await etcdctl(['user', 'grant-role', user.username, 'root']);
      await etcdctl(['auth', 'enable']);
      authEnabled = true;
      credentialsDir = join(dir, 'credentials');
      mkdirSync(credentialsDir);
      writeFile(join(credentialsDir, 'username'), user.username);
      writeFile(join(credentialsDir, 'password'), user.password);
    }
  } catch (err) {
    await stop();
    throw err;
  }

  return {
    dir,
    subnet: slot.subnet,
    auth,
    members,
    endpoints,
    ...(pki ? { pki } : {}),
    ...(clientTls ? { clientTls } : {}),
    ...(user ? { user } : {}),
    ...(credentialsDir ? { credentialsDir } : {}),
    etcdctl,
    async stopMember(i) {
      const m = members[i];
      if (!m) throw new Error(`no member ${i}`);
      stoppedOnPurpose.add(m.name);
      await m.process?.stop(2000);
    },
    async startMember(i) {
      const m = members[i];
      if (!m) throw new Error(`no member ${i}`);
      stoppedOnPurpose.delete(m.name);
      start(i);
    },
    waitHealthy,
    stop,
  };
}

/** Starts a single etcd on an existing data dir (a restored snapshot) at `endpoint` (http). */
export function startEtcdOnDataDir(options: { name: string; dataDir: string; ip: string; logFile: string }): {
  endpoint: string;
  process: ManagedProcess;
} {
  const endpoint = `http://${options.ip}:${CLIENT_PORT}`;
  const process = startProcess(
    `etcd-${options.name}`,
    tool('etcd'),
    [
      `--name=${options.name}`,
      `--data-dir=${options.dataDir}`,
      `--listen-client-urls=${endpoint}`,
      `--advertise-client-urls=${endpoint}`,
      `--listen-peer-urls=http://${options.ip}:${PEER_PORT}`,
      `--initial-advertise-peer-urls=http://${options.ip}:${PEER_PORT}`,
      '--unsafe-no-fsync',
      '--log-level=warn',
    ],
    { logFile: options.logFile },
  );
  return { endpoint, process };
}

function copy(from: string, to: string): void {
  writeFile(to, readFileSync(from));
}

function writeFile(path: string, data: string | Buffer): void {
  // 0600: a mounted Secret is readable by the pod's user only.
  writeFileSync(path, data, { mode: 0o600 });
}

export function runEtcdctl(args: readonly string[], input?: string | Buffer): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = execFile(tool('etcdctl'), args, { maxBuffer: 256 * 1024 * 1024 }, (err, stdout, stderr) =>
      err
        ? reject(
            new Error(
              `etcdctl ${args.filter((a) => !a.startsWith('--user')).join(' ')}: ${stderr || err.message}`,
            ),
          )
        : resolve(stdout),
    );
    child.stdin?.end(input);
  });
}
