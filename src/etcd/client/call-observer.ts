// The timing of every request an EtcdClient makes, for the driver's etcd_operation_* metrics.
// The client wraps each RPC in observeCall; the observer comes from whoever made the client (the
// pipeline's health check binds the etcd cluster to it). The first request on a connection is
// where a TLS handshake or an Authenticate fails, so those failures are observed as failed
// `status` or `authenticate` requests. Operation names are a closed set: safe as a label.

/** etcd's RPCs as the metrics name them. */
const OPERATIONS = {
  'Maintenance.Status': 'status',
  'Maintenance.Snapshot': 'snapshot',
  'Maintenance.Alarm': 'alarm',
  'Cluster.MemberList': 'member_list',
  'Auth.Authenticate': 'authenticate',
  'KV.Range': 'range',
  'KV.Put': 'put',
} as const;

export type EtcdOperation = (typeof OPERATIONS)[keyof typeof OPERATIONS] | 'other';

export interface EtcdCall {
  operation: EtcdOperation;
  endpoint: string;
  seconds: number;
  /** Why the request failed; absent when it succeeded. */
  error?: Error;
}

export type EtcdCallObserver = (call: EtcdCall) => void;

export function etcdOperation(service: string, method: string): EtcdOperation {
  return (OPERATIONS as Record<string, EtcdOperation>)[`${service}.${method}`] ?? 'other';
}

/**
 * Settles as `request` does and reports it to `observer`. A request the caller cancelled
 * (`signal` aborted) is not reported: its time and its failure say nothing about etcd.
 */
export async function observeCall<T>(
  observer: EtcdCallObserver | undefined,
  what: { service: string; method: string; endpoint: string; signal: AbortSignal | undefined },
  request: Promise<T>,
): Promise<T> {
  if (!observer) return request;
  const started = performance.now();
  const report = (error?: Error) => {
    if (what.signal?.aborted) return;
    const call: EtcdCall = {
      operation: etcdOperation(what.service, what.method),
      endpoint: what.endpoint,
      seconds: (performance.now() - started) / 1000,
      ...(error ? { error } : {}),
    };
    // Telemetry must never fail the request it watches.
    try {
      observer(call);
    } catch {}
  };
  try {
    const value = await request;
    report();
    return value;
  } catch (err) {
    report(err instanceof Error ? err : new Error(String(err)));
    throw err;
  }
}
