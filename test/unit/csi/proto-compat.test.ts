// The project's csi.proto must be wire-compatible with the upstream CSI specification: every
// message, field (number, type, label, oneof), enum value and method it declares must be declared
// the same way upstream. Upstream is read from the Go module the tools pin
// (hack/tools/csi-test/go.mod), and also from v1.12.0 — the version the driver targets — when
// that is in the module cache.
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { homedir } from 'node:os';
import { join, resolve } from 'node:path';
import protobuf from 'protobufjs';
import { describe, expect, it } from 'vitest';

const repo = resolve(import.meta.dirname, '../../..');
const projectProto = join(repo, 'src/csi/proto/csi.proto');

function goEnv(args: string[], cwd: string): string | undefined {
  try {
    return execFileSync('go', args, {
      cwd,
      encoding: 'utf8',
      env: { ...process.env, GOFLAGS: '-mod=mod', GOTOOLCHAIN: 'local' },
      stdio: ['ignore', 'pipe', 'ignore'],
    }).trim();
  } catch {
    return undefined;
  }
}

/** Every upstream csi.proto we can find: the pinned module, the tools cache copy, v1.12.0. */
function upstreamProtos(): Map<string, string> {
  const found = new Map<string, string>();
  // `go mod download`, not `go list -m`: the unit tier may run before the tools build (in the
  // background of the cluster tiers' globalSetup) has fetched the module.
  const download = goEnv(
    ['mod', 'download', '-json', 'github.com/container-storage-interface/spec'],
    join(repo, 'hack/tools/csi-test'),
  );
  const pinnedDir = download ? (JSON.parse(download) as { Dir?: string }).Dir : undefined;
  if (pinnedDir && existsSync(join(pinnedDir, 'csi.proto')))
    found.set('pinned', join(pinnedDir, 'csi.proto'));
  const toolsCopy = join(homedir(), '.cache/etcd-snapshot-driver/tools/csi.proto');
  if (existsSync(toolsCopy)) found.set('tools cache', toolsCopy);
  const modCache = goEnv(['env', 'GOMODCACHE'], repo);
  const v112 = modCache && join(modCache, 'github.com/container-storage-interface/spec@v1.12.0/csi.proto');
  if (v112 && existsSync(v112)) found.set('v1.12.0', v112);
  return found;
}

// descriptor.proto is not among protobufjs' built-in common files; register it as proto-loader does.
const require = createRequire(import.meta.url);
const descriptorJson = require('protobufjs/google/protobuf/descriptor.json') as {
  nested: { google: { nested: { protobuf: { nested: protobuf.INamespace['nested'] } } } };
};
protobuf.common('descriptor', descriptorJson.nested.google.nested.protobuf.nested!);

function load(file: string): protobuf.Root {
  const root = new protobuf.Root();
  root.loadSync(file, { keepCase: true });
  root.resolveAll();
  return root;
}

function allNested(ns: protobuf.NamespaceBase): protobuf.ReflectionObject[] {
  const out: protobuf.ReflectionObject[] = [];
  for (const child of ns.nestedArray) {
    out.push(child);
    if (child instanceof protobuf.Namespace) out.push(...allNested(child));
  }
  return out;
}

function fieldShape(field: protobuf.Field) {
  field.resolve();
  return {
    id: field.id,
    type: field.resolvedType ? field.resolvedType.fullName : field.type,
    repeated: field.repeated,
    map: field instanceof protobuf.MapField ? field.keyType : undefined,
    oneof: field.partOf?.name,
  };
}

