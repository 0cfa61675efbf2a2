// CSI Node: the driver mounts nothing (etcd source volumes are handles), so it reports no node
// capabilities and identifies the node. NodeUnpublishVolume answers OK: nothing is ever
// published, and CSI makes unpublishing something not published a success (COs and csi-sanity's
// cleanup call it for every volume). Every other Node method is UNIMPLEMENTED.
import { CsiError } from './errors.ts';
import type { ServiceHandlers } from './handler.ts';
import type {
  NodeGetCapabilitiesResponse,
  NodeGetInfoResponse,
  NodeUnpublishVolumeRequest,
  NodeUnpublishVolumeResponse,
} from './messages.ts';

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
    async NodeUnpublishVolume(req: NodeUnpublishVolumeRequest): Promise<NodeUnpublishVolumeResponse> {
      if (!req.volume_id) throw new CsiError('MISSING_VOLUME_ID', 'volume_id is required');
      if (!req.target_path) throw new CsiError('MISSING_TARGET_PATH', 'target_path is required');
      return {};
    },
  };
}
