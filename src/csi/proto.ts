// Loads the project's csi.proto at run time. The loader options fix how messages look in
// JavaScript for the whole server (messages.ts): snake_case field names as in the proto, int64
// as numbers (byte counts and seconds stay far below 2^53), enums as names, defaults filled in.
import { fileURLToPath } from 'node:url';
import type { ServiceDefinition } from '@grpc/grpc-js';
import { loadSync, type Options, type PackageDefinition } from '@grpc/proto-loader';
import { type MessageDescriptor, type MessageRegistry, messageRegistry } from './request-check.ts';

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
let pkgLoaded: PackageDefinition | undefined;
let registry: MessageRegistry | undefined;

function csiPackage(): PackageDefinition {
  pkgLoaded ??= loadSync(CSI_PROTO_PATH, PROTO_LOADER_OPTIONS);
  return pkgLoaded;
}

/** Every message type of the proto by full name, for the wire check of requests. */
export function csiMessageRegistry(): MessageRegistry {
  registry ??= messageRegistry(
    Object.entries(csiPackage()).flatMap(([name, def]) =>
      'format' in def && def.format === 'Protocol Buffer 3 DescriptorProto'
        ? [[name, def.type as MessageDescriptor] as [string, MessageDescriptor]]
        : [],
    ),
  );
  return registry;
}

/** The four CSI services (package csi.v1), loaded once. */
export function csiServiceDefinitions(): CsiServiceDefinitions {
  if (!loaded) {
    const pkg = csiPackage();
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
