// Request validation: required fields, limits and the parameter schema (seed §7, §9). Every
// failure is a CsiError naming the field, so a user reading a VolumeSnapshot event knows what to fix.
import { parseLabelSelector } from '../etcd/label-selector.ts';
import { CsiError } from './errors.ts';
import { isDnsLabel, isDnsSubdomain } from './ids.ts';
import { echo } from './limits.ts';
import type { CapacityRange, StringMap, VolumeCapability } from './messages.ts';
import { REMOTE_RULES, type RemoteParameters } from './remote-parameters.ts';

/** CSI's size limit for names and IDs (csi-sanity creates names of exactly this length). */
export const MAX_NAME_BYTES = 128;
export const MAX_GROUP_VOLUMES = 64;
export const MAX_PARAMETERS = 32;
/** CSI's size limit for a map<string, string> field. */
export const MAX_PARAMETERS_BYTES = 4096;

/** Keys the external-provisioner and external-snapshotter add with --extra-create-metadata. */
export const CSI_METADATA_PREFIX = 'csi.storage.k8s.io/';

export const DEFAULT_RETENTION_DAYS = 30;

/** The parameter schema of StorageClasses, VolumeSnapshotClasses and VolumeGroupSnapshotClasses. */
export interface DriverParameters extends RemoteParameters {
  etcdNamespace?: string;
  etcdClusterName?: string;
  snapshotTimeoutSeconds?: number;
  storageClass?: string;
  snapshotLabel?: string;
  retentionDays?: number;
}

export interface ParsedParameters {
  values: DriverParameters;
  /** The parameters without csi.storage.k8s.io/* keys: what idempotency compares. */
  own: StringMap;
  /** The csi.storage.k8s.io/* keys, without the prefix (pvc/name, pvc/namespace, …). */
  metadata: StringMap;
}

export function requireName(name: string | undefined, field = 'name'): string {
  if (!name) throw new CsiError('MISSING_NAME', `${field} is required`);
  if (Buffer.byteLength(name) > MAX_NAME_BYTES) {
    throw new CsiError(
      'NAME_TOO_LONG',
      `${field} is ${Buffer.byteLength(name)} bytes; at most ${MAX_NAME_BYTES}`,
    );
  }
  return name;
}

type ParameterRule = (value: string, key: string) => Partial<DriverParameters>;

const integer = (
  min: number,
  max: number,
  field: 'snapshotTimeoutSeconds' | 'retentionDays',
): ParameterRule => {
  return (value, key) => {
    if (!/^\d+$/.test(value) || Number(value) < min || Number(value) > max) {
      throw new CsiError(
        'INVALID_PARAMETER',
        `parameter ${echo(key)}=${echo(value)} must be an integer from ${min} to ${max}`,
      );
    }
    return { [field]: Number(value) };
  };
};

