// The target of a restore as its StatefulSet describes it, pure: which StatefulSet, who manages
// it, where etcd's data dir is on which claim, and each member's name, data claim and peer URL as
// the StatefulSet alone gives them (membership.ts cross-checks them with the live member list).
import { DATA_MOUNT_PATH } from '../../agent/contract.ts';
import { type DruidEtcd, INDEX_ETCD_CLUSTER } from '../../etcd/discovery.ts';
import { type Container, etcdContainer } from '../../etcd/etcd-container.ts';
import type { StatefulSet } from '../../informers/resources.ts';
import type { ReadonlyStore } from '../../informers/store-types.ts';
import type { EtcdRestore } from '../../records/etcd-restore.ts';
import { fail, type StepFailure } from '../step.ts';

export const DEFAULT_PEER_PORT = 2380;

export interface SetMember {
  /** The pod name (etcd's --name in a StatefulSet is the pod name). */
  name: string;
  /** The member's peer URL as the StatefulSet gives it (advertised flag expanded, else stable DNS). */
  peerUrl: string;
  dataClaim: string;
}

export interface TargetView {
  statefulSet: StatefulSet;
  name: string;
  replicas: number;
  /** The data dir as the restore Job sees it (under DATA_MOUNT_PATH). */
  jobDataDir: string;
  /** The etcd image's version (its tag), when the tag says one. */
  imageVersion?: string;
  members: SetMember[];
}

/** The StatefulSet of the cluster: labelled etcd.io/cluster=<name>, else named <name>. */
export function findStatefulSet(
  sets: ReadonlyStore<StatefulSet>,
  namespace: string,
  cluster: string,
): StatefulSet[] {
  const labelled = sets
    .byIndex(INDEX_ETCD_CLUSTER, `${namespace}/${cluster}`)
    .filter((s) => !s.metadata?.deletionTimestamp);
  if (labelled.length > 0) return labelled;
  const named = sets.get(`${namespace}/${cluster}`);
  return named && !named.metadata?.deletionTimestamp ? [named] : [];
}

/** Who manages the StatefulSet besides its user: etcd-druid's Etcd, or another controller owner. */
export function managedBy(
  set: StatefulSet,
  druid: ReadonlyStore<DruidEtcd> | undefined,
  cluster: string,
): { owner: string; override: string } | undefined {
  const namespace = set.metadata?.namespace ?? '';
  for (const ref of set.metadata?.ownerReferences ?? []) {
    const group = (ref.apiVersion ?? '').split('/')[0] ?? '';
    if (group === 'druid.gardener.cloud')
      return { owner: `etcd-druid Etcd ${namespace}/${ref.name}`, override: 'etcd-druid' };
    if (ref.controller)
      return { owner: `${ref.kind} ${namespace}/${ref.name} (${group || 'core'})`, override: group };
  }
  if (druid?.get(`${namespace}/${cluster}`))
    return { owner: `etcd-druid Etcd ${namespace}/${cluster}`, override: 'etcd-druid' };
  return undefined;
}

/** The value of a `--flag=value` / `--flag value` in the container's command/args, else of the env var. */
export function flagValue(container: Container, flag: string, env: string): string | undefined {
  const words = [...(container.command ?? []), ...(container.args ?? [])];
  for (let i = 0; i < words.length; i++) {
    const w = words[i] ?? '';
    if (w === `--${flag}`) return words[i + 1];
    if (w.startsWith(`--${flag}=`)) return w.slice(flag.length + 3);
  }
  return container.env?.find((e) => e.name === env)?.value ?? undefined;
}

/** $(VAR) of the container's env as the kubelet expands them for one pod (name and namespace fields). */
function expandFor(text: string, container: Container, pod: string, namespace: string): string {
  const vars = new Map<string, string>();
  for (const e of container.env ?? []) {
    const field = e.valueFrom?.fieldRef?.fieldPath;
    const value = field === 'metadata.name' ? pod : field === 'metadata.namespace' ? namespace : e.value;
    if (value !== undefined) vars.set(e.name, value);
  }
  return text.replace(/\$\(([A-Za-z_][A-Za-z0-9_]*)\)/g, (m, v: string) => vars.get(v) ?? m);
}

function peerScheme(container: Container): 'http' | 'https' {
  const urls = [
    flagValue(container, 'listen-peer-urls', 'ETCD_LISTEN_PEER_URLS'),
    flagValue(container, 'initial-advertise-peer-urls', 'ETCD_INITIAL_ADVERTISE_PEER_URLS'),
  ].filter((u): u is string => Boolean(u));
  if (urls.length > 0) return urls.some((u) => u.includes('https://')) ? 'https' : 'http';
  return flagValue(container, 'peer-cert-file', 'ETCD_PEER_CERT_FILE') ? 'https' : 'http';
}

