// Asks the real apiserver's authorizer (RBAC) what a ServiceAccount may do, through
// SubjectAccessReview — the answer the API would give that account's token, without needing one.
import { AuthorizationV1Api, type KubeConfig } from '@kubernetes/client-node';

export interface AccessCheck {
  verb: string;
  /** API group; "" for core. */
  group: string;
  /** "pods", or "pods/log" for a subresource. */
  resource: string;
  /** Undefined: across all namespaces (for namespaced resources) or cluster-scoped. */
  namespace?: string;
  name?: string;
}

export interface ServiceAccountRef {
  namespace: string;
  name: string;
}

export interface AccessAnswer {
  check: AccessCheck;
  allowed: boolean;
  reason: string | undefined;
}

export function describeCheck(c: AccessCheck): string {
  const what = `${c.resource}${c.group === '' ? '' : `.${c.group}`}${c.name ? `/${c.name}` : ''}`;
  return `${c.verb} ${what} ${c.namespace === undefined ? '(all namespaces / cluster)' : `in ${c.namespace}`}`;
}

/** The user and groups the apiserver authenticates a ServiceAccount token as. */
export function serviceAccountUser(sa: ServiceAccountRef): { user: string; groups: string[] } {
  return {
    user: `system:serviceaccount:${sa.namespace}:${sa.name}`,
    groups: ['system:serviceaccounts', `system:serviceaccounts:${sa.namespace}`, 'system:authenticated'],
  };
}

/** One SubjectAccessReview per check (in parallel); answers in the checks' order. */
export async function reviewAccess(
  admin: KubeConfig,
  sa: ServiceAccountRef,
  checks: readonly AccessCheck[],
): Promise<AccessAnswer[]> {
  const api = admin.makeApiClient(AuthorizationV1Api);
  const { user, groups } = serviceAccountUser(sa);
  return Promise.all(
    checks.map(async (check) => {
      const [resource, subresource] = check.resource.split('/') as [string, string | undefined];
      const review = await api.createSubjectAccessReview({
        body: {
          apiVersion: 'authorization.k8s.io/v1',
          kind: 'SubjectAccessReview',
          spec: {
            user,
            groups,
            resourceAttributes: {
              verb: check.verb,
              group: check.group,
              resource,
              ...(subresource ? { subresource } : {}),
              ...(check.namespace !== undefined ? { namespace: check.namespace } : {}),
              ...(check.name !== undefined ? { name: check.name } : {}),
            },
          },
        },
      });
      return { check, allowed: review.status?.allowed === true, reason: review.status?.reason };
    }),
  );
}
