// The look at a live etcd cluster the restore takes twice: at Validate (the member list, while
// the cluster still answers) and at VerifyResult (quorum, leader, revision, keys). Status from
// every endpoint in parallel, MemberList and the key count from one that answered; one overall
// deadline, every client closed at the end.
import { EtcdClient } from '../../etcd/client/etcd-client.ts';
import type { MemberInfo, MemberStatus } from '../../etcd/client/members.ts';
import type { LiveClusterProbe, LiveClusterView } from './ports.ts';

export const probeLiveCluster: LiveClusterProbe = async (endpoints, credentials, options) => {
  const deadline = Date.now() + options.timeoutMs;
  const clients = [...new Set(endpoints)].map(
    (endpoint) =>
      new EtcdClient(endpoint, {
        credentials,
        dialTimeoutMs: options.timeoutMs,
        callTimeoutMs: options.timeoutMs,
      }),
  );
  const call = { signal: options.signal, deadline };
  try {
    const statuses = await Promise.all(
      clients.map((c) =>
        c.status(call).then(
          (s): [EtcdClient, MemberStatus] => [c, s],
          () => undefined,
        ),
      ),
    );
    const answered = statuses.filter((s): s is [EtcdClient, MemberStatus] => s !== undefined);
    const first = answered[0];
    if (!first) throw new Error(`no etcd endpoint answered (${endpoints.join(', ')})`);
    const members: MemberInfo[] = await first[0].memberList(call);
    const view: LiveClusterView = {
      members: members
        .filter((m) => !m.isLearner)
        .map((m) => ({ id: m.id, name: m.name, peerUrls: m.peerUrls })),
      answering: answered.length,
      leaders: [...new Set(answered.map(([, s]) => s.leaderId))],
      revision: 0,
    };
    const versions = answered.map(([, s]) => s.version).sort();
    if (versions[0]) view.version = versions[0];
    if (view.leaders.length === 1 && view.leaders[0] !== '0') {
      view.revision = (await first[0].countKeys('', call)).revision;
      if (options.countAtRevision !== undefined) {
        const at = options.countAtRevision;
        // Each member's own store (serializable): a member that restored nothing shows it here.
        view.keyCounts = await Promise.all(
          answered.map(async ([client, s]) => ({
            member: members.find((m) => m.id === s.memberId)?.name ?? s.memberId,
            count: (await client.countKeys('', { ...call, atRevision: at, serializable: true })).count,
          })),
        );
      }
    }
    return view;
  } finally {
    for (const c of clients) c.close();
  }
};
