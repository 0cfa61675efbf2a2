// Loads the project's csi.proto at run time. The loader options fix how messages look in
// JavaScript for the whole server (messages.ts): snake_case field names as in the proto, int64
// as numbers (byte counts and seconds stay far below 2^53), enums as names, defaults filled in.
import { fileURLToPath } from 'node:url';
import type { ServiceDefinition } from '@grpc/grpc-js';
import { loadSync, type Options } from '@grpc/proto-loader';

export const CSI_PROTO_PATH = fileURLToPath(new URL('./proto/csi.proto', import.meta.url));

export const PROTO_LOADER_OPTIONS: Options = {
  keepCase: true,
  longs: Number,
  enums: String,
  defaults: true,
  oneofs: true,
};

export type CsiServiceName = 'Identity' | 'Controller' | 'GroupController' | 'Node';

export type CsiServiceDefinitions = Record<CsiServiceName, ServiceDefinition>;

let loaded: CsiServiceDefinitions | undefined;

/** The four CSI services (package csi.v1), loaded once. */
export function csiServiceDefinitions(): CsiServiceDefinitions {
  if (!loaded) {
    const pkg = loadSync(CSI_PROTO_PATH, PROTO_LOADER_OPTIONS);
    const service = (name: CsiServiceName) => {
      const def = pkg[`csi.v1.${name}`];
      if (!def || 'format' in def) throw new Error(`csi.proto declares no service csi.v1.${name}`);
      return def as ServiceDefinition;
    };
    loaded = {
      Identity: service('Identity'),
      Controller: service('Controller'),
      GroupController: service('GroupController'),
      Node: service('Node'),
    };
  }
  return loaded;
}
