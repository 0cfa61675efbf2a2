// RBAC rules as data: expanding ClusterRole/Role rules to single (group, resource, verb) grants,
// and making every "this one rule removed" variant of a set of roles — the tool for the proof
// that each rule is needed (run each flow under each variant; some flow must fail). The
// flow-running half needs the snapshot pipeline and lives with the upstream e2e.

export interface PolicyRule {
  apiGroups?: string[];
  resources?: string[];
  verbs: string[];
  resourceNames?: string[];
  nonResourceURLs?: string[];
}

export interface RoleObject {
  apiVersion: string;
  kind: 'ClusterRole' | 'Role';
  metadata: { name: string; namespace?: string; [field: string]: unknown };
  rules: PolicyRule[];
  [field: string]: unknown;
}

/** One permission: `group` "" is the core group; `resource` may be "pods/log". */
export interface Grant {
  group: string;
  resource: string;
  verb: string;
  /** Restricted to these names, when the rule says so. */
  resourceNames?: string[];
}

export function grantKey(g: Grant): string {
  const names =
    g.resourceNames && g.resourceNames.length > 0 ? `[${[...g.resourceNames].sort().join(',')}]` : '';
  return `${g.verb} ${g.resource}${g.group === '' ? '' : `.${g.group}`}${names}`;
}

/** Every single grant a set of rules makes; throws on wildcards, which this project never uses. */
export function expandRules(rules: readonly PolicyRule[]): Grant[] {
  const grants: Grant[] = [];
  for (const [index, rule] of rules.entries()) {
    if (rule.nonResourceURLs && rule.nonResourceURLs.length > 0) {
      throw new Error(`rule ${index} grants nonResourceURLs ${rule.nonResourceURLs.join(', ')}`);
    }
    for (const field of ['apiGroups', 'resources', 'verbs'] as const) {
      if ((rule[field] ?? []).includes('*')) throw new Error(`rule ${index} has a wildcard in ${field}`);
    }
    for (const group of rule.apiGroups ?? [])
      for (const resource of rule.resources ?? [])
        for (const verb of rule.verbs)
          grants.push({
            group,
            resource,
            verb,
            ...(rule.resourceNames && rule.resourceNames.length > 0
              ? { resourceNames: rule.resourceNames }
              : {}),
          });
  }
  return grants;
}

export interface RuleRemoved {
  /** Which rule is missing: `<Kind>/<name> rules[<i>]`, and what it granted. */
  label: string;
  role: RoleObject;
  ruleIndex: number;
  removed: PolicyRule;
  /** The roles with that one rule removed (every other role unchanged, deep copies). */
  roles: RoleObject[];
}

/**
 * For every rule of every role, the set of roles with exactly that rule removed. A role whose
 * only rule is removed stays with `rules: []` (still valid to apply), so bindings keep resolving.
 */
export function singleRuleRemovedVariants(roles: readonly RoleObject[]): RuleRemoved[] {
  const variants: RuleRemoved[] = [];
  for (const [roleIndex, role] of roles.entries()) {
    for (const [ruleIndex, removed] of role.rules.entries()) {
      const copy = structuredClone(roles) as RoleObject[];
      copy[roleIndex]!.rules.splice(ruleIndex, 1);
      const grants = expandRules([removed]).map(grantKey).join(', ');
      variants.push({
        label: `${role.kind}/${role.metadata.name} rules[${ruleIndex}] (${grants})`,
        role,
        ruleIndex,
        removed,
        roles: copy,
      });
    }
  }
  return variants;
}
