// A pod's volumes as host directories, ready to be bind-mounted into its containers:
//   persistentVolumeClaim → the bound PV's hostPath/local directory
//   emptyDir             → pods/<uid>/volumes/kubernetes.io~empty-dir/<name> (a plain directory, also for medium: Memory)
//   secret, configMap, downwardAPI, projected (incl. serviceAccountToken: the kube-api-access-* volume)
//                        → files under pods/<uid>/volumes/kubernetes.io~<plugin>/<name>, written like the
//                          kubelet's AtomicWriter (..data symlink swap) and refreshed while the pod runs
//   hostPath             → the path itself (with its type's checks and creation)
// fsGroup is applied as the kubelet's SetVolumeOwnership does, to the volume types that support it.
import { createHash } from 'node:crypto';
import {
  chmodSync,
  chownSync,
  existsSync,
  lstatSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  readlinkSync,
  renameSync,
  rmSync,
  statSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { dirname, join, normalize } from 'node:path';
import type {
  V1ConfigMapProjection,
  V1DownwardAPIVolumeFile,
  V1KeyToPath,
  V1Pod,
  V1SecretProjection,
  V1Volume,
} from '@kubernetes/client-node';
import { fieldRefValue, resourceFieldValue } from './env.ts';
import type { PodObjects } from './pod-objects.ts';

/** Setting a volume up failed; the pod waits in ContainerCreating and a FailedMount event says why. */
export class VolumeError extends Error {
  override name = 'VolumeError';
}

export interface PreparedVolume {
  name: string;
  hostPath: string;
  /** API-data volumes (secret, configMap, downwardAPI, projected) are always mounted read-only. */
  readOnly: boolean;
  /** Rewrites the volume's files when their sources changed; true when something changed. */
  refresh?: () => Promise<boolean>;
}

export interface VolumeContext {
  pod: V1Pod;
  /** pods/<uid> under the kubelet's root dir. */
  podDir: string;
  podIP: string;
  hostIP: string;
  nodeAllocatable: Readonly<Record<string, string>>;
  objects: PodObjects;
}

const DEFAULT_MODE = 0o644;
const DEFAULT_TOKEN_SECONDS = 3600;

export async function setUpVolumes(ctx: VolumeContext): Promise<Map<string, PreparedVolume>> {
  const prepared = new Map<string, PreparedVolume>();
  for (const volume of ctx.pod.spec?.volumes ?? []) {
    prepared.set(volume.name, await setUpVolume(volume, ctx));
  }
  return prepared;
}

function fsGroupOf(pod: V1Pod): number | undefined {
  return pod.spec?.securityContext?.fsGroup;
}

async function setUpVolume(volume: V1Volume, ctx: VolumeContext): Promise<PreparedVolume> {
  const { pod } = ctx;
  const namespace = pod.metadata?.namespace ?? 'default';
  const dirFor = (plugin: string) => join(ctx.podDir, 'volumes', `kubernetes.io~${plugin}`, volume.name);
  const fsGroup = fsGroupOf(pod);

  if (volume.emptyDir) {
    const dir = dirFor('empty-dir');
    mkdirSync(dir, { recursive: true });
    chmodSync(dir, 0o777);
    if (fsGroup !== undefined) applyFsGroup(dir, fsGroup, false);
    return { name: volume.name, hostPath: dir, readOnly: false };
  }

  if (volume.hostPath) {
    return {
      name: volume.name,
      hostPath: setUpHostPath(volume.hostPath.path, volume.hostPath.type),
      readOnly: false,
    };
  }

  if (volume.persistentVolumeClaim) {
    const claimName = volume.persistentVolumeClaim.claimName;
    const claim = await ctx.objects.persistentVolumeClaim(namespace, claimName);
    if (!claim) throw new VolumeError(`persistentvolumeclaim "${claimName}" not found`);
    const pvName = claim.spec?.volumeName;
    if (claim.status?.phase !== 'Bound' || !pvName) {
      throw new VolumeError(`persistentvolumeclaim "${claimName}" is not bound`);
    }
    const pv = await ctx.objects.persistentVolume(pvName);
    if (!pv) throw new VolumeError(`persistentvolume "${pvName}" not found`);
    const local = pv.spec?.local?.path;
    const hostPath = pv.spec?.hostPath?.path;
    if (!local && !hostPath) {
      const kind =
        Object.keys(pv.spec ?? {}).find((k) => k === 'csi' || k === 'nfs' || k === 'iscsi') ?? 'its';
      throw new VolumeError(
        `persistentvolume "${pvName}": the process kubelet mounts only hostPath and local volumes, not ${kind} volumes`,
      );
    }
    const dir = local ?? setUpHostPath(hostPath!, pv.spec?.hostPath?.type);
    if (!existsSync(dir)) throw new VolumeError(`persistentvolume "${pvName}": path ${dir} does not exist`);
    // The kubelet applies fsGroup to local volumes, never to hostPath ones.
    if (local && fsGroup !== undefined) applyFsGroup(dir, fsGroup, false);
    return { name: volume.name, hostPath: dir, readOnly: volume.persistentVolumeClaim.readOnly === true };
  }

  const apiData = (plugin: string, payload: () => Promise<Payload>): Promise<PreparedVolume> => {
    const dir = dirFor(plugin);
    const write = async () => writeAtomically(dir, await payload(), fsGroup);
    return write().then(() => ({ name: volume.name, hostPath: dir, readOnly: true, refresh: write }));
  };

  if (volume.secret) {
    const source = volume.secret;
    const mode = source.defaultMode ?? DEFAULT_MODE;
    return apiData('secret', async () => {
      const data = await ctx.objects.secret(namespace, source.secretName ?? '');
      if (!data && !source.optional) throw new VolumeError(`secret "${source.secretName}" not found`);
      return keysToPayload(
        data ?? {},
        source.items,
        mode,
        `Secret ${namespace}/${source.secretName}`,
        source.optional,
      );
    });
  }

  if (volume.configMap) {
    const source = volume.configMap;
    const mode = source.defaultMode ?? DEFAULT_MODE;
    return apiData('configmap', async () => {
      const data = await ctx.objects.configMap(namespace, source.name ?? '');
      if (!data && !source.optional) throw new VolumeError(`configmap "${source.name}" not found`);
      return keysToPayload(
        data ?? {},
        source.items,
        mode,
        `ConfigMap ${namespace}/${source.name}`,
        source.optional,
      );
    });
  }

  if (volume.downwardAPI) {
    const source = volume.downwardAPI;
    return apiData('downward-api', async () =>
      downwardPayload(source.items ?? [], source.defaultMode ?? DEFAULT_MODE, ctx),
    );
  }

  if (volume.projected) {
    const source = volume.projected;
    const defaultMode = source.defaultMode ?? DEFAULT_MODE;
    const tokens = new Map<string, { token: string; issuedAt: number; expiresAt: number }>();
    return apiData('projected', async () => {
      const payload: Payload = new Map();
      for (const projection of source.sources ?? []) {
        if (projection.secret) {
          addAll(payload, await secretProjection(projection.secret, namespace, defaultMode, ctx));
        } else if (projection.configMap) {
          addAll(payload, await configMapProjection(projection.configMap, namespace, defaultMode, ctx));
        } else if (projection.downwardAPI) {
          addAll(payload, downwardPayload(projection.downwardAPI.items ?? [], defaultMode, ctx));
        } else if (projection.serviceAccountToken) {
          const { audience, path } = projection.serviceAccountToken;
          const seconds = projection.serviceAccountToken.expirationSeconds ?? DEFAULT_TOKEN_SECONDS;
          const key = `${audience ?? ''}\u0000${seconds}`;
          let cached = tokens.get(key);
          // Renewed at 80 % of its lifetime, as the kubelet's token manager does.
          if (!cached || Date.now() > cached.issuedAt + (cached.expiresAt - cached.issuedAt) * 0.8) {
            const issuedAt = Date.now();
            const { token, expiresAt } = await ctx.objects.serviceAccountToken(ctx.pod, audience, seconds);
            cached = { token, issuedAt, expiresAt };
            tokens.set(key, cached);
          }
          // Token files are 0600 unless an fsGroup lets the group read them (projected volume rules).
          const mode = fsGroupOf(ctx.pod) !== undefined ? 0o640 : 0o600;
          payload.set(checkPath(path), { data: Buffer.from(cached.token), mode: source.defaultMode ?? mode });
        } else {
          const kind = Object.keys(projection).join(', ') || 'empty';
          throw new VolumeError(
            `projected volume "${volume.name}": source ${kind} is not supported by the process kubelet`,
          );
        }
      }
      return payload;
    });
  }

  const kind =
    Object.keys(volume)
      .filter((k) => k !== 'name')
      .join(', ') || 'empty';
  throw new VolumeError(
    `volume "${volume.name}": volume type ${kind} is not supported by the process kubelet (see docs/process-kubelet.md)`,
  );
}

type Payload = Map<string, { data: Buffer; mode: number }>;

function addAll(into: Payload, from: Payload): void {
  for (const [k, v] of from) into.set(k, v);
}

async function secretProjection(
  source: V1SecretProjection,
  namespace: string,
  defaultMode: number,
  ctx: VolumeContext,
): Promise<Payload> {
  const data = await ctx.objects.secret(namespace, source.name ?? '');
  if (!data && !source.optional) throw new VolumeError(`secret "${source.name}" not found`);
  return keysToPayload(
    data ?? {},
    source.items,
    defaultMode,
    `Secret ${namespace}/${source.name}`,
    source.optional,
  );
}

async function configMapProjection(
  source: V1ConfigMapProjection,
  namespace: string,
  defaultMode: number,
  ctx: VolumeContext,
): Promise<Payload> {
  const data = await ctx.objects.configMap(namespace, source.name ?? '');
  if (!data && !source.optional) throw new VolumeError(`configmap "${source.name}" not found`);
  return keysToPayload(
    data ?? {},
    source.items,
    defaultMode,
    `ConfigMap ${namespace}/${source.name}`,
    source.optional,
  );
}

/** Every key as a file, or only the listed items at their paths (a missing listed key fails unless optional). */
export function keysToPayload(
  data: Record<string, Buffer>,
  items: readonly V1KeyToPath[] | undefined,
  defaultMode: number,
  what: string,
  optional: boolean | undefined,
): Payload {
  const payload: Payload = new Map();
  if (!items || items.length === 0) {
    for (const [key, value] of Object.entries(data))
      payload.set(checkPath(key), { data: value, mode: defaultMode });
    return payload;
  }
  for (const item of items) {
    const value = data[item.key];
    if (value === undefined) {
      if (optional) continue;
      throw new VolumeError(`configuration error: key "${item.key}" not found in ${what}`);
    }
    payload.set(checkPath(item.path), { data: value, mode: item.mode ?? defaultMode });
  }
  return payload;
}

function downwardPayload(
  items: readonly V1DownwardAPIVolumeFile[],
  defaultMode: number,
  ctx: VolumeContext,
): Payload {
  const payload: Payload = new Map();
  for (const item of items) {
    let value: string;
    if (item.fieldRef) value = fieldRefValue(item.fieldRef.fieldPath, ctx);
    else if (item.resourceFieldRef) {
      const ref = item.resourceFieldRef;
      const container = [...(ctx.pod.spec?.containers ?? []), ...(ctx.pod.spec?.initContainers ?? [])].find(
        (c) => c.name === ref.containerName,
      );
      if (!container)
        throw new VolumeError(`downwardAPI ${item.path}: container "${ref.containerName}" not found`);
      value = resourceFieldValue(container, ref.resource, ref.divisor, ctx.nodeAllocatable);
    } else continue;
    payload.set(checkPath(item.path), { data: Buffer.from(value), mode: item.mode ?? defaultMode });
  }
  return payload;
}

/** A payload path must stay inside the volume: relative, no "..", no leading "..". */
function checkPath(path: string): string {
  const clean = normalize(path);
  if (
    path === '' ||
    path.startsWith('/') ||
    clean.split('/').some((part) => part === '..') ||
    clean.startsWith('..')
  ) {
    throw new VolumeError(`invalid volume file path "${path}"`);
  }
  return clean;
}

/**
 * Writes the payload like the kubelet's AtomicWriter: files go into a fresh timestamped directory,
 * the `..data` symlink is swapped to it in one rename, and each top-level entry is a symlink
 * through `..data`. Readers see the old set or the new set, never a mix. Returns whether anything
 * changed.
 */
export function writeAtomically(dir: string, payload: Payload, fsGroup?: number): boolean {
  mkdirSync(dir, { recursive: true, mode: 0o755 });
  const dataLink = join(dir, '..data');
  const fingerprint = payloadFingerprint(payload, fsGroup);
  let current: string | undefined;
  try {
    current = readlinkSync(dataLink);
  } catch {
    current = undefined;
  }
  if (current && readFileIfExists(join(dir, current, '..fingerprint')) === fingerprint) return false;

  const version = `..${new Date().toISOString().replace(/[:.]/g, '_')}.${process.hrtime.bigint().toString(36)}`;
  const versionDir = join(dir, version);
  mkdirSync(versionDir, { mode: 0o755 });
  for (const [path, file] of payload) {
    const target = join(versionDir, path);
    mkdirSync(dirname(target), { recursive: true, mode: 0o755 });
    writeFileSync(target, file.data);
    chmodSync(target, file.mode);
    if (fsGroup !== undefined) chownSync(target, -1, fsGroup);
  }
  writeFileSync(join(versionDir, '..fingerprint'), fingerprint, { mode: 0o600 });
  if (fsGroup !== undefined) chownSync(versionDir, -1, fsGroup);

  const tmpLink = join(dir, '..data_tmp');
  rmSync(tmpLink, { force: true });
  symlinkSync(version, tmpLink);
  renameSync(tmpLink, dataLink);

  const topLevel = new Set([...payload.keys()].map((p) => p.split('/')[0]!));
  for (const name of topLevel) {
    const link = join(dir, name);
    if (!isSymlink(link)) {
      rmSync(link, { recursive: true, force: true });
      symlinkSync(join('..data', name), link);
    }
  }
  for (const entry of readdirSync(dir)) {
    if (entry === '..data' || entry === version) continue;
    if (entry.startsWith('..') || !topLevel.has(entry))
      rmSync(join(dir, entry), { recursive: true, force: true });
  }
  return true;
}

function payloadFingerprint(payload: Payload, fsGroup: number | undefined): string {
  const hash = createHash('sha256');
  hash.update(String(fsGroup));
  for (const [path, file] of [...payload].sort(([a], [b]) => a.localeCompare(b))) {
    hash.update(`\u0000${path}\u0000${file.mode}\u0000`);
    hash.update(file.data);
  }
  return hash.digest('hex');
}

function readFileIfExists(path: string): string | undefined {
  try {
    return readFileSync(path, 'utf8');
  } catch {
    return undefined;
  }
}

function isSymlink(path: string): boolean {
  try {
    return lstatSync(path).isSymbolicLink();
  } catch {
    return false;
  }
}

/** hostPath volume types: the *OrCreate types create, the others check. */
function setUpHostPath(path: string, type: string | undefined): string {
  const stat = () => {
    try {
      return statSync(path);
    } catch {
      return undefined;
    }
  };
  switch (type ?? '') {
    case '':
      // No checks; a missing path becomes a directory, as container runtimes make it.
      if (!stat()) mkdirSync(path, { recursive: true, mode: 0o755 });
      return path;
    case 'DirectoryOrCreate':
      if (!stat()) mkdirSync(path, { recursive: true, mode: 0o755 });
      return path;
    case 'FileOrCreate':
      if (!stat()) {
        mkdirSync(dirname(path), { recursive: true });
        writeFileSync(path, '', { mode: 0o644 });
      }
      return path;
    case 'Directory':
      if (!stat()?.isDirectory())
        throw new VolumeError(`hostPath type check failed: ${path} is not a directory`);
      return path;
    case 'File':
      if (!stat()?.isFile()) throw new VolumeError(`hostPath type check failed: ${path} is not a file`);
      return path;
    case 'Socket':
      if (!stat()?.isSocket()) throw new VolumeError(`hostPath type check failed: ${path} is not a socket`);
      return path;
    case 'CharDevice':
      if (!stat()?.isCharacterDevice())
        throw new VolumeError(`hostPath type check failed: ${path} is not a character device`);
      return path;
    case 'BlockDevice':
      if (!stat()?.isBlockDevice())
        throw new VolumeError(`hostPath type check failed: ${path} is not a block device`);
      return path;
    default:
      throw new VolumeError(`hostPath type "${type}" is not supported`);
  }
}

/**
 * fsGroup ownership (the kubelet's SetVolumeOwnership): group = fsGroup everywhere, group may read
 * (and write, for writable volumes) what the owner may, directories are setgid so new files inherit
 * the group.
 */
export function applyFsGroup(root: string, gid: number, readOnly: boolean): void {
  const visit = (path: string) => {
    const info = lstatSync(path);
    if (info.isSymbolicLink()) return;
    chownSync(path, -1, gid);
    let mode = info.mode & 0o7777;
    mode |= 0o040; // g+r
    if (!readOnly) mode |= 0o020; // g+w
    if (info.isDirectory()) {
      mode |= 0o2010; // setgid, g+x
      chmodSync(path, mode);
      for (const entry of readdirSync(path)) visit(join(path, entry));
    } else {
      if (mode & 0o100) mode |= 0o010;
      chmodSync(path, mode);
    }
  };
  visit(root);
}
