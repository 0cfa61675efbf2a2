// The cluster health and quorum check the pipeline runs before a save and the agent runs before
// it streams: Status from every given endpoint in parallel, the member list from one that
// answered, members mapped to endpoints by the member ID in each Status answer (the member list's
// own client URLs may be DNS names that do not resolve where this runs), then assessQuorum.
// Never hangs: one overall deadline, every call aborted when the check ends. Every request is
// reported to `onCall` (the driver's etcd_operation_* metrics); a verdict of an unhealthy cluster
// is a ClusterUnhealthyError carrying the member counts (the health gauges).
import type { EtcdCallObserver } from './client/call-observer.ts';
import { EtcdClient } from './client/etcd-client.ts';
import type { MemberInfo } from './client/members.ts';
import type { EtcdCredentials } from './credentials.ts';
import { EtcdError } from './errors.ts';
import { assessQuorum, type ClusterHealth, type EndpointProbe } from './quorum.ts';

export type { EtcdCall, EtcdCallObserver } from './client/call-observer.ts';
export { ClusterUnhealthyError, type MemberCounts } from './errors.ts';
export type { ClusterHealth, EndpointProbe, MemberHealth } from './quorum.ts';
export { assessQuorum } from './quorum.ts';

const EXTRA_PROBE_MS = 1500;

export interface HealthCheckOptions {
  signal?: AbortSignal;
  /** The whole check's deadline, ms; default 5000. */
  timeoutMs?: number;
  /** How long each connection may take, ms; default (and at most) timeoutMs. */
  dialTimeoutMs?: number;
  /** Told of every request the check makes to etcd, failed connections and handshakes included. */
  onCall?: EtcdCallObserver;
}

export async function checkClusterHealth(
  endpoints: string[],
  credentials: EtcdCredentials,
  options: HealthCheckOptions = {},
): Promise<ClusterHealth> {
  const unique = [...new Set(endpoints.map((e) => e.trim()).filter((e) => e !== ''))];
  if (unique.length === 0) throw new EtcdError('ETCD_ENDPOINTS_UNREACHABLE', 'no etcd endpoints were given');
  const timeoutMs = options.timeoutMs ?? 5000;
  const deadline = Date.now() + timeoutMs;
  const controller = new AbortController();
  const signal = options.signal ? AbortSignal.any([options.signal, controller.signal]) : controller.signal;
  const clients = new Map<string, EtcdClient>();
  const clientFor = (endpoint: string) => {
    let c = clients.get(endpoint);
    if (!c) {
      c = new EtcdClient(endpoint, {
        credentials,
        dialTimeoutMs: Math.min(options.dialTimeoutMs ?? timeoutMs, timeoutMs),
        callTimeoutMs: timeoutMs,
        ...(options.onCall ? { onCall: options.onCall } : {}),
      });
      clients.set(endpoint, c);
    }
    return c;
  };
  const probe = async (endpoint: string, by = deadline): Promise<EndpointProbe> => {
    try {
      return { endpoint, status: await clientFor(endpoint).status({ signal, deadline: by }) };
    } catch (err) {
      if (options.signal?.aborted) throw err;
      return { endpoint, error: err instanceof Error ? err : new Error(String(err)) };
    }
  };

  try {
    const probes = await Promise.all(unique.map((e) => probe(e)));
    let members: MemberInfo[] | undefined;
    for (const p of probes) {
      if (!p.status) continue;
      try {
        members = await clientFor(p.endpoint).memberList({ signal, deadline });
        break;
      } catch (err) {
        if (options.signal?.aborted) throw err;
      }
    }
    // Members no given endpoint reached: try their own client URLs while time remains (a lone
    // seed endpoint is enough to find the others when their URLs resolve here). Briefly: a name
    // that does not resolve here must not stretch every check to its full deadline.
    if (members) {
      const reached = new Set(probes.flatMap((p) => (p.status ? [p.status.memberId] : [])));
      const extra = members
        .filter((m) => !reached.has(m.id) && !m.isLearner)
        .flatMap((m) => m.clientUrls.filter((u) => !clients.has(u)).slice(0, 1));
      const by = Math.min(deadline, Date.now() + EXTRA_PROBE_MS);
      if (extra.length > 0 && Date.now() < deadline - 100) {
        probes.push(...(await Promise.all(extra.map((u) => probe(u, by)))));
      }
    }
    return assessQuorum({ members, probes });
  } finally {
    controller.abort(new Error('health check finished'));
    for (const c of clients.values()) c.close();
  }
}
