// The node's one /etc/hosts, bind-mounted (read-only) into every container. It stands in for
// cluster DNS: each running pod's name, and for pods with a subdomain (StatefulSet pods behind a
// headless Service) the <hostname>.<subdomain>.<namespace>.svc[.cluster.local] names, resolve to the
// pod's IP. It is rewritten in place — truncate and write, never rename — because a bind mount
// pins the inode: a renamed-over file would never be seen by running containers.
import { closeSync, ftruncateSync, openSync, writeFileSync, writeSync } from 'node:fs';

export interface HostsEntry {
  ip: string;
  podName: string;
  namespace: string;
  /** spec.hostname, defaulting to the pod name. */
  hostname: string;
  subdomain?: string;
}

export const CLUSTER_DOMAIN = 'cluster.local';

export function renderHostsFile(entries: readonly HostsEntry[]): string {
  const lines = [
    '# Managed by the process kubelet: every pod of this node.',
    '127.0.0.1\tlocalhost',
    '::1\tlocalhost ip6-localhost ip6-loopback',
  ];
  const sorted = [...entries].sort(
    (a, b) => a.namespace.localeCompare(b.namespace) || a.podName.localeCompare(b.podName),
  );
  for (const e of sorted) {
    const names = new Set<string>();
    if (e.subdomain) {
      const fqdn = `${e.hostname}.${e.subdomain}.${e.namespace}.svc`;
      names.add(e.hostname);
      names.add(fqdn);
      names.add(`${fqdn}.${CLUSTER_DOMAIN}`);
    }
    names.add(e.podName);
    if (e.hostname !== e.podName) names.add(e.hostname);
    lines.push(`${e.ip}\t${[...names].join(' ')}`);
  }
  return `${lines.join('\n')}\n`;
}

/**
 * Replaces the file's content keeping its inode (see above). The new content is written over the
 * old and only then cut to length, so a concurrent reader never sees an empty file.
 */
export function writeInPlace(path: string, content: string): void {
  writeFileSync(path, '', { flag: 'a' }); // create when missing, leave alone otherwise
  const fd = openSync(path, 'r+');
  try {
    const bytes = Buffer.from(content, 'utf8');
    writeSync(fd, bytes, 0, bytes.length, 0);
    ftruncateSync(fd, bytes.length);
  } finally {
    closeSync(fd);
  }
}
