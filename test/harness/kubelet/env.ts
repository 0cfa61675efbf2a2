// A container's environment, built as the kubelet's makeEnvironmentVariables builds it: envFrom
// sources in order, then env entries (values expanded against what came before), with the
// kubernetes Service variables underneath; then `$(VAR)` in command and args expanded from it.
import type { V1Container, V1EnvVar, V1Pod } from '@kubernetes/client-node';
import { expand, mappingFor } from './expansion.ts';
import { parseQuantity } from './quantity.ts';

/** Reads referenced objects; undefined when the object does not exist (other errors throw). */
export interface EnvLookups {
  secret(namespace: string, name: string): Promise<Record<string, string> | undefined>;
  configMap(namespace: string, name: string): Promise<Record<string, string> | undefined>;
}

/** The container cannot be configured yet (missing Secret, key …): Waiting CreateContainerConfigError. */
export class ContainerConfigError extends Error {
  override name = 'ContainerConfigError';
}

export interface EnvContext {
  pod: V1Pod;
  podIP: string;
  hostIP: string;
  /** Variables a runtime sets before the container's own (PATH, HOSTNAME, HOME); the container's win. */
  runtimeEnv: ReadonlyMap<string, string>;
  /** The kubernetes Service's variables (KUBERNETES_SERVICE_HOST …); the container's win. */
  serviceEnv: ReadonlyMap<string, string>;
  /** The node's allocatable resources, the default for limits a container does not set. */
  nodeAllocatable: Readonly<Record<string, string>>;
}

/** The variables of the kubernetes Service in the default namespace, pointing straight at the apiserver. */
export function kubernetesServiceEnv(host: string, port: number): Map<string, string> {
  const prefix = `KUBERNETES_PORT_${port}_TCP`;
  return new Map([
    ['KUBERNETES_SERVICE_HOST', host],
    ['KUBERNETES_SERVICE_PORT', String(port)],
    ['KUBERNETES_SERVICE_PORT_HTTPS', String(port)],
    ['KUBERNETES_PORT', `tcp://${host}:${port}`],
    [prefix, `tcp://${host}:${port}`],
    [`${prefix}_PROTO`, 'tcp'],
    [`${prefix}_PORT`, String(port)],
    [`${prefix}_ADDR`, host],
  ]);
}

/** The full environment of a container, in the order a process would see it defined. */
export async function containerEnv(
  container: V1Container,
  ctx: EnvContext,
  lookups: EnvLookups,
): Promise<Map<string, string>> {
  const namespace = ctx.pod.metadata?.namespace ?? 'default';
  const defined = new Map<string, string>();

  for (const source of container.envFrom ?? []) {
    const prefix = source.prefix ?? '';
    let data: Record<string, string> | undefined;
    if (source.secretRef) {
      data = await lookups.secret(namespace, source.secretRef.name ?? '');
      if (data === undefined && !source.secretRef.optional) {
        throw new ContainerConfigError(`secret "${source.secretRef.name}" not found`);
      }
    } else if (source.configMapRef) {
      data = await lookups.configMap(namespace, source.configMapRef.name ?? '');
      if (data === undefined && !source.configMapRef.optional) {
        throw new ContainerConfigError(`configmap "${source.configMapRef.name}" not found`);
      }
    }
    for (const [key, value] of Object.entries(data ?? {})) defined.set(prefix + key, value);
  }

  for (const variable of container.env ?? []) {
    const value = await envValue(variable, container, ctx, lookups, defined);
    if (value !== undefined) defined.set(variable.name, value);
  }

  // Runtime variables, then the Service's, then the container's own: later definitions win.
  return new Map([...ctx.runtimeEnv, ...ctx.serviceEnv, ...defined]);
}

