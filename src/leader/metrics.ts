// Metric hooks of leader election, implemented by src/telemetry (which owns the registry):
//
//   hook              family                               type   labels
//   setMasterStatus   leader_election_master_status        gauge  name (the Lease name; 1 = held)
//   setBucketsHeld    leader_election_buckets_held         gauge  name (the Lease set)
//   setLiveReplicas   leader_election_live_replicas        gauge  name (the Lease set)
//
// leader_election_master_status is client-go's family, one series per bucket Lease.

export interface LeaderMetrics {
  setMasterStatus(leaseName: string, leading: boolean): void;
  setBucketsHeld(name: string, count: number): void;
  setLiveReplicas(name: string, count: number): void;
}

export const noopLeaderMetrics: LeaderMetrics = {
  setMasterStatus: () => {},
  setBucketsHeld: () => {},
  setLiveReplicas: () => {},
};

/** Keeps the last value of every series, keyed `family{name="…"}`, for tests. */
export class RecordingLeaderMetrics implements LeaderMetrics {
  readonly values = new Map<string, number>();
  value(family: string, name: string): number | undefined {
    return this.values.get(`${family}{name="${name}"}`);
  }
  setMasterStatus(leaseName: string, leading: boolean): void {
    this.values.set(`leader_election_master_status{name="${leaseName}"}`, leading ? 1 : 0);
  }
  setBucketsHeld(name: string, count: number): void {
    this.values.set(`leader_election_buckets_held{name="${name}"}`, count);
  }
  setLiveReplicas(name: string, count: number): void {
    this.values.set(`leader_election_live_replicas{name="${name}"}`, count);
  }
}
