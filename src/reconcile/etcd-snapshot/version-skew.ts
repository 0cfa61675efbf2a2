// Members of one etcd cluster on different server versions (a rolling upgrade that stopped half
// way, a member left behind): the snapshot is still taken — etcd replicates one data set, and
// the file records the version of the member it came from — but the operator is told, with a
// Warning Event `EtcdVersionSkew` on the record and the gauge etcd_cluster_member_versions.

import type { EtcdSnapshot } from '../../records/etcd-snapshot.ts';
import type { ReconcileContext } from '../result.ts';
import { type MemberView, memberView } from './member-view.ts';
import type { ClusterHealthView } from './ports.ts';
import type { StepIo } from './step-io.ts';

export const EVENT_VERSION_SKEW = 'EtcdVersionSkew';
const MAX_NAMES_PER_VERSION = 5;

export interface VersionReport {
  /** Distinct versions among the members that answered; 0 when none reported one. */
  distinct: number;
  /** Set when distinct > 1: which member runs which version (bounded). */
  warning?: string;
}

export function versionReport(clusterKey: string, members: readonly unknown[]): VersionReport {
  const byVersion = new Map<string, string[]>();
  for (const m of members.map(memberView)) {
    if (!m.version || m.reachable === false) continue;
    const names = byVersion.get(m.version) ?? [];
    names.push(label(m));
    byVersion.set(m.version, names);
  }
  if (byVersion.size <= 1) return { distinct: byVersion.size };
  const parts = [...byVersion.entries()]
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
    .map(([version, names]) => {
      const shown = names.slice(0, MAX_NAMES_PER_VERSION).join(', ');
      const more =
        names.length > MAX_NAMES_PER_VERSION ? ` and ${names.length - MAX_NAMES_PER_VERSION} more` : '';
      return `${version} (${shown}${more})`;
    });
  return {
    distinct: byVersion.size,
    warning: `etcd cluster ${clusterKey}: members run ${byVersion.size} versions: ${parts.join('; ')}; the snapshot goes on (one data set), finish the upgrade`,
  };
}

function label(m: MemberView): string {
  return m.name ?? m.id ?? '?';
}

/** Members on different etcd versions: the gauge whenever versions are known, an Event when they differ. */
export async function reportVersionSkew(
  io: StepIo,
  record: EtcdSnapshot,
  health: ClusterHealthView,
  ctx: ReconcileContext,
): Promise<void> {
  const cluster = record.spec.cluster.key;
  const report = versionReport(cluster, health.members);
  if (report.distinct > 0) io.metrics.memberVersions(cluster, report.distinct);
  if (!report.warning) return;
  ctx.log.warn({ cluster_name: cluster, versions: report.distinct }, report.warning);
  await io.api.recordEvent(
    record,
    { type: 'Warning', reason: EVENT_VERSION_SKEW, message: report.warning },
    ctx.signal,
  );
}
