// client-node's model classes type timestamps as Date because its generated client revives them.
// Informers keep the apiserver's JSON as parsed, so the same fields are RFC 3339 strings there.
// Wire<T> is the honest type of such an object: T with every Date replaced by string.

export type Wire<T> = T extends Date
  ? string
  : T extends readonly (infer U)[]
    ? Wire<U>[]
    : T extends object
      ? { [K in keyof T]: Wire<T[K]> }
      : T;
