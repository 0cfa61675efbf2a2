// The check every request passes on the wire, before protobuf decoding: each string field must be
// valid UTF-8 (the decoder would replace bad bytes with U+FFFD, so distinct invalid names would
// collapse into one), each field must fit its limit (limits.ts), and the bytes must be a
// well-formed message of the method's type (grpc-js would answer INTERNAL for one that is not).
// It walks the protobuf wire format guided by the proto's descriptors, so it covers every field of
// every served RPC without a list to keep in step with the proto.
import { isUtf8 } from 'node:buffer';
import type { ErrorReason } from './errors.ts';
import { MAX_REPEATED, mapLimit, stringLimit } from './limits.ts';

/** The parts of a google.protobuf.DescriptorProto the walk reads (as proto-loader gives them). */
export interface MessageDescriptor {
  name: string;
  field: { name: string; number: number; label: string; type: string; typeName: string }[];
  nestedType?: MessageDescriptor[];
  options?: { mapEntry?: boolean } | null;
}

export interface RequestProblem {
  reason: Extract<
    ErrorReason,
    | 'FIELD_TOO_LARGE'
    | 'INVALID_UTF8'
    | 'MALFORMED_REQUEST'
    | 'NAME_TOO_LONG'
    | 'PARAMETERS_TOO_LARGE'
    | 'TOO_MANY_VOLUMES'
  >;
  message: string;
}

/** Message types by full name (`csi.v1.CreateVolumeRequest`), nested ones included. */
export type MessageRegistry = ReadonlyMap<string, MessageDescriptor>;

export function messageRegistry(types: Iterable<[string, MessageDescriptor]>): MessageRegistry {
  const registry = new Map<string, MessageDescriptor>();
  const add = (fullName: string, type: MessageDescriptor) => {
    registry.set(fullName, type);
    for (const nested of type.nestedType ?? []) add(`${fullName}.${nested.name}`, nested);
  };
  for (const [name, type] of types) add(name, type);
  return registry;
}

/** Protobuf scoping: a relative type name is looked up from the innermost scope outwards. */
function resolve(registry: MessageRegistry, scope: string, typeName: string): string | undefined {
  if (typeName.startsWith('.')) return registry.has(typeName.slice(1)) ? typeName.slice(1) : undefined;
  const parts = scope.split('.');
  for (let i = parts.length; i >= 0; i--) {
    const candidate = [...parts.slice(0, i), typeName].join('.');
    if (registry.has(candidate)) return candidate;
  }
  return undefined;
}

const VARINT_TYPES = new Set([
  'TYPE_INT64',
  'TYPE_UINT64',
  'TYPE_INT32',
  'TYPE_UINT32',
  'TYPE_SINT32',
  'TYPE_SINT64',
  'TYPE_BOOL',
  'TYPE_ENUM',
]);
const FIXED64_TYPES = new Set(['TYPE_FIXED64', 'TYPE_SFIXED64', 'TYPE_DOUBLE']);
const FIXED32_TYPES = new Set(['TYPE_FIXED32', 'TYPE_SFIXED32', 'TYPE_FLOAT']);

/** The wire types a field of this type may arrive with (packed repeated scalars use 2). */
function wireTypesOf(type: string, repeated: boolean): readonly number[] {
  if (VARINT_TYPES.has(type)) return repeated ? [0, 2] : [0];
  if (FIXED64_TYPES.has(type)) return repeated ? [1, 2] : [1];
  if (FIXED32_TYPES.has(type)) return repeated ? [5, 2] : [5];
  return [2];
}

class Malformed extends Error {}

function readVarint(buf: Uint8Array, at: number): [value: number, next: number] {
  let value = 0;
  let scale = 1;
  for (let i = 0; i < 10; i++) {
    if (at + i >= buf.length) throw new Malformed('a varint runs past the end');
    const byte = buf[at + i]!;
    value += (byte & 0x7f) * scale;
    scale *= 128;
    if ((byte & 0x80) === 0) return [value, at + i + 1];
  }
  throw new Malformed('a varint is longer than 10 bytes');
}

function tooLarge(field: string, what: string, limit: string): RequestProblem {
  if (field === 'name') return { reason: 'NAME_TOO_LONG', message: `name is ${what}; at most ${limit}` };
  return { reason: 'FIELD_TOO_LARGE', message: `${field} is ${what}; at most ${limit}` };
}

interface Walk {
  registry: MessageRegistry;
  /** Bytes of strings seen inside the message being walked (map entries sum keys and values). */
  stringBytes: number;
  /** In a map entry, whose key and value count against the map's limit, not a string's. */
  inMap: boolean;
}

