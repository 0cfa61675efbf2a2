// Kubernetes' `$(VAR)` expansion of env values, command and args (k8s.io/kubernetes
// third_party/forked/golang/expansion): `$(NAME)` becomes NAME's value when NAME is known and stays
// as written otherwise; `$$` is an escaped `$`; any other `$` is literal.

export type Mapping = (name: string) => string;

/** Looks a name up in each context in order; an unknown name expands to itself, `$(NAME)`. */
export function mappingFor(...contexts: ReadonlyArray<ReadonlyMap<string, string>>): Mapping {
  return (name) => {
    for (const context of contexts) {
      const value = context.get(name);
      if (value !== undefined) return value;
    }
    return `$(${name})`;
  };
}

export function expand(input: string, mapping: Mapping): string {
  let out = '';
  let checkpoint = 0;
  for (let cursor = 0; cursor < input.length; cursor++) {
    if (input[cursor] !== '$' || cursor + 1 >= input.length) continue;
    out += input.slice(checkpoint, cursor);
    const { read, isVar, advance } = readVariableName(input.slice(cursor + 1));
    out += isVar ? mapping(read) : read;
    cursor += advance;
    checkpoint = cursor + 1;
  }
  return out + input.slice(checkpoint);
}

function readVariableName(input: string): { read: string; isVar: boolean; advance: number } {
  if (input[0] === '$') return { read: '$', isVar: false, advance: 1 };
  if (input[0] === '(') {
    const close = input.indexOf(')', 1);
    if (close >= 0) return { read: input.slice(1, close), isVar: true, advance: close + 1 };
    // An unterminated reference is kept literally.
    return { read: '$(', isVar: false, advance: 1 };
  }
  return { read: `$${input[0]}`, isVar: false, advance: 1 };
}
