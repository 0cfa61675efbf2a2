// hack/tools/build.sh produced the pinned upstream releases, and says so.
import { execFile } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, realpathSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { beforeAll, describe, expect, it } from 'vitest';
import { COMPONENTS_BY_NEED, ensureTools, tool, toolsDir } from '../../harness/tools.ts';

const execFileAsync = promisify(execFile);

async function versionOf(binary: string, args: string[]): Promise<string> {
  const { stdout, stderr } = await execFileAsync(tool(binary), args);
  return `${stdout}${stderr}`;
}

describe('the tools cache', () => {
  // Every component: globalSetup's background build may still be on the last one.
  beforeAll(() => ensureTools(COMPONENTS_BY_NEED));

  it.each([
    ['kube-apiserver', ['--version'], 'Kubernetes v1.36.3'],
    ['kube-controller-manager', ['--version'], 'Kubernetes v1.36.3'],
    ['kube-scheduler', ['--version'], 'Kubernetes v1.36.3'],
    ['kubectl', ['version', '--client'], 'Client Version: v1.36.3'],
    ['etcd', ['--version'], 'etcd Version: 3.6.16'],
    ['etcdctl', ['version'], 'etcdctl version: 3.6.16'],
    ['etcdutl', ['version'], 'etcdutl version: 3.6.16'],
    ['snapshot-controller', ['--version'], 'v8.7.0'],
    ['csi-snapshotter', ['--version'], 'v8.7.0'],
    ['snapshot-controller-velero', ['--version'], 'v8.4.0'],
    ['csi-provisioner', ['--version'], 'v6.3.0'],
    ['jaeger', ['version'], '"gitVersion":"v2.13.0"'],
    ['versitygw', ['--version'], 'Version  : v1.8.0'],
    ['velero', ['version', '--client-only'], 'Version: v1.18.3'],
  ])('%s reports the pinned release', async (binary, args, expected) => {
    expect(await versionOf(binary, args)).toContain(expected);
  });

  it('has the Velero AWS plugin, built in the Velero module (a plugin binary has no version command)', () => {
    expect(realpathSync(tool('velero-plugin-for-aws'))).toContain('/velero-v1.18.3-');
  });

  it('has csi-sanity, the upstream csi.proto and the snapshot CRDs of the pinned client module', async () => {
    expect(existsSync(tool('csi-sanity'))).toBe(true);
    const proto = readFileSync(join(toolsDir(), 'csi.proto'), 'utf8');
    expect(proto).toContain('package csi.v1;');
    expect(proto).toContain('service GroupController');
    const crds = readdirSync(join(toolsDir(), 'snapshot-crds')).sort();
    expect(crds).toEqual([
      'groupsnapshot.storage.k8s.io_volumegroupsnapshotclasses.yaml',
      'groupsnapshot.storage.k8s.io_volumegroupsnapshotcontents.yaml',
      'groupsnapshot.storage.k8s.io_volumegroupsnapshots.yaml',
      'snapshot.storage.k8s.io_volumesnapshotclasses.yaml',
      'snapshot.storage.k8s.io_volumesnapshotcontents.yaml',
      'snapshot.storage.k8s.io_volumesnapshots.yaml',
    ]);
  });
});
