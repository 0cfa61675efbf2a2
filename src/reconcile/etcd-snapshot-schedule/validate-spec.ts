// The checks of a schedule's spec that need nothing but the spec (the class and the targets are
// checked by the flow, which reads the API and the caches). Each failure names the field and the
// value; until every check passes, nothing is created or deleted.
import type { Reason } from '../../reasons/reasons.ts';
import type { EtcdSnapshotScheduleSpec, ScheduleRunKind } from '../../records/etcd-snapshot-schedule.ts';
import { type CronSchedule, parseCron } from './cron.ts';
import { type RetentionPolicy, resolveRetention } from './retention-policy.ts';

export const REASON_INVALID: Reason = 'SCHEDULE_INVALID';
export const REASON_CLASS_NOT_FOUND: Reason = 'SCHEDULE_CLASS_NOT_FOUND';
export const REASON_NO_TARGETS: Reason = 'SCHEDULE_NO_TARGETS';
export const REASON_RUN_FAILED: Reason = 'SCHEDULE_RUN_FAILED';

export interface ValidSpec {
  cron: CronSchedule;
  retention: RetentionPolicy;
  kind: ScheduleRunKind;
}

export type SpecCheck = { ok: true; spec: ValidSpec } | { ok: false; reason: Reason; message: string };

export function checkSpec(spec: EtcdSnapshotScheduleSpec, options: { allowSeconds: boolean }): SpecCheck {
  const invalid = (message: string): SpecCheck => ({ ok: false, reason: REASON_INVALID, message });
  const cron = parseCron(spec.schedule ?? '', spec.timeZone ?? 'UTC', { allowSeconds: options.allowSeconds });
  if (!cron.ok) return invalid(`spec.${cron.field}: ${cron.message}`);
  const retention = resolveRetention(spec.retention);
  if (!retention.ok) return invalid(`${retention.field}: ${retention.message}`);
  const kind = spec.snapshot?.kind ?? 'VolumeSnapshot';
  const { cluster, selector } = spec.target ?? {};
  if ((cluster === undefined) === (selector === undefined))
    return invalid('spec.target: set exactly one of cluster and selector');
  if (kind === 'VolumeGroupSnapshot' && !selector)
    return invalid(
      'spec.target.selector: a VolumeGroupSnapshot schedule needs a selector (the group’s claims)',
    );
  if (!spec.snapshot?.className) return invalid('spec.snapshot.className: empty');
  return { ok: true, spec: { cron: cron.schedule, retention: retention.policy, kind } };
}
