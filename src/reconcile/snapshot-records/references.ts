// A snapshot record as the object of an Event (or any ObjectReference).
import type { InvolvedObject } from '../../kube/event-recorder.ts';
import { ETCD_SNAPSHOT, type EtcdSnapshot } from '../../records/etcd-snapshot.ts';

export function recordReference(record: EtcdSnapshot): InvolvedObject {
  return {
    apiVersion: `${ETCD_SNAPSHOT.group}/${ETCD_SNAPSHOT.version}`,
    kind: ETCD_SNAPSHOT.kind,
    name: record.metadata?.name ?? '',
    namespace: record.metadata?.namespace ?? '',
    ...(record.metadata?.uid ? { uid: record.metadata.uid } : {}),
    ...(record.metadata?.resourceVersion ? { resourceVersion: record.metadata.resourceVersion } : {}),
  };
}
