// CSI Node: the driver mounts nothing (etcd source volumes are handles), so it reports no node
// capabilities and only identifies the node; every other Node method is UNIMPLEMENTED.
import type { ServiceHandlers } from './handler.ts';
import type { NodeGetCapabilitiesResponse, NodeGetInfoResponse } from './messages.ts';

export interface NodeDeps {
  /** The Kubernetes node name (NODE_NAME from the downward API), else the host name. */
  nodeId: string;
}

export function nodeService(deps: NodeDeps): ServiceHandlers {
  return {
    async NodeGetCapabilities(): Promise<NodeGetCapabilitiesResponse> {
      return { capabilities: [] };
    },
    async NodeGetInfo(): Promise<NodeGetInfoResponse> {
      return { node_id: deps.nodeId, max_volumes_per_node: 0 };
    },
  };
}
