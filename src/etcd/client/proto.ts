// Loads the project's etcd proto (src/etcd/proto/rpc.proto) once and hands out each method's
// path and (de)serialisers. uint64 fields come as decimal strings (longs: String): member IDs use
// all 64 bits, which a JS number cannot hold.
import { fileURLToPath } from 'node:url';
import type { MethodDefinition } from '@grpc/grpc-js';
import { loadSync, type Options } from '@grpc/proto-loader';

export const ETCD_PROTO_PATH = fileURLToPath(new URL('../proto/rpc.proto', import.meta.url));

const LOADER_OPTIONS: Options = {
  keepCase: true,
  longs: String,
  enums: String,
  defaults: true,
  oneofs: true,
};

type Methods = Record<string, MethodDefinition<unknown, unknown>>;
let loaded: Record<string, Methods> | undefined;

/** `etcdserverpb.<service>/<method>`'s definition; throws when the proto does not declare it. */
export function etcdMethod<Req, Res>(service: string, method: string): MethodDefinition<Req, Res> {
  if (!loaded) {
    const pkg = loadSync(ETCD_PROTO_PATH, LOADER_OPTIONS);
    loaded = {};
    for (const name of ['KV', 'Cluster', 'Maintenance', 'Auth']) {
      const def = pkg[`etcdserverpb.${name}`];
      if (!def || 'format' in def) throw new Error(`rpc.proto declares no service etcdserverpb.${name}`);
      loaded[name] = def as unknown as Methods;
    }
  }
  const def = loaded[service]?.[method];
  if (!def) throw new Error(`rpc.proto declares no method etcdserverpb.${service}/${method}`);
  return def as MethodDefinition<Req, Res>;
}
