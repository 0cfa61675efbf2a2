// Random and mutated CSI requests for the fuzz test (fuzz.test.ts), built from the proto's own
// descriptors so every field of every request type can be reached. A seeded PRNG makes a run
// repeatable: the test prints its seed, FUZZ_SEED=<seed> replays it.
import type { MessageDescriptor, MessageRegistry } from '../../../src/csi/request-check.ts';

export type Rng = () => number;

/** mulberry32: small, fast, good enough to pick test inputs. */
export function seeded(seed: number): Rng {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export class Generator {
  readonly rng: Rng;
  readonly registry: MessageRegistry;
  /** Values worth sending: IDs and names the driver knows, grown with every answer. */
  readonly pool: string[];
  readonly parameterKeys: readonly string[];

  constructor(rng: Rng, registry: MessageRegistry, pool: string[], parameterKeys: readonly string[]) {
    this.rng = rng;
    this.registry = registry;
    this.pool = pool;
    this.parameterKeys = parameterKeys;
  }

  int(n: number): number {
    return Math.floor(this.rng() * n);
  }

  pick<T>(items: readonly T[]): T {
    return items[this.int(items.length)]!;
  }

  chance(p: number): boolean {
    return this.rng() < p;
  }

  string(): string {
    switch (this.int(12)) {
      case 0:
        return '';
      case 1:
      case 2:
      case 3:
        return this.pick(this.pool);
      case 4:
        return Array.from({ length: this.int(40) }, () => String.fromCharCode(32 + this.int(95))).join('');
      case 5:
        return this.pick(['é', '日本', '\u{1F600}', '\uFFFD', 'ä/ö', 'a\u0000b', '\u202Eabc']).repeat(
          1 + this.int(20),
        );
      case 6:
        return 'x'.repeat(this.pick([127, 128, 129, 255, 257, 4097, 64 * 1024, 300 * 1024]));
      case 7:
        return `${this.pick(this.pool)}${this.pick(['', '/', '-x', '..', '/extra', ' '])}`;
      case 8:
        return this.pick(['"', '\\', '\n', '\r\n', '%', '%00', '<a>', "'; --"]).repeat(1 + this.int(5));
      case 9:
        return this.pick(['60', '3600', '59', '1', '3650', '0', '-1', 'abc', 'a=b,c!=d', '!x', 'Bad_Name']);
      case 10:
        return `${this.pick(['default', 'fz', 'etcd', 'kube-system'])}/${this.pick(['a1', 'a2', 'b1', 'missing', 'Pending-X'])}`;
      default:
        return (
          this.pick(['grp-', 'snap-', 'grp-aaaaaaaaaaaaaaaaaaaa', 'snap-aaaaaaaaaaaaaaaaaaaa']) +
          this.int(1000)
        );
    }
  }

  map(fieldName: string): Record<string, string> {
    const out: Record<string, string> = {};
    const entries = this.chance(0.05) ? 30 + this.int(10) : this.int(4);
    for (let i = 0; i < entries; i++) {
      const key = this.chance(0.7) && fieldName !== 'secrets' ? this.pick(this.parameterKeys) : this.string();
      out[key] = this.string();
    }
    return out;
  }

  count(): number {
    return this.chance(0.03) ? this.pick([17, 33, 65, 70]) : this.int(3);
  }

  scalar(type: string): unknown {
    if (type === 'TYPE_BOOL') return this.chance(0.5);
    if (type === 'TYPE_ENUM') return this.int(12) - 1;
    return this.pick([0, 1, -1, 5, 1 << 20, 2 ** 31, -(2 ** 31), Number.MAX_SAFE_INTEGER, this.int(1e9)]);
  }

  /** A random message of the type, every field present with some chance. */
  message(typeName: string, depth = 0): Record<string, unknown> {
    const type = this.registry.get(typeName) as MessageDescriptor;
    const out: Record<string, unknown> = {};
    for (const field of type.field) {
      if (!this.chance(0.65)) continue;
      const repeated = field.label === 'LABEL_REPEATED';
      if (field.type === 'TYPE_MESSAGE') {
        const inner = this.resolve(typeName, field.typeName);
        if (!inner) continue;
        if (this.registry.get(inner)?.options?.mapEntry) out[field.name] = this.map(field.name);
        else if (depth > 4) continue;
        else if (repeated)
          out[field.name] = Array.from({ length: this.count() }, () => this.message(inner, depth + 1));
        else out[field.name] = this.message(inner, depth + 1);
      } else if (field.type === 'TYPE_STRING') {
        out[field.name] = repeated
          ? Array.from({ length: this.count() }, () => this.string())
          : this.string();
      } else {
        out[field.name] = repeated
          ? Array.from({ length: this.count() }, () => this.scalar(field.type))
          : this.scalar(field.type);
      }
    }
    return out;
  }

  /** One to three byte-level mutations: flips, inserts, deletions, truncation, bad UTF-8 bytes. */
  mutate(bytes: Uint8Array): Uint8Array {
    let out = Buffer.from(bytes);
    for (let n = 1 + this.int(3); n > 0; n--) {
      const at = this.int(out.length + 1);
      const insert = (extra: Uint8Array) => Buffer.concat([out.subarray(0, at), extra, out.subarray(at)]);
      switch (this.int(6)) {
        case 0:
          if (out.length > 0) out[Math.min(at, out.length - 1)]! ^= 1 << this.int(8);
          break;
        case 1:
          out = insert(Uint8Array.from({ length: 1 + this.int(4) }, () => this.int(256)));
          break;
        case 2:
          out = Buffer.concat([out.subarray(0, at), out.subarray(at + 1 + this.int(4))]);
          break;
        case 3:
          out = out.subarray(0, at);
          break;
        case 4:
          out = insert(Uint8Array.of(this.pick([0xff, 0xfe, 0xc0, 0x80, 0xed])));
          break;
        default: {
          const from = this.int(out.length);
          out = insert(Buffer.from(out.subarray(from, from + 8)));
        }
      }
    }
    return Uint8Array.from(out);
  }

  private resolve(scope: string, typeName: string): string | undefined {
    const parts = scope.split('.');
    for (let i = parts.length; i >= 0; i--) {
      const candidate = [...parts.slice(0, i), typeName.replace(/^\./, '')].join('.');
      if (this.registry.has(candidate)) return candidate;
    }
    return undefined;
  }
}
