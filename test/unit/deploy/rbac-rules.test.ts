// The RBAC rule tools: expansion to single grants and the single-rule-removed variants.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parseAllDocuments } from 'yaml';
import { PROJECT_ROOT } from '../../harness/tools.ts';
import {
  expandRules,
  grantKey,
  type RoleObject,
  singleRuleRemovedVariants,
} from '../../integration/deploy/rbac-rules.ts';

function rolesOf(file: string): RoleObject[] {
  return parseAllDocuments(readFileSync(join(PROJECT_ROOT, 'deploy/base', file), 'utf8'))
    .map((d) => d.toJS() as RoleObject)
    .filter((o) => o.kind === 'ClusterRole' || o.kind === 'Role');
}

describe('expandRules', () => {
  it('makes one grant per group × resource × verb, keeping resourceNames', () => {
    const grants = expandRules([
      { apiGroups: ['', 'apps'], resources: ['pods', 'pods/log'], verbs: ['get', 'list'] },
      { apiGroups: [''], resources: ['secrets'], verbs: ['get'], resourceNames: ['b', 'a'] },
    ]);
    expect(grants.map(grantKey)).toEqual([
      'get pods',
      'list pods',
      'get pods/log',
      'list pods/log',
      'get pods.apps',
      'list pods.apps',
      'get pods/log.apps',
      'list pods/log.apps',
      'get secrets[a,b]',
    ]);
  });

  it('refuses wildcards and non-resource URLs, naming the rule', () => {
    expect(() => expandRules([{ apiGroups: [''], resources: ['*'], verbs: ['get'] }])).toThrow(
      /rule 0 has a wildcard in resources/,
    );
    expect(() =>
      expandRules([
        { apiGroups: [''], resources: ['pods'], verbs: ['get'] },
        { verbs: ['get'], nonResourceURLs: ['/metrics'] },
      ]),
    ).toThrow(/rule 1 grants nonResourceURLs \/metrics/);
  });
});

describe('singleRuleRemovedVariants', () => {
  const roles = [...rolesOf('cluster-role-driver.yaml'), ...rolesOf('role-leases.yaml')];

  it('makes one variant per rule of the real roles, each missing exactly that rule', () => {
    const variants = singleRuleRemovedVariants(roles);
    const total = roles.reduce((n, r) => n + r.rules.length, 0);
    expect(variants).toHaveLength(total);
    for (const v of variants) {
      const changed = v.roles.find((r) => r.metadata.name === v.role.metadata.name)!;
      expect(changed.rules).toHaveLength(v.role.rules.length - 1);
      expect(changed.rules).not.toContainEqual(v.removed);
      // Every other role is untouched.
      for (const other of v.roles.filter((r) => r !== changed))
        expect(other).toEqual(roles.find((r) => r.metadata.name === other.metadata.name));
    }
    expect(variants.map((v) => v.label)).toContain('ClusterRole/etcd-snapshot-driver rules[9] (get secrets)');
  });

  it('does not touch the input (variants are deep copies)', () => {
    const before = structuredClone(roles);
    const [first] = singleRuleRemovedVariants(roles);
    first!.roles[0]!.rules.push({ apiGroups: [''], resources: ['nodes'], verbs: ['get'] });
    expect(roles).toEqual(before);
  });

  it("a role's only rule removed leaves it with no rules", () => {
    const lone: RoleObject = {
      apiVersion: 'rbac.authorization.k8s.io/v1',
      kind: 'Role',
      metadata: { name: 'x', namespace: 'n' },
      rules: [{ apiGroups: [''], resources: ['pods'], verbs: ['get'] }],
    };
    expect(singleRuleRemovedVariants([lone])[0]!.roles[0]!.rules).toEqual([]);
  });
});