async function envValue(
  variable: V1EnvVar,
  container: V1Container,
  ctx: EnvContext,
  lookups: EnvLookups,
  definedSoFar: ReadonlyMap<string, string>,
): Promise<string | undefined> {
  const namespace = ctx.pod.metadata?.namespace ?? 'default';
  const from = variable.valueFrom;
  if (!from) {
    // Only literal values are expanded, against variables defined above them and the Service's.
    return expand(variable.value ?? '', mappingFor(definedSoFar, ctx.serviceEnv));
  }
  if (from.fieldRef) return fieldRefValue(from.fieldRef.fieldPath, ctx);
  if (from.resourceFieldRef) {
    const ref = from.resourceFieldRef;
    const target =
      ref.containerName && ref.containerName !== container.name
        ? [...(ctx.pod.spec?.containers ?? []), ...(ctx.pod.spec?.initContainers ?? [])].find(
            (c) => c.name === ref.containerName,
          )
        : container;
    if (!target) throw new ContainerConfigError(`container "${ref.containerName}" not found in pod`);
    return resourceFieldValue(target, ref.resource, ref.divisor, ctx.nodeAllocatable);
  }
  if (from.secretKeyRef) {
    const { name, key, optional } = from.secretKeyRef;
    const data = await lookups.secret(namespace, name ?? '');
    if (data === undefined) {
      if (optional) return undefined;
      throw new ContainerConfigError(`secret "${name}" not found`);
    }
    if (!(key in data)) {
      if (optional) return undefined;
      throw new ContainerConfigError(`couldn't find key ${key} in Secret ${namespace}/${name}`);
    }
    return data[key];
  }
  if (from.configMapKeyRef) {
    const { name, key, optional } = from.configMapKeyRef;
    const data = await lookups.configMap(namespace, name ?? '');
    if (data === undefined) {
      if (optional) return undefined;
      throw new ContainerConfigError(`configmap "${name}" not found`);
    }
    if (!(key in data)) {
      if (optional) return undefined;
      throw new ContainerConfigError(`couldn't find key ${key} in ConfigMap ${namespace}/${name}`);
    }
    return data[key];
  }
  return '';
}

/** The downward API's fieldRef values (env and downwardAPI volumes share them). */
export function fieldRefValue(fieldPath: string, ctx: Pick<EnvContext, 'pod' | 'podIP' | 'hostIP'>): string {
  const { pod } = ctx;
  const subscript = /^metadata\.(labels|annotations)\['(.+)'\]$/.exec(fieldPath);
  if (subscript) {
    const map = subscript[1] === 'labels' ? pod.metadata?.labels : pod.metadata?.annotations;
    return map?.[subscript[2]!] ?? '';
  }
  switch (fieldPath) {
    case 'metadata.name':
      return pod.metadata?.name ?? '';
    case 'metadata.namespace':
      return pod.metadata?.namespace ?? '';
    case 'metadata.uid':
      return pod.metadata?.uid ?? '';
    case 'metadata.labels':
      return formatMap(pod.metadata?.labels);
    case 'metadata.annotations':
      return formatMap(pod.metadata?.annotations);
    case 'spec.nodeName':
      return pod.spec?.nodeName ?? '';
    case 'spec.serviceAccountName':
      return pod.spec?.serviceAccountName ?? '';
    case 'status.podIP':
    case 'status.podIPs':
      return ctx.podIP;
    case 'status.hostIP':
    case 'status.hostIPs':
      return ctx.hostIP;
    default:
      throw new ContainerConfigError(`unsupported fieldRef fieldPath "${fieldPath}"`);
  }
}

// The downward API's rendering of labels and annotations: key="value" lines, sorted by key.
function formatMap(map: Record<string, string> | undefined): string {
  return Object.keys(map ?? {})
    .sort()
    .map((k) => `${k}=${JSON.stringify(map![k])}`)
    .join('\n');
}

/**
 * A resourceFieldRef value, as the kubelet computes it: the container's limit (or the node's
 * allocatable when it sets none) or request, divided by the divisor and rounded up.
 */
export function resourceFieldValue(
  container: V1Container,
  resource: string,
  divisor: string | undefined,
  nodeAllocatable: Readonly<Record<string, string>>,
): string {
  const [kind, name] = resource.split('.', 2) as [string, string | undefined];
  if ((kind !== 'limits' && kind !== 'requests') || !name) {
    throw new ContainerConfigError(`unsupported resourceFieldRef resource "${resource}"`);
  }
  const limits = (container.resources?.limits ?? {}) as Record<string, string>;
  const requests = (container.resources?.requests ?? {}) as Record<string, string>;
  let quantity = kind === 'limits' ? (limits[name] ?? nodeAllocatable[name]) : requests[name];
  // A request defaults to the limit; no request and no limit reads as 0 (cpu as 0 cores).
  if (quantity === undefined && kind === 'requests') quantity = limits[name] ?? '0';
  const value = parseQuantity(quantity ?? '0');
  const by = parseQuantity(divisor ?? '1');
  if (by === 0) throw new ContainerConfigError(`resourceFieldRef ${resource}: divisor is zero`);
  return String(Math.ceil(value / by));
}
