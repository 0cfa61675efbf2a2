// What a pod's etcd container says about its client side: which container runs etcd, its client
// port and scheme, and the name its serving certificate carries. Discovery dials members by pod
// IP (the driver and its Jobs may have no cluster DNS) but checks their certificates for a DNS
// name, because that is what etcd-druid, the common charts and cert-manager setups issue.
import { isIP } from 'node:net';
import type { V1Container } from '@kubernetes/client-node';
import type { Pod } from '../informers/resources.ts';
import type { Wire } from '../informers/wire.ts';

export type Container = Wire<V1Container>;

export const DEFAULT_CLIENT_PORT = 2379;

/** The container running etcd: one named etcd, else one with a port named client, else the first. */
export function etcdContainer(containers: readonly Container[]): Container | undefined {
  return (
    containers.find((c) => c.name === 'etcd') ??
    containers.find((c) => c.ports?.some((p) => p.name === 'client')) ??
    containers[0]
  );
}

export function clientPort(container: Container | undefined): number {
  return container?.ports?.find((p) => p.name === 'client')?.containerPort ?? DEFAULT_CLIENT_PORT;
}

/** The values of etcd's --listen/--advertise-client-urls flags and ETCD_* variables, unexpanded. */
function clientUrls(container: Container, which: 'listen|advertise' | 'advertise'): string[] {
  const words = [...(container.command ?? []), ...(container.args ?? [])];
  const urls: string[] = [];
  const flag = new RegExp(`^--(?:${which})-client-urls(?:=(.*))?$`);
  for (let i = 0; i < words.length; i++) {
    const m = flag.exec(words[i]!);
    if (m) urls.push(m[1] ?? words[i + 1] ?? '');
  }
  const names =
    which === 'advertise'
      ? ['ETCD_ADVERTISE_CLIENT_URLS']
      : ['ETCD_LISTEN_CLIENT_URLS', 'ETCD_ADVERTISE_CLIENT_URLS'];
  for (const env of container.env ?? []) {
    if (names.includes(env.name)) urls.push(env.value ?? '');
  }
  return urls;
}

/** https when etcd's client URLs say so (flags or ETCD_* environment) or client TLS is configured. */
export function clientScheme(container: Container | undefined): 'http' | 'https' {
  if (!container) return 'http';
  const urls = clientUrls(container, 'listen|advertise');
  if (urls.length > 0) return urls.some((u) => u.includes('https://')) ? 'https' : 'http';
  const words = [...(container.command ?? []), ...(container.args ?? [])];
  return words.some((w) => w.startsWith('--client-cert-auth') || w.startsWith('--cert-file'))
    ? 'https'
    : 'http';
}

/**
 * The DNS name a member's serving certificate is checked for: the host of the client URL etcd
 * advertises when that is a DNS name ($(VAR) references expanded as the kubelet does), else the
 * pod's stable name behind its headless Service (`<hostname>.<subdomain>.<namespace>.svc`, what a
 * StatefulSet gives its pods), else `fallback`. Undefined when nothing names the member.
 */
export function memberServerName(pod: Pod, fallback?: string): string | undefined {
  const container = etcdContainer(pod.spec?.containers ?? []);
  const advertised = container ? clientUrls(container, 'advertise')[0] : undefined;
  const host = advertised ? hostOf(expand(advertised.split(',')[0] ?? '', pod, container)) : undefined;
  if (host && isIP(host) === 0 && !host.includes('$(')) return host;
  const name = pod.metadata?.name;
  const subdomain = pod.spec?.subdomain;
  if (name && subdomain) return `${pod.spec?.hostname ?? name}.${subdomain}.${pod.metadata?.namespace}.svc`;
  return fallback;
}

function hostOf(url: string): string | undefined {
  const m = /^(?:[a-z]+:\/\/)?(\[[^\]]*\]|[^:/?]+)/i.exec(url.trim());
  return m?.[1]?.replace(/^\[|\]$/g, '');
}

/** $(VAR) from the container's env: literal values and the pod fields the kubelet resolves. */
function expand(text: string, pod: Pod, container: Container | undefined): string {
  const fields: Record<string, string | undefined> = {
    'metadata.name': pod.metadata?.name,
    'metadata.namespace': pod.metadata?.namespace,
    'status.podIP': pod.status?.podIP,
  };
  const vars = new Map<string, string>();
  for (const env of container?.env ?? []) {
    const value = env.valueFrom?.fieldRef ? fields[env.valueFrom.fieldRef.fieldPath] : env.value;
    if (value !== undefined)
      vars.set(
        env.name,
        value.replace(/\$\(([A-Za-z_][A-Za-z0-9_]*)\)/g, (m, v) => vars.get(v) ?? m),
      );
  }
  return text.replace(/\$\(([A-Za-z_][A-Za-z0-9_]*)\)/g, (m, v: string) => vars.get(v) ?? m);
}