/** Walks one message; returns the first problem, or undefined. Throws Malformed on bad framing. */
function walk(walkState: Walk, buf: Uint8Array, typeName: string, path: string): RequestProblem | undefined {
  const type = walkState.registry.get(typeName);
  if (!type) throw new Malformed(`no descriptor for ${typeName}`);
  const fields = new Map(type.field.map((f) => [f.number, f]));
  const counts = new Map<number, number>();
  const maps = new Map<number, { entries: number; bytes: number }>();
  let at = 0;
  while (at < buf.length) {
    const [key, afterKey] = readVarint(buf, at);
    const number = Math.floor(key / 8);
    const wireType = key % 8;
    if (number === 0) throw new Malformed('field number 0');
    let end: number;
    let start = afterKey;
    if (wireType === 0) end = readVarint(buf, afterKey)[1];
    else if (wireType === 1) end = afterKey + 8;
    else if (wireType === 5) end = afterKey + 4;
    else if (wireType === 2) {
      const [length, afterLength] = readVarint(buf, afterKey);
      start = afterLength;
      end = afterLength + length;
    } else throw new Malformed(`wire type ${wireType}`);
    if (end > buf.length) throw new Malformed('a field runs past the end');
    at = end;
    const field = fields.get(number);
    if (!field) continue; // unknown fields are ignored, as protobuf says
    const repeated = field.label === 'LABEL_REPEATED';
    if (!wireTypesOf(field.type, repeated).includes(wireType)) {
      throw new Malformed(`${path}${field.name} has wire type ${wireType}`);
    }
    const index = counts.get(number) ?? 0;
    counts.set(number, index + 1);
    const name = `${path}${field.name}`;
    let isMap = false;
    if (field.type === 'TYPE_STRING') {
      const length = end - start;
      walkState.stringBytes += length;
      const limit = walkState.inMap ? Number.POSITIVE_INFINITY : stringLimit(field.name);
      const where = repeated ? `${name}[${index}]` : name;
      if (length > limit) return tooLarge(where, `${length} bytes`, `${limit} bytes`);
      if (!isUtf8(buf.subarray(start, end))) {
        return { reason: 'INVALID_UTF8', message: `${where} is not valid UTF-8` };
      }
    } else if (field.type === 'TYPE_MESSAGE') {
      const fullName = resolve(walkState.registry, typeName, field.typeName);
      if (!fullName) throw new Malformed(`no descriptor for ${field.typeName}`);
      isMap = walkState.registry.get(fullName)?.options?.mapEntry === true;
      const inner: Walk = { registry: walkState.registry, stringBytes: 0, inMap: isMap };
      const where = isMap ? `${name} entry ${index}` : repeated ? `${name}[${index}]` : name;
      const problem = walk(inner, buf.subarray(start, end), fullName, isMap ? `${where} ` : `${where}.`);
      if (problem) return problem;
      if (isMap) {
        const sum = maps.get(number) ?? { entries: 0, bytes: 0 };
        maps.set(number, { entries: sum.entries + 1, bytes: sum.bytes + inner.stringBytes });
      }
      walkState.stringBytes += inner.stringBytes;
    }
    if (repeated && !isMap && index + 1 > MAX_REPEATED) {
      if (name === 'source_volume_ids') {
        return {
          reason: 'TOO_MANY_VOLUMES',
          message: `more than ${MAX_REPEATED} source volumes; at most ${MAX_REPEATED} in one group`,
        };
      }
      return tooLarge(name, `more than ${MAX_REPEATED} entries`, `${MAX_REPEATED}`);
    }
  }
  for (const [number, sum] of maps) {
    const name = `${path}${fields.get(number)!.name}`;
    const limit = mapLimit(fields.get(number)!.name);
    if (sum.entries <= limit.entries && sum.bytes <= limit.bytes) continue;
    const what = `${sum.entries} entries and ${sum.bytes} bytes`;
    const most = `${limit.entries} entries and ${limit.bytes} bytes`;
    if (name === 'parameters') {
      return { reason: 'PARAMETERS_TOO_LARGE', message: `parameters have ${what}; at most ${most}` };
    }
    return tooLarge(name, what, most);
  }
  return undefined;
}

/** The first problem of a serialized request of `typeName`, or undefined when it may be decoded. */
export function checkRequest(
  registry: MessageRegistry,
  typeName: string,
  buf: Uint8Array,
): RequestProblem | undefined {
  try {
    return walk({ registry, stringBytes: 0, inMap: false }, buf, typeName, '');
  } catch (err) {
    if (!(err instanceof Malformed)) throw err;
    return {
      reason: 'MALFORMED_REQUEST',
      message: `the request is not a valid ${typeName.split('.').pop()} message: ${err.message}`,
    };
  }
}

/** What the server's deserializer hands on for a request that failed the check. */
export class RefusedRequest {
  readonly problem: RequestProblem;
  constructor(problem: RequestProblem) {
    this.problem = problem;
  }
}

/**
 * Wraps a method's deserializer: a request that fails the check, or that the decoder rejects,
 * becomes a RefusedRequest the server answers with INVALID_ARGUMENT (a throwing deserializer
 * would make grpc-js answer INTERNAL).
 */
export function checkedDeserializer(
  registry: MessageRegistry,
  typeName: string,
  decode: (buf: Buffer) => unknown,
): (buf: Buffer) => unknown {
  return (buf) => {
    const problem = checkRequest(registry, typeName, buf);
    if (problem) return new RefusedRequest(problem);
    try {
      return decode(buf);
    } catch (err) {
      return new RefusedRequest({
        reason: 'MALFORMED_REQUEST',
        message: `the request is not a valid ${typeName.split('.').pop()} message: ${(err as Error).message.slice(0, 100)}`,
      });
    }
  };
}
