// What the pipeline reads of a health check's members. ClusterHealthView keeps them `unknown`
// (src/etcd/health.ts's MemberHealth has these fields; test fakes may have none), so each field
// is read only when it has the right type.
export interface MemberView {
  id?: string;
  name?: string;
  version?: string;
  reachable?: boolean;
}

export function memberView(member: unknown): MemberView {
  if (typeof member !== 'object' || member === null) return {};
  const m = member as Record<string, unknown>;
  const view: MemberView = {};
  if (typeof m.id === 'string' && m.id !== '') view.id = m.id;
  if (typeof m.name === 'string' && m.name !== '') view.name = m.name;
  if (typeof m.version === 'string' && m.version !== '') view.version = m.version;
  if (typeof m.reachable === 'boolean') view.reachable = m.reachable;
  return view;
}
