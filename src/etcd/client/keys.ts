// Key ranges as etcd's KV API takes them.

/** The smallest key after every key with this prefix (etcd's range_end for a prefix). */
export function prefixEnd(prefix: Buffer): Buffer {
  if (prefix.length === 1 && prefix[0] === 0) return Buffer.from([0]); // "\0" to "\0": every key
  const end = Buffer.from(prefix);
  for (let i = end.length - 1; i >= 0; i--) {
    if ((end[i] as number) < 0xff) {
      end[i] = (end[i] as number) + 1;
      return end.subarray(0, i + 1);
    }
  }
  return Buffer.from([0]);
}
