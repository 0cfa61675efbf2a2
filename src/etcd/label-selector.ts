// Equality-based label selectors (`a=b,c!=d,e,!f`), the form of the `snapshot-label` parameter.
// Set-based selectors (`in`, `notin`) are not accepted: the parameter only narrows discovery.

export type Requirement =
  | { key: string; op: '=' | '!='; value: string }
  | { key: string; op: 'exists' | '!exists' };

// Qualified name (optional DNS prefix) and label value syntax of Kubernetes.
const KEY =
  /^([a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*\/)?[A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?$/;
const VALUE = /^([A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?)?$/;

/** Parses a selector; throws an Error naming the bad term. */
export function parseLabelSelector(text: string): Requirement[] {
  const out: Requirement[] = [];
  for (const raw of text.split(',')) {
    const term = raw.trim();
    if (term === '') throw new Error('empty term');
    const m = /^([^=!]+?)\s*(==|=|!=)\s*(.*)$/.exec(term);
    let req: Requirement;
    if (m) {
      req = { key: m[1]!.trim(), op: m[2] === '!=' ? '!=' : '=', value: m[3]!.trim() };
      if (!VALUE.test(req.value) || req.value.length > 63) throw new Error(`bad label value in "${term}"`);
    } else if (term.startsWith('!')) {
      req = { key: term.slice(1).trim(), op: '!exists' };
    } else {
      req = { key: term, op: 'exists' };
    }
    if (!KEY.test(req.key) || req.key.length > 317) throw new Error(`bad label key in "${term}"`);
    out.push(req);
  }
  return out;
}

export function matchesSelector(
  labels: Record<string, string> | undefined,
  selector: readonly Requirement[],
): boolean {
  const l = labels ?? {};
  return selector.every((r) => {
    const has = Object.hasOwn(l, r.key);
    if (r.op === '=') return has && l[r.key] === r.value;
    if (r.op === '!=') return !has || l[r.key] !== r.value;
    return r.op === 'exists' ? has : !has;
  });
}