const RULES: Record<string, ParameterRule> = {
  'etcd-namespace': (value, key) => {
    if (!isDnsLabel(value))
      throw new CsiError(
        'INVALID_PARAMETER',
        `parameter ${echo(key)}=${echo(value)} is not a namespace name`,
      );
    return { etcdNamespace: value };
  },
  'etcd-cluster-name': (value, key) => {
    // It is matched against the etcd.io/cluster label, so it must be a label value.
    if (value.length > 63 || !/^[A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?$/.test(value)) {
      throw new CsiError(
        'INVALID_PARAMETER',
        `parameter ${echo(key)}=${echo(value)} is not a valid label value`,
      );
    }
    return { etcdClusterName: value };
  },
  'snapshot-timeout': integer(60, 3600, 'snapshotTimeoutSeconds'),
  'storage-class': (value, key) => {
    if (!isDnsSubdomain(value)) {
      throw new CsiError(
        'INVALID_PARAMETER',
        `parameter ${echo(key)}=${echo(value)} is not a StorageClass name`,
      );
    }
    return { storageClass: value };
  },
  'snapshot-label': (value, key) => {
    try {
      parseLabelSelector(value);
    } catch (err) {
      throw new CsiError(
        'INVALID_PARAMETER',
        `parameter ${echo(key)}=${echo(value)} is not a label selector: ${(err as Error).message}`,
      );
    }
    return { snapshotLabel: value };
  },
  'retention-days': integer(1, 3650, 'retentionDays'),
  ...REMOTE_RULES,
};

export const PARAMETER_KEYS: readonly string[] = Object.keys(RULES);

/** Checks parameters against the schema; unknown keys are refused, all of them named at once. */
export function parseParameters(parameters: StringMap | undefined): ParsedParameters {
  const entries = Object.entries(parameters ?? {});
  const bytes = entries.reduce((n, [k, v]) => n + Buffer.byteLength(k) + Buffer.byteLength(v), 0);
  if (entries.length > MAX_PARAMETERS || bytes > MAX_PARAMETERS_BYTES) {
    throw new CsiError(
      'PARAMETERS_TOO_LARGE',
      `parameters have ${entries.length} entries and ${bytes} bytes; at most ${MAX_PARAMETERS} entries and ${MAX_PARAMETERS_BYTES} bytes`,
    );
  }
  const unknown = entries
    .map(([k]) => k)
    .filter((k) => !k.startsWith(CSI_METADATA_PREFIX) && !Object.hasOwn(RULES, k))
    .sort();
  if (unknown.length > 0) {
    throw new CsiError(
      'UNKNOWN_PARAMETER',
      `unknown parameter${unknown.length > 1 ? 's' : ''} ${unknown
        .slice(0, 5)
        .map((k) => echo(k))
        .join(
          ', ',
        )}${unknown.length > 5 ? ` and ${unknown.length - 5} more` : ''}; known: ${PARAMETER_KEYS.join(', ')}`,
    );
  }
  const result: ParsedParameters = { values: {}, own: {}, metadata: {} };
  for (const [key, value] of entries) {
    if (key.startsWith(CSI_METADATA_PREFIX)) {
      result.metadata[key.slice(CSI_METADATA_PREFIX.length)] = value;
      continue;
    }
    Object.assign(result.values, RULES[key]!(value, key));
    result.own[key] = value;
  }
  return result;
}

const ACCESS_MODES = new Set([
  'SINGLE_NODE_WRITER',
  'SINGLE_NODE_READER_ONLY',
  'MULTI_NODE_READER_ONLY',
  'MULTI_NODE_SINGLE_WRITER',
  'MULTI_NODE_MULTI_WRITER',
  'SINGLE_NODE_SINGLE_WRITER',
  'SINGLE_NODE_MULTI_WRITER',
]);

/**
 * Volume capabilities must be present and well-formed. Any access type and mode is supported:
 * an etcd source volume is a handle that is never mounted.
 */
export function requireCapabilities(capabilities: VolumeCapability[] | undefined): VolumeCapability[] {
  if (!capabilities || capabilities.length === 0) {
    throw new CsiError('MISSING_VOLUME_CAPABILITIES', 'volume_capabilities is required');
  }
  capabilities.forEach((cap, i) => {
    const accessType = cap.access_type ?? (cap.mount ? 'mount' : cap.block ? 'block' : undefined);
    if (accessType === undefined) {
      throw new CsiError(
        'INVALID_VOLUME_CAPABILITY',
        `volume_capabilities[${i}] has no access type (mount or block)`,
      );
    }
    const mode = cap.access_mode?.mode;
    if (!mode || !ACCESS_MODES.has(mode)) {
      throw new CsiError(
        'INVALID_VOLUME_CAPABILITY',
        `volume_capabilities[${i}] has no known access mode (got ${mode ? `${echo(mode)}` : 'none'})`,
      );
    }
  });
  return capabilities;
}

export interface Capacity {
  requiredBytes: number;
  limitBytes: number;
}

export function parseCapacity(range: CapacityRange | null | undefined): Capacity {
  const requiredBytes = range?.required_bytes ?? 0;
  const limitBytes = range?.limit_bytes ?? 0;
  if (
    !Number.isSafeInteger(requiredBytes) ||
    !Number.isSafeInteger(limitBytes) ||
    requiredBytes < 0 ||
    limitBytes < 0
  ) {
    throw new CsiError(
      'INVALID_CAPACITY_RANGE',
      'capacity_range values must be non-negative integers below 2^53',
    );
  }
  if (limitBytes > 0 && limitBytes < requiredBytes) {
    throw new CsiError(
      'INVALID_CAPACITY_RANGE',
      `capacity_range.limit_bytes (${limitBytes}) is below required_bytes (${requiredBytes})`,
    );
  }
  return { requiredBytes, limitBytes };
}

/** Whether an existing volume of `capacityBytes` satisfies a requested range. */
export function capacityFits(capacityBytes: number, wanted: Capacity): boolean {
  return (
    capacityBytes >= wanted.requiredBytes && (wanted.limitBytes === 0 || capacityBytes <= wanted.limitBytes)
  );
}

export function sameStringMap(a: StringMap, b: StringMap): boolean {
  const ka = Object.keys(a);
  return ka.length === Object.keys(b).length && ka.every((k) => Object.hasOwn(b, k) && a[k] === b[k]);
}
