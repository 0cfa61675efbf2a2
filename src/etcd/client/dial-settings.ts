// How a client reaches one member: the gRPC channel's target, credentials and options, and the
// same for the Snapshot stream on node:http2, from the endpoint and the cluster's credentials. TLS
// is on when the endpoint says https, or the credentials carry a client certificate or a CA.
import { ChannelCredentials, type ChannelOptions } from '@grpc/grpc-js';
import type { EtcdCredentials } from '../credentials.ts';
import { parseEndpoint } from './endpoint.ts';
import type { SnapshotDial } from './snapshot-http2.ts';
import { checkServerName, type TlsContext } from './tls-failure.ts';

const GRPC_OPTIONS = {
  // Large Range answers (tests and benches count keys) pass; the snapshot is not on grpc-js.
  'grpc.max_receive_message_length': 64 * 1024 * 1024,
  'grpc.initial_reconnect_backoff_ms': 200,
  'grpc.max_reconnect_backoff_ms': 2000,
  // One channel per client object: two clients of one endpoint must not share a broken connection.
  'grpc.use_local_subchannel_pool': 1,
};

export interface DialSettings {
  target: string;
  channelCredentials: ChannelCredentials;
  channelOptions: ChannelOptions;
  /** How the Snapshot stream dials the member (snapshot-http2.ts). */
  snapshot: Pick<SnapshotDial, 'target' | 'tls' | 'dialTimeoutMs'>;
  /** What a TLS failure's message may say about where the certificates came from. */
  tls: TlsContext;
}

export function dialSettings(endpoint: string, creds: EtcdCredentials, dialTimeoutMs: number): DialSettings {
  const parsed = parseEndpoint(endpoint);
  const ca = creds.kind === 'none' ? undefined : creds.ca;
  const useTls = parsed.tls ?? (creds.kind === 'tls' || ca !== undefined);
  const tls: TlsContext = {
    ...(creds.kind !== 'none' && creds.source ? { source: creds.source } : {}),
    ...(creds.kind !== 'none' && creds.caSource ? { caSource: creds.caSource } : {}),
    hasCa: ca !== undefined,
    hasClientCert: creds.kind === 'tls',
  };
  const snapshot: DialSettings['snapshot'] = {
    target: parsed.target,
    dialTimeoutMs,
    ...(useTls
      ? {
          tls: {
            ...(ca ? { ca } : {}),
            ...(creds.kind === 'tls' ? { cert: creds.cert, key: creds.key } : {}),
            ...(parsed.serverName ? { servername: parsed.serverName } : {}),
            checkServerIdentity: checkServerName,
          },
        }
      : {}),
  };
  let channelCredentials: ChannelCredentials;
  if (useTls) {
    const verify = { checkServerIdentity: checkServerName };
    channelCredentials =
      creds.kind === 'tls'
        ? ChannelCredentials.createSsl(ca ?? null, creds.key, creds.cert, verify)
        : ChannelCredentials.createSsl(ca ?? null, null, null, verify);
  } else {
    channelCredentials = ChannelCredentials.createInsecure();
  }
  // The certificate is checked for the member's name, whatever address is dialled (SNI too).
  const channelOptions = parsed.serverName
    ? { ...GRPC_OPTIONS, 'grpc.ssl_target_name_override': parsed.serverName }
    : GRPC_OPTIONS;
  return { target: parsed.target, channelCredentials, channelOptions, snapshot, tls };
}