/** Differences between the project's declarations and upstream's, as readable lines. */
function compare(project: protobuf.Root, upstream: protobuf.Root): string[] {
  const problems: string[] = [];
  const pkg = project.lookup('csi.v1') as protobuf.Namespace;
  for (const obj of allNested(pkg)) {
    const name = obj.fullName.replace(/^\./, '');
    const theirs = upstream.lookup(obj.fullName);
    if (theirs === null) {
      problems.push(`${name}: not declared upstream`);
      continue;
    }
    if (obj instanceof protobuf.Type) {
      if (!(theirs instanceof protobuf.Type)) {
        problems.push(`${name}: a message here, not upstream`);
        continue;
      }
      for (const field of obj.fieldsArray) {
        const other = theirs.fields[field.name];
        if (!other) {
          problems.push(`${name}.${field.name}: no such field upstream`);
          continue;
        }
        const a = fieldShape(field);
        const b = fieldShape(other);
        if (JSON.stringify(a) !== JSON.stringify(b)) {
          problems.push(`${name}.${field.name}: ${JSON.stringify(a)} here, ${JSON.stringify(b)} upstream`);
        }
      }
    } else if (obj instanceof protobuf.Enum) {
      if (!(theirs instanceof protobuf.Enum)) {
        problems.push(`${name}: an enum here, not upstream`);
        continue;
      }
      for (const [name, value] of Object.entries(obj.values)) {
        if (theirs.values[name] !== value) {
          problems.push(`${name}.${name}=${value}: upstream has ${String(theirs.values[name])}`);
        }
      }
    } else if (obj instanceof protobuf.Service) {
      if (!(theirs instanceof protobuf.Service)) {
        problems.push(`${name}: a service here, not upstream`);
        continue;
      }
      for (const method of obj.methodsArray) {
        const other = theirs.methods[method.name];
        method.resolve();
        other?.resolve();
        if (
          !other ||
          other.resolvedRequestType?.fullName !== method.resolvedRequestType?.fullName ||
          other.resolvedResponseType?.fullName !== method.resolvedResponseType?.fullName ||
          Boolean(other.requestStream) !== Boolean(method.requestStream) ||
          Boolean(other.responseStream) !== Boolean(method.responseStream)
        ) {
          problems.push(`${name}.${method.name}: signature differs from upstream`);
        }
      }
    }
  }
  return problems;
}

const upstream = upstreamProtos();

describe('src/csi/proto/csi.proto', () => {
  it('finds the upstream csi.proto (build the tools or run `go mod download` in hack/tools/csi-test)', () => {
    expect([...upstream.keys()]).toContain('pinned');
  });

  for (const [label, file] of upstream) {
    it(`declares every message, field, enum value and method as the upstream csi.proto does (${label})`, () => {
      expect(compare(load(projectProto), load(file))).toEqual([]);
    });
  }

  it('serves the services the driver implements, in package csi.v1', () => {
    const project = load(projectProto);
    const services = allNested(project.lookup('csi.v1') as protobuf.Namespace)
      .filter((o) => o instanceof protobuf.Service)
      .map((s) => s.name)
      .sort();
    expect(services).toEqual(['Controller', 'GroupController', 'Identity', 'Node']);
  });

  it('names every upstream secret field "secrets", which the server relies on to strip them from logs', () => {
    const [, file] = [...upstream][0]!;
    const secretFields = allNested(load(file))
      .filter((o) => o instanceof protobuf.Type)
      .flatMap((t) => (t as protobuf.Type).fieldsArray)
      .filter((f) => f.options?.['(csi_secret)'] === true);
    expect(secretFields.length).toBeGreaterThan(10);
    expect(secretFields.filter((f) => f.name !== 'secrets').map((f) => f.fullName)).toEqual([]);
  });

  it('detects a changed field number (the check is not vacuous)', () => {
    const project = load(projectProto);
    const altered = load(projectProto);
    const snapshot = altered.lookupType('csi.v1.Snapshot');
    const field = snapshot.fields.ready_to_use!;
    snapshot.remove(field);
    snapshot.add(new protobuf.Field('ready_to_use', 9, 'bool'));
    expect(compare(altered, project)).toEqual([
      'csi.v1.Snapshot.ready_to_use: {"id":9,"type":"bool","repeated":false} here, {"id":5,"type":"bool","repeated":false} upstream',
    ]);
  });
});
