// An etcd client URL → the gRPC target, whether the connection uses TLS, and the name the server
// certificate must carry. The driver dials members by pod IP (it may have no cluster DNS) while
// their certificates often name only DNS names, so a URL may carry the TLS server name beside the
// address it dials: `https://10.0.0.5:2379?tls-server-name=demo-0.demo.etcd.svc`. Endpoints are
// strings everywhere (records, Job arguments, health checks), so the name travels with them.

/** The query parameter of an endpoint URL that names the member's TLS server name. */
export const TLS_SERVER_NAME_PARAM = 'tls-server-name';

export interface ParsedEndpoint {
  /** host:port as gRPC dials it. */
  target: string;
  /** Set by an https:// URL; an URL without a scheme uses TLS when credentials bring a CA or a certificate. */
  tls: boolean | undefined;
  /** The name the server certificate is checked against; absent: the host of `target`. */
  serverName?: string;
}

// A DNS name as certificates carry it: labels of letters, digits and hyphens.
const DNS_NAME = /^(?=.{1,253}$)[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?(\.[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)*$/i;

export function parseEndpoint(endpoint: string): ParsedEndpoint {
  const trimmed = endpoint.trim();
  if (/^unixs?:/.test(trimmed)) {
    throw new Error(`etcd endpoint "${endpoint}": unix sockets are not supported`);
  }
  const m = /^(?:(https?):\/\/)?([^/?]+)\/?(?:\?(.*))?$/.exec(trimmed);
  const hostPort = m?.[2];
  if (!m || !hostPort) throw new Error(`etcd endpoint "${endpoint}" is not a URL like https://10.0.0.1:2379`);
  const scheme = m[1];
  // A bare host gets etcd's client port; "[::1]" and "host" alike.
  const hasPort = /:\d+$/.test(hostPort) && !/^\[[^\]]*\]$/.test(hostPort);
  const parsed: ParsedEndpoint = {
    target: hasPort ? hostPort : `${hostPort}:2379`,
    tls: scheme === undefined ? undefined : scheme === 'https',
  };
  if (m[3] !== undefined) {
    const query = new URLSearchParams(m[3]);
    const unknown = [...query.keys()].filter((k) => k !== TLS_SERVER_NAME_PARAM);
    const serverName = query.get(TLS_SERVER_NAME_PARAM) ?? '';
    if (unknown.length > 0 || !DNS_NAME.test(serverName)) {
      throw new Error(
        `etcd endpoint "${endpoint.slice(0, 300)}": the only query it may have is ?${TLS_SERVER_NAME_PARAM}=<DNS name>`,
      );
    }
    parsed.serverName = serverName;
  }
  return parsed;
}

/** The endpoint URL that dials `url` and checks the server certificate for `serverName`. */
export function withServerName(url: string, serverName: string | undefined): string {
  if (!serverName) return url;
  return `${url}?${TLS_SERVER_NAME_PARAM}=${serverName}`;
}

/** How messages name the member behind an endpoint: its server name, else the address. */
export function memberOf(endpoint: string): string {
  try {
    const parsed = parseEndpoint(endpoint);
    return parsed.serverName ?? parsed.target;
  } catch {
    return endpoint.slice(0, 200);
  }
}
