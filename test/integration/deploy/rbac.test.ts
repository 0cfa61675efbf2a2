// The driver's ServiceAccount under the real apiserver's RBAC authorizer: it can do everything the
// driver and its sidecars need, and none of the things it must not (SubjectAccessReview, so no
// token is needed). The executor ServiceAccount can do nothing at all. And the single-rule-removed
// variants of the roles really take permissions away when applied — the ground the "each rule is
// needed" proof stands on (the flows that then must fail need the pipeline: the upstream e2e).
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type LocalCluster, startLocalCluster } from '../../harness/local-cluster.ts';
import { PROJECT_ROOT } from '../../harness/tools.ts';
import { describeCheck, reviewAccess } from './access-review.ts';
import { forbiddenChecks, neededChecks } from './driver-access.ts';
import { render } from './kustomize.ts';
import { expandRules, type RoleObject, singleRuleRemovedVariants } from './rbac-rules.ts';

const DRIVER_NAMESPACE = 'etcd-snapshot-driver';
const ETCD_NAMESPACE = 'etcd-a';
const DRIVER = { namespace: DRIVER_NAMESPACE, name: 'etcd-snapshot-driver' };

let cluster: LocalCluster;
let roles: RoleObject[];

beforeAll(async () => {
  cluster = await startLocalCluster({ name: 'deploy-rbac', kubelet: false });
  const base = await render('base');
  // RBAC objects only: roles may name resources whose CRDs are not installed.
  const rbac = base.filter((o) =>
    ['Namespace', 'ServiceAccount', 'ClusterRole', 'ClusterRoleBinding', 'Role', 'RoleBinding'].includes(
      o.kind,
    ),
  );
  roles = rbac.filter((o) => o.kind === 'ClusterRole' || o.kind === 'Role') as unknown as RoleObject[];
  await cluster.kubectl(['apply', '--server-side', '-f', '-'], {
    input: rbac.map((o) => JSON.stringify(o)).join('\n'),
  });
  await cluster.kubectl(['create', 'namespace', ETCD_NAMESPACE]);
  await cluster.kubectl(['apply', '-n', ETCD_NAMESPACE, '-k', join(PROJECT_ROOT, 'deploy/executor')]);
});
afterAll(async () => {
  await cluster?.stop();
});

describe('driver ServiceAccount', () => {
  it('may do everything the driver, csi-snapshotter and csi-provisioner need', async () => {
    const answers = await reviewAccess(
      cluster.kubeConfig,
      DRIVER,
      neededChecks(DRIVER_NAMESPACE, ETCD_NAMESPACE),
    );
    expect(answers.length).toBeGreaterThan(80);
    expect(answers.filter((a) => !a.allowed).map((a) => describeCheck(a.check))).toEqual([]);
  });

  it('may read a named credentials Secret in any namespace, but not list or watch Secrets anywhere', async () => {
    const [get, list, watch] = await reviewAccess(cluster.kubeConfig, DRIVER, [
      { verb: 'get', group: '', resource: 'secrets', namespace: ETCD_NAMESPACE, name: 'etcd-client-certs' },
      { verb: 'list', group: '', resource: 'secrets', namespace: DRIVER_NAMESPACE },
      { verb: 'watch', group: '', resource: 'secrets', namespace: ETCD_NAMESPACE },
    ]);
    expect([get!.allowed, list!.allowed, watch!.allowed]).toEqual([true, false, false]);
  });

  it('may not do what it must not', async () => {
    const checks = forbiddenChecks(DRIVER_NAMESPACE, ETCD_NAMESPACE);
    const answers = await reviewAccess(cluster.kubeConfig, DRIVER, checks);
    expect(
      answers.flatMap((a, i) => (a.allowed ? [`${describeCheck(a.check)}: would ${checks[i]!.why}`] : [])),
    ).toEqual([]);
  });
});

describe('executor ServiceAccount', () => {
  it('exists in the etcd namespace and may do nothing through the API', async () => {
    const executor = { namespace: ETCD_NAMESPACE, name: 'etcd-snapshot-executor' };
    const answers = await reviewAccess(cluster.kubeConfig, executor, [
      { verb: 'get', group: '', resource: 'secrets', namespace: ETCD_NAMESPACE, name: 'etcd-client-certs' },
      { verb: 'get', group: '', resource: 'pods', namespace: ETCD_NAMESPACE },
      { verb: 'get', group: '', resource: 'persistentvolumeclaims', namespace: ETCD_NAMESPACE },
      { verb: 'create', group: '', resource: 'events', namespace: ETCD_NAMESPACE },
      {
        verb: 'get',
        group: 'snapshot.etcd-snapshot-driver.io',
        resource: 'etcdsnapshots',
        namespace: ETCD_NAMESPACE,
      },
    ]);
    expect(answers.filter((a) => a.allowed).map((a) => describeCheck(a.check))).toEqual([]);
  });
});

describe('single-rule-removed variants', () => {
  it('applied one at a time, each takes away exactly its own grants', async () => {
    const variants = singleRuleRemovedVariants(roles);
    expect(variants.length).toBe(roles.reduce((n, r) => n + r.rules.length, 0));
    // Applying and reviewing every variant costs a few API calls each; a sample keeps it quick
    // while covering each role: the first rule of every role and the Secret rule.
    const sample = variants.filter(
      (v) => v.ruleIndex === 0 || (v.removed.resources ?? []).includes('secrets'),
    );
    for (const variant of sample) {
      const changed = variant.roles.find((r) => r.metadata.name === variant.role.metadata.name)!;
      await cluster.kubectl(['apply', '--server-side', '--force-conflicts', '-f', '-'], {
        input: JSON.stringify(changed),
      });
      const namespace = variant.role.kind === 'Role' ? DRIVER_NAMESPACE : ETCD_NAMESPACE;
      const lost = expandRules([variant.removed])
        // A grant another rule still makes stays allowed (the sidecars overlap on events etc.).
        .filter(
          (g) =>
            !variant.roles.some((r) =>
              expandRules(r.rules).some(
                (o) => o.group === g.group && o.resource === g.resource && o.verb === g.verb,
              ),
            ),
        );
      const answers = await waitForAnswers(
        lost.map((g) => ({ verb: g.verb, group: g.group, resource: g.resource, namespace })),
        false,
      );
      expect(
        answers.filter((a) => a.allowed).map((a) => describeCheck(a.check)),
        variant.label,
      ).toEqual([]);
      // Put the rule back and see it allowed again.
      await cluster.kubectl(['apply', '--server-side', '--force-conflicts', '-f', '-'], {
        input: JSON.stringify(variant.role),
      });
      const restored = await waitForAnswers(
        lost.map((g) => ({ verb: g.verb, group: g.group, resource: g.resource, namespace })),
        true,
      );
      expect(
        restored.filter((a) => !a.allowed).map((a) => describeCheck(a.check)),
        variant.label,
      ).toEqual([]);
    }
  });
});

/** RBAC changes reach the authorizer through an informer: poll until every answer is `allowed`. */
async function waitForAnswers(checks: Parameters<typeof reviewAccess>[2], allowed: boolean) {
  const deadline = Date.now() + 30_000;
  for (;;) {
    const answers = await reviewAccess(cluster.kubeConfig, DRIVER, checks);
    if (answers.every((a) => a.allowed === allowed) || Date.now() > deadline) return answers;
    await new Promise((r) => setTimeout(r, 200));
  }
}
