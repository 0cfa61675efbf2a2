// What must hold whenever a bucket Lease changes hands, judged from its watched history rather than
// from how fast anything happened: never two holders. A new holder may take a Lease that the old
// one released (empty holder), or, from a holder that did not release it, only a LeaseDuration
// after that holder's last renewal — the elector waits that long after it SAW the renewal, which is
// after the holder wrote it. Each version a replica writes carries the resourceVersion it read, so
// the version just before a take in the history is the one the taker judged.
//
// Times are the Lease's own renewTime and acquireTime (MicroTime, written by the replicas), not
// when the watch delivered them: every replica runs on this one machine's clock, and a loaded
// machine delays deliveries, not clocks.
import type { LeaseInfo } from './replicas.ts';

export type LeaseVersion = Pick<LeaseInfo, 'spec'> & { metadata: { name: string; resourceVersion?: string } };

/** A MicroTime ("2026-01-02T03:04:05.123456Z") in microseconds since the epoch. */
export function microsOf(time: string | undefined): number {
  const match = /^(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d)(?:\.(\d{1,9}))?Z$/.exec(time ?? '');
  if (!match) throw new Error(`not a MicroTime: ${JSON.stringify(time)}`);
  const fraction = (match[2] ?? '').padEnd(6, '0').slice(0, 6);
  return Date.parse(`${match[1]}Z`) * 1000 + Number(fraction);
}

const holderOf = (v: LeaseVersion) => v.spec?.holderIdentity ?? '';

/**
 * Every take in one Lease's history (versions in the order written) that broke single-holder,
 * described; [] when there is none.
 */
export function handoverViolations(history: readonly LeaseVersion[]): string[] {
  const violations: string[] = [];
  for (let i = 1; i < history.length; i++) {
    const before = history[i - 1]!;
    const after = history[i]!;
    const from = holderOf(before);
    const to = holderOf(after);
    if (to === '' || to === from || from === '') continue;
    const durationMs = (before.spec?.leaseDurationSeconds ?? 0) * 1000;
    const waitedUs =
      microsOf(after.spec?.acquireTime ?? after.spec?.renewTime) - microsOf(before.spec?.renewTime);
    if (waitedUs < durationMs * 1000) {
      violations.push(
        `${after.metadata.name}: ${to} took it from ${from} ${(waitedUs / 1000).toFixed(3)} ms after ` +
          `its last renewal (resourceVersion ${before.metadata.resourceVersion}), before its ` +
          `LeaseDuration of ${durationMs} ms`,
      );
    }
  }
  return violations;
}

/** How the holder at `takeIndex` of a Lease's history got it: after a release, or at expiry. */
export function handoverKind(history: readonly LeaseVersion[], takeIndex: number): 'release' | 'expiry' {
  return holderOf(history[takeIndex - 1]!) === '' ? 'release' : 'expiry';
}
