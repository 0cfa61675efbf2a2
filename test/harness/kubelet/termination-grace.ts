// How long a deleted pod's containers get between SIGTERM and SIGKILL, as the kubelet's pod
// workers decide it (calculateEffectiveGracePeriod in pkg/kubelet/pod_workers.go): the
// apiserver's deletionGracePeriodSeconds when it is set (a force deletion sets 0), else the
// pod's terminationGracePeriodSeconds; a grace already in effect only ever shortens; and never
// less than 1 s. So a force-deleted pod is still terminated gracefully: SIGTERM, then SIGKILL
// a second later if it has not exited. The pod vanishing from the API does not shorten it.
import type { V1Pod } from '@kubernetes/client-node';

/** The least grace the kubelet gives a pod it terminates, even one deleted with grace 0. */
export const MIN_POD_GRACE_SECONDS = 1;
/** The apiserver's default of terminationGracePeriodSeconds. */
const DEFAULT_GRACE_SECONDS = 30;

/**
 * The grace period (seconds) for terminating `pod` now, given the one already in effect for an
 * earlier deletion request of the same pod (`current`, undefined before the first).
 */
export function terminationGraceSeconds(pod: V1Pod, current: number | undefined): number {
  let grace = current ?? 0;
  let requested = false;
  const deletionGrace = pod.metadata?.deletionGracePeriodSeconds;
  if (typeof deletionGrace === 'number' && (grace === 0 || deletionGrace < grace)) {
    grace = deletionGrace;
    requested = true;
  }
  if (!requested && grace === 0) grace = pod.spec?.terminationGracePeriodSeconds ?? DEFAULT_GRACE_SECONDS;
  return Math.max(grace, MIN_POD_GRACE_SECONDS);
}
