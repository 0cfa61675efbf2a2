// An etcd client URL → the gRPC target and whether the connection uses TLS.
export interface ParsedEndpoint {
  /** host:port as gRPC dials it. */
  target: string;
  /** Set by an https:// URL; an URL without a scheme uses TLS when credentials bring a CA or a certificate. */
  tls: boolean | undefined;
}

export function parseEndpoint(endpoint: string): ParsedEndpoint {
  const trimmed = endpoint.trim();
  if (/^unixs?:/.test(trimmed)) {
    throw new Error(`etcd endpoint "${endpoint}": unix sockets are not supported`);
  }
  const m = /^(?:(https?):\/\/)?([^/]+)\/?$/.exec(trimmed);
  const hostPort = m?.[2];
  if (!m || !hostPort) throw new Error(`etcd endpoint "${endpoint}" is not a URL like https://10.0.0.1:2379`);
  const scheme = m[1];
  // A bare host gets etcd's client port; "[::1]" and "host" alike.
  const hasPort = /:\d+$/.test(hostPort) && !/^\[[^\]]*\]$/.test(hostPort);
  return {
    target: hasPort ? hostPort : `${hostPort}:2379`,
    tls: scheme === undefined ? undefined : scheme === 'https',
  };
}
