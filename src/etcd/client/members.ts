// What Status and MemberList answer, as the driver reads it: member IDs in hex, etcdctl's
// notation, and numbers as numbers.

export interface MemberStatus {
  endpoint: string;
  /** Hex, as etcdctl prints member IDs. */
  memberId: string;
  clusterId: string;
  /** Hex; "0" when the member knows no leader. */
  leaderId: string;
  version: string;
  dbSizeBytes: number;
  dbSizeInUseBytes: number;
  raftIndex: number;
  raftTerm: number;
  raftAppliedIndex: number;
  /** The member's store revision when it answered (the response header's). */
  revision: number;
  isLearner: boolean;
  /** Alarms and health problems the member reports (NOSPACE, …). */
  errors: string[];
}

export interface MemberInfo {
  id: string;
  name: string;
  peerUrls: string[];
  clientUrls: string[];
  isLearner: boolean;
}

export interface Header {
  cluster_id: string;
  member_id: string;
  revision: string;
}

/** uint64 as a decimal string (proto-loader longs: String) → hex, etcdctl's notation. */
export function memberIdHex(decimal: string | number | undefined): string {
  if (decimal === undefined || decimal === '') return '0';
  return BigInt(decimal).toString(16);
}
