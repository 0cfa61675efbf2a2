// CSI Identity: who the plugin is, which services it offers, and whether it is ready.
import type { BuildInfo } from './build-info.ts';
import type { ServiceHandlers } from './handler.ts';
import type { GetPluginCapabilitiesResponse, GetPluginInfoResponse, ProbeResponse } from './messages.ts';

export interface Readiness {
  /** Every informer cache the handlers read has synced. */
  cachesSynced(): boolean;
  /** The API server answered recently (judged in the background: Probe must stay cheap). */
  apiReachable(): boolean;
}

export interface IdentityDeps {
  driverName: string;
  build: BuildInfo;
  readiness: Readiness;
}

export function identityService(deps: IdentityDeps): ServiceHandlers {
  return {
    async GetPluginInfo(): Promise<GetPluginInfoResponse> {
      return {
        name: deps.driverName,
        vendor_version: deps.build.version,
        manifest: { commit: deps.build.commit },
      };
    },
    async GetPluginCapabilities(): Promise<GetPluginCapabilitiesResponse> {
      return {
        capabilities: [
          { service: { type: 'CONTROLLER_SERVICE' } },
          { service: { type: 'GROUP_CONTROLLER_SERVICE' } },
        ],
      };
    },
    async Probe(): Promise<ProbeResponse> {
      return { ready: { value: deps.readiness.cachesSynced() && deps.readiness.apiReachable() } };
    },
  };
}
