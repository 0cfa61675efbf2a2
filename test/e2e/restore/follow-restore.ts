// Follows one EtcdRestore through every status write, as the apiserver announces them. A poll can
// miss a phase shorter than its interval (a StatefulSet of process pods quiesces in well under
// 200 ms), and the tests judge the order of phases: fetched before anything destructive began.
import type { EtcdRestore } from '../../../src/records/etcd-restore.ts';
import type { DriverEnv } from '../../integration/csi/driver-env.ts';

const RESTORES = '/apis/snapshot.etcd-snapshot-driver.io/v1alpha1/namespaces';

interface WatchStatus {
  code?: number;
  message?: string;
}

/**
 * Yields the restore as a GET reads it, then every version of it a watch from there delivers. A
 * watch the server ends is resumed from the last version seen, so no write is skipped; a 410 (that
 * version was compacted away, which a test's few minutes do not reach) ends the follow with an error.
 */
async function* versionsOf(
  env: DriverEnv,
  namespace: string,
  name: string,
  signal: AbortSignal,
): AsyncGenerator<EtcdRestore> {
  let restore = await env.kubeClient.request<EtcdRestore>(
    'GET',
    `${RESTORES}/${namespace}/etcdrestores/${name}`,
    { signal },
  );
  yield restore;
  let resourceVersion = restore.metadata?.resourceVersion;
  for (;;) {
    const query = { fieldSelector: `metadata.name=${name}`, resourceVersion, allowWatchBookmarks: true };
    for await (const event of env.kubeClient.watch(`${RESTORES}/${namespace}/etcdrestores`, query, signal)) {
      if (event.type === 'ERROR') {
        const status = event.object as WatchStatus;
        throw new Error(`watching restore ${name}: ${status.code} ${status.message}`);
      }
      restore = event.object as EtcdRestore;
      resourceVersion = restore.metadata?.resourceVersion ?? resourceVersion;
      if (event.type === 'BOOKMARK') continue;
      if (event.type === 'DELETED') throw new Error(`restore ${name} was deleted while followed`);
      yield restore;
    }
  }
}

/**
 * Follows the restore until it is in one of `ends`; returns it and how long each phase lasted,
 * every phase it passed through in order (the phase it was in when the follow began first).
 */
export async function followRestore(
  env: DriverEnv,
  namespace: string,
  name: string,
  ends: string[],
  timeoutMs = 240_000,
  /** Called at each phase seen first (a test replaces the controller there, as a crash would). */
  onPhase?: (phase: string) => Promise<void>,
): Promise<{ restore: EtcdRestore; phases: { phase: string; seconds: number }[] }> {
  const phases: { phase: string; seconds: number }[] = [];
  let current = '';
  let since = performance.now();
  const signal = AbortSignal.timeout(timeoutMs);
  try {
    for await (const restore of versionsOf(env, namespace, name, signal)) {
      const phase = restore.status?.phase ?? 'Pending';
      if (phase !== current) {
        const now = performance.now();
        if (current) phases.push({ phase: current, seconds: (now - since) / 1000 });
        current = phase;
        since = now;
        if (ends.includes(phase)) return { restore, phases };
        await onPhase?.(phase);
      }
    }
  } catch (err) {
    if (!signal.aborted) throw err;
  }
  const seen = [...phases.map((p) => p.phase), current].join(' → ');
  throw new Error(
    `timed out after ${timeoutMs} ms waiting for restore ${name} to be ${ends.join(' or ')}; seen: ${seen}`,
  );
}
