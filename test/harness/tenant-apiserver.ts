// A second kube-apiserver, on an etcd cluster of the tests' own (an etcd fixture) instead of the
// local cluster's control-plane etcd: what a user's cluster looks like when the etcd under its
// apiserver is the one this driver snapshots and restores. Own port, own PKI, no controllers;
// its admin client speaks JSON and follows watches as raw event streams.
import { mkdirSync, readFileSync } from 'node:fs';
import type { IncomingMessage } from 'node:http';
import { request } from 'node:https';
import { join } from 'node:path';
import { createPki } from './pki.ts';
import { type ManagedProcess, startProcess, waitFor } from './process.ts';
import { tool } from './tools.ts';

export interface TenantApiserverOptions {
  dir: string;
  hostIP: string;
  port: number;
  /** --etcd-servers, e.g. http://127.21.0.1:23790 */
  etcdServers: string[];
}

export interface ApiAnswer<T = unknown> {
  status: number;
  body: T;
}

export interface WatchEvent {
  type: 'ADDED' | 'MODIFIED' | 'DELETED' | 'BOOKMARK' | 'ERROR';
  object: { metadata?: { name?: string; resourceVersion?: string }; code?: number; reason?: string };
}

export interface Watch {
  /** Events seen so far, in order. */
  events: WatchEvent[];
  /** Settles when the server ends the stream (or refuses it): the HTTP status and the events. */
  ended: Promise<{ status: number; events: WatchEvent[] }>;
  close(): void;
}

export interface TenantApiserver {
  url: string;
  logFile: string;
  request<T = unknown>(method: string, path: string, body?: unknown): Promise<ApiAnswer<T>>;
  watch(path: string): Watch;
  /** Waits for /readyz 200 (the apiserver reaches its etcd again). */
  waitReady(timeoutMs?: number): Promise<void>;
  restart(): Promise<void>;
  stop(): Promise<void>;
}

export async function startTenantApiserver(options: TenantApiserverOptions): Promise<TenantApiserver> {
  const { dir, hostIP, port } = options;
  mkdirSync(dir, { recursive: true });
  const pki = createPki(join(dir, 'pki'));
  const serving = pki.issue('apiserver', {
    commonName: 'tenant-apiserver',
    usage: 'server',
    ipAddresses: [hostIP],
  });
  const admin = pki.issue('admin', {
    commonName: 'tenant-admin',
    organizations: ['system:masters'],
    usage: 'client',
  });
  const tls = {
    ca: readFileSync(pki.ca.certFile),
    cert: readFileSync(admin.certFile),
    key: readFileSync(admin.keyFile),
  };
  const url = `https://${hostIP}:${port}`;
  const logFile = join(dir, 'kube-apiserver.log');
  const args = [
    `--etcd-servers=${options.etcdServers.join(',')}`,
    `--bind-address=${hostIP}`,
    `--advertise-address=${hostIP}`,
    `--secure-port=${port}`,
    `--cert-dir=${join(dir, 'certs')}`,
    `--tls-cert-file=${serving.certFile}`,
    `--tls-private-key-file=${serving.keyFile}`,
    `--client-ca-file=${pki.ca.certFile}`,
    '--service-account-issuer=https://tenant.invalid',
    `--service-account-key-file=${pki.serviceAccountPublicKeyFile}`,
    `--service-account-signing-key-file=${pki.serviceAccountKeyFile}`,
    '--service-cluster-ip-range=10.97.0.0/16',
    '--authorization-mode=RBAC',
    '--profiling=false',
    '--v=1',
  ];

  const send = (method: string, path: string, body?: unknown) =>
    new Promise<{ res: IncomingMessage }>((resolve, reject) => {
      const req = request(
        `${url}${path}`,
        {
          ...tls,
          method,
          agent: false,
          headers: { 'content-type': 'application/json', accept: 'application/json' },
        },
        (res) => resolve({ res }),
      );
      req.on('error', reject);
      req.end(body === undefined ? undefined : JSON.stringify(body));
    });

  const client = {
    async request<T>(method: string, path: string, body?: unknown): Promise<ApiAnswer<T>> {
      const { res } = await send(method, path, body);
      let text = '';
      res.setEncoding('utf8');
      for await (const chunk of res) text += chunk;
      // /readyz and /healthz answer plain text ("ok"); the API answers JSON.
      const json = res.headers['content-type']?.startsWith('application/json');
      return { status: res.statusCode ?? 0, body: (json ? JSON.parse(text) : text) as T };
    },
    watch(path: string): Watch {
      const events: WatchEvent[] = [];
      let destroy = () => {};
      const ended = send('GET', path).then(
        ({ res }) =>
          new Promise<{ status: number; events: WatchEvent[] }>((resolve) => {
            destroy = () => res.destroy();
            let buffer = '';
            res.setEncoding('utf8');
            res.on('data', (chunk: string) => {
              buffer += chunk;
              for (let nl = buffer.indexOf('\n'); nl >= 0; nl = buffer.indexOf('\n')) {
                const line = buffer.slice(0, nl).trim();
                buffer = buffer.slice(nl + 1);
                if (line) events.push(JSON.parse(line) as WatchEvent);
              }
            });
            const done = () => resolve({ status: res.statusCode ?? 0, events });
            res.on('end', done);
            res.on('close', done);
            res.on('error', done);
          }),
        () => ({ status: 0, events }),
      );
      return { events, ended, close: () => destroy() };
    },
  };

  let proc: ManagedProcess | undefined;
  const waitReady = async (timeoutMs = 120_000) => {
    await waitFor(
      'tenant kube-apiserver /readyz',
      async () => ((await client.request('GET', '/readyz')).status === 200 ? true : undefined),
      {
        timeoutMs,
        abortIf: () => (proc?.hasExited ? `kube-apiserver exited; see ${logFile}` : undefined),
      },
    );
  };
  const start = async () => {
    proc = startProcess('tenant-kube-apiserver', tool('kube-apiserver'), args, { logFile });
    await waitReady();
  };
  await start();
  return {
    url,
    logFile,
    ...client,
    waitReady,
    async restart() {
      await proc?.stop(10_000);
      await start();
    },
    async stop() {
      await proc?.stop(10_000);
    },
  };
}
