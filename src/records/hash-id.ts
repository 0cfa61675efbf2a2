// The short hashes the driver's deterministic names and IDs are made of (csi/ids.ts lists the
// IDs). Here rather than in csi/ because record names are made of them too: a claim's name is the
// same whether the CSI server or the store import (reconcile/) writes the record.
import { createHash } from 'node:crypto';

const BASE32 = 'abcdefghijklmnopqrstuvwxyz234567';

/** SHA-256 of the parts (NUL-separated), base32, first `length` characters. */
export function hashId(parts: readonly string[], length: number): string {
  const digest = createHash('sha256').update(parts.join('\0')).digest();
  let out = '';
  let bits = 0;
  let value = 0;
  for (const byte of digest) {
    value = (value << 8) | byte;
    bits += 8;
    while (bits >= 5 && out.length < length) {
      out += BASE32[(value >>> (bits - 5)) & 31];
      bits -= 5;
    }
    if (out.length >= length) break;
  }
  return out;
}

/** Order-independent digest of a request's source volume IDs. */
export function sourcesDigest(sourceVolumeIds: readonly string[]): string {
  return hashId([...new Set(sourceVolumeIds)].sort(), 32);
}