function peerPort(container: Container): number {
  const named = container.ports?.find((p) => p.name === 'peer' || p.name === 'server')?.containerPort;
  if (named) return named;
  const listen = flagValue(container, 'listen-peer-urls', 'ETCD_LISTEN_PEER_URLS');
  const port = listen ? /:(\d+)(?:[/,]|$)/.exec(listen)?.[1] : undefined;
  return port ? Number(port) : DEFAULT_PEER_PORT;
}

/** The peer URL a member advertises: the flag expanded for the pod when it expands fully, else stable DNS. */
function memberPeerUrl(container: Container, set: StatefulSet, pod: string): string {
  const namespace = set.metadata?.namespace ?? '';
  const advertised = flagValue(container, 'initial-advertise-peer-urls', 'ETCD_INITIAL_ADVERTISE_PEER_URLS');
  const first = advertised ? expandFor(advertised.split(',')[0] ?? '', container, pod, namespace) : '';
  if (first && !first.includes('$(')) return first;
  const service = set.spec?.serviceName || (set.metadata?.name ?? '');
  return `${peerScheme(container)}://${pod}.${service}.${namespace}.svc:${peerPort(container)}`;
}

function imageVersion(container: Container): string | undefined {
  const tag = /:v?(\d+\.\d+(?:\.\d+)?)[^/:]*$/.exec(container.image ?? '')?.[1];
  return tag;
}

const under = (path: string, dir: string) => path === dir || path.startsWith(`${dir.replace(/\/+$/, '')}/`);

/** The target as its StatefulSet gives it, or the reason it cannot be restored. */
export function describeTarget(set: StatefulSet, restore: EtcdRestore): TargetView | StepFailure {
  const setName = set.metadata?.name ?? '';
  const where = `StatefulSet ${set.metadata?.namespace}/${setName}`;
  const container = etcdContainer(set.spec?.template?.spec?.containers ?? []);
  if (!container) return fail('RESTORE_MEMBERSHIP_UNRESOLVABLE', `${where} has no etcd container`);
  const replicas = set.spec?.replicas ?? 1;
  if (replicas < 1)
    return fail(
      'RESTORE_MEMBERSHIP_UNRESOLVABLE',
      `${where} has spec.replicas=${replicas}: scale it to its member count first, so the restore knows the members`,
    );
  const dataDir = restore.spec.target.dataDir ?? flagValue(container, 'data-dir', 'ETCD_DATA_DIR');
  if (!dataDir?.startsWith('/'))
    return fail(
      'RESTORE_DATA_CLAIM_MISSING',
      `${where}: the etcd container sets no absolute --data-dir (got ${JSON.stringify(dataDir ?? null)}); set spec.target.dataDir`,
    );
  const templates = new Set((set.spec?.volumeClaimTemplates ?? []).map((t) => t.metadata?.name ?? ''));
  const mount = (container.volumeMounts ?? [])
    .filter((m) => templates.has(m.name) && under(dataDir, m.mountPath))
    .sort((a, b) => b.mountPath.length - a.mountPath.length)[0];
  if (!mount)
    return fail(
      'RESTORE_DATA_CLAIM_MISSING',
      `${where}: no volumeClaimTemplate is mounted at or above the data dir ${dataDir}`,
    );
  const rest = dataDir.slice(mount.mountPath.replace(/\/+$/, '').length).replace(/^\/+/, '');
  const inClaim = [mount.subPath ?? '', rest].filter((p) => p !== '').join('/');
  if (inClaim === '')
    return fail(
      'RESTORE_DATA_DIR_IS_MOUNT',
      `${where}: the data dir ${dataDir} is the root of claim template ${mount.name}; the restore swaps it by renames beside it, so it must be a directory below the mount`,
    );
  const members = Array.from({ length: replicas }, (_, i) => {
    const pod = `${setName}-${i}`;
    return { name: pod, peerUrl: memberPeerUrl(container, set, pod), dataClaim: `${mount.name}-${pod}` };
  });
  const view: TargetView = {
    statefulSet: set,
    name: setName,
    replicas,
    jobDataDir: `${DATA_MOUNT_PATH}/${inClaim}`,
    members,
  };
  const version = imageVersion(container);
  if (version) view.imageVersion = version;
  return view;
}
