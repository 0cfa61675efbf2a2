// The CSI messages as the server sees them: decoded by @grpc/proto-loader with the options in
// proto.ts (keepCase, int64 as JS numbers, enums as their names, defaults filled in, oneof
// members named by a virtual field). Requests come from untrusted clients, so every field is
// typed as possibly absent and checked in validation.ts; responses are what handlers return.

export type StringMap = Record<string, string>;

export interface Timestamp {
  seconds: number;
  nanos: number;
}

export type AccessModeName =
  | 'UNKNOWN'
  | 'SINGLE_NODE_WRITER'
  | 'SINGLE_NODE_READER_ONLY'
  | 'MULTI_NODE_READER_ONLY'
  | 'MULTI_NODE_SINGLE_WRITER'
  | 'MULTI_NODE_MULTI_WRITER'
  | 'SINGLE_NODE_SINGLE_WRITER'
  | 'SINGLE_NODE_MULTI_WRITER';

export interface VolumeCapability {
  block?: Record<string, never> | null;
  mount?: { fs_type?: string; mount_flags?: string[]; volume_mount_group?: string } | null;
  access_type?: 'block' | 'mount';
  access_mode?: { mode?: AccessModeName | string } | null;
}

export interface CapacityRange {
  required_bytes?: number;
  limit_bytes?: number;
}

export interface VolumeContentSource {
  snapshot?: { snapshot_id?: string } | null;
  volume?: { volume_id?: string } | null;
  type?: 'snapshot' | 'volume';
}

export interface Topology {
  segments?: StringMap;
}

export interface Volume {
  capacity_bytes: number;
  volume_id: string;
  volume_context: StringMap;
  content_source?: VolumeContentSource | null;
  accessible_topology?: Topology[];
}

export interface Snapshot {
  size_bytes: number;
  snapshot_id: string;
  source_volume_id: string;
  creation_time: Timestamp;
  ready_to_use: boolean;
  group_snapshot_id: string;
}

export interface VolumeGroupSnapshot {
  group_snapshot_id: string;
  snapshots: Snapshot[];
  creation_time: Timestamp;
  ready_to_use: boolean;
}

// ---- Identity ----
export type GetPluginInfoRequest = Record<string, never>;
export interface GetPluginInfoResponse {
  name: string;
  vendor_version: string;
  manifest: StringMap;
}
export type GetPluginCapabilitiesRequest = Record<string, never>;
export interface GetPluginCapabilitiesResponse {
  capabilities: { service: { type: 'CONTROLLER_SERVICE' | 'GROUP_CONTROLLER_SERVICE' } }[];
}
export type ProbeRequest = Record<string, never>;
export interface ProbeResponse {
  ready: { value: boolean };
}

// ---- Controller ----
export interface CreateVolumeRequest {
  name?: string;
  capacity_range?: CapacityRange | null;
  volume_capabilities?: VolumeCapability[];
  parameters?: StringMap;
  secrets?: StringMap;
  volume_content_source?: VolumeContentSource | null;
  accessibility_requirements?: { requisite?: Topology[]; preferred?: Topology[] } | null;
  mutable_parameters?: StringMap;
}
export interface CreateVolumeResponse {
  volume: Volume;
}
export interface DeleteVolumeRequest {
  volume_id?: string;
  secrets?: StringMap;
}
export type DeleteVolumeResponse = Record<string, never>;
export interface ValidateVolumeCapabilitiesRequest {
  volume_id?: string;
  volume_context?: StringMap;
  volume_capabilities?: VolumeCapability[];
  parameters?: StringMap;
  secrets?: StringMap;
  mutable_parameters?: StringMap;
}
export interface ValidateVolumeCapabilitiesResponse {
  confirmed: {
    volume_context: StringMap;
    volume_capabilities: VolumeCapability[];
    parameters: StringMap;
    mutable_parameters: StringMap;
  } | null;
  message: string;
}
export type ControllerGetCapabilitiesRequest = Record<string, never>;
export interface ControllerGetCapabilitiesResponse {
  capabilities: { rpc: { type: 'CREATE_DELETE_VOLUME' | 'CREATE_DELETE_SNAPSHOT' | 'LIST_SNAPSHOTS' } }[];
}
export interface CreateSnapshotRequest {
  source_volume_id?: string;
  name?: string;
  secrets?: StringMap;
  parameters?: StringMap;
}
export interface CreateSnapshotResponse {
  snapshot: Snapshot;
}
export interface DeleteSnapshotRequest {
  snapshot_id?: string;
  secrets?: StringMap;
}
export type DeleteSnapshotResponse = Record<string, never>;
export interface ListSnapshotsRequest {
  max_entries?: number;
  starting_token?: string;
  source_volume_id?: string;
  snapshot_id?: string;
  secrets?: StringMap;
}
export interface ListSnapshotsResponse {
  entries: { snapshot: Snapshot }[];
  next_token: string;
}

// ---- GroupController ----
export type GroupControllerGetCapabilitiesRequest = Record<string, never>;
export interface GroupControllerGetCapabilitiesResponse {
  capabilities: { rpc: { type: 'CREATE_DELETE_GET_VOLUME_GROUP_SNAPSHOT' } }[];
}
export interface CreateVolumeGroupSnapshotRequest {
  name?: string;
  source_volume_ids?: string[];
  secrets?: StringMap;
  parameters?: StringMap;
}
export interface CreateVolumeGroupSnapshotResponse {
  group_snapshot: VolumeGroupSnapshot;
}
export interface DeleteVolumeGroupSnapshotRequest {
  group_snapshot_id?: string;
  snapshot_ids?: string[];
  secrets?: StringMap;
}
export type DeleteVolumeGroupSnapshotResponse = Record<string, never>;
export interface GetVolumeGroupSnapshotRequest {
  group_snapshot_id?: string;
  snapshot_ids?: string[];
  secrets?: StringMap;
}
export interface GetVolumeGroupSnapshotResponse {
  group_snapshot: VolumeGroupSnapshot;
}

// ---- Node ----
export interface NodeUnpublishVolumeRequest {
  volume_id?: string;
  target_path?: string;
}
export type NodeUnpublishVolumeResponse = Record<string, never>;
export type NodeGetCapabilitiesRequest = Record<string, never>;
export interface NodeGetCapabilitiesResponse {
  capabilities: never[];
}
export type NodeGetInfoRequest = Record<string, never>;
export interface NodeGetInfoResponse {
  node_id: string;
  max_volumes_per_node: number;
}
