// The wire check of every request (src/csi/request-check.ts) and the bounds on what answers and
// log lines echo (src/csi/limits.ts, src/telemetry/log-bounds.ts), through the real server and a
// real gRPC client, plus the check on hand-made bytes.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { status } from '@grpc/grpc-js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type CsiClient, createCsiClient } from '../../../src/csi/csi-client.ts';
import { createCsiServices } from '../../../src/csi/driver.ts';
import { CsiError, toGrpcStatus } from '../../../src/csi/errors.ts';
import { echo, MAX_STATUS_DETAILS_BYTES, truncateUtf8 } from '../../../src/csi/limits.ts';
import { csiMessageRegistry } from '../../../src/csi/proto.ts';
import { checkRequest } from '../../../src/csi/request-check.ts';
import { type CsiServer, startCsiServer } from '../../../src/csi/server.ts';
import { addClaim, addEtcdCluster, memoryLogger, type World, world } from './fakes.ts';

let dir: string;
let w: World;
let server: CsiServer;
let client: CsiClient;
let logs: ReturnType<typeof memoryLogger>;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'csi-check-'));
  w = world();
  addEtcdCluster(w, 'main');
  addClaim(w, 'a', { cluster: 'main' });
  logs = memoryLogger('debug');
  server = await startCsiServer({
    endpoints: [`unix://${join(dir, 'csi.sock')}`],
    services: createCsiServices(w.options),
    log: logs.log,
  });
  client = createCsiClient(server.addresses[0]!);
});
afterAll(async () => {
  client?.close();
  await server?.stop(100);
  rmSync(dir, { recursive: true, force: true });
});

async function refused(promise: Promise<unknown>): Promise<{ code: number; details: string }> {
  try {
    await promise;
  } catch (err) {
    return err as { code: number; details: string };
  }
  throw new Error('expected the call to be refused');
}

/** A length-delimited protobuf field: tag, length, bytes. */
function field(number: number, bytes: Uint8Array): Uint8Array {
  const length: number[] = [];
  let n = bytes.length;
  do {
    length.push((n & 0x7f) | (n > 0x7f ? 0x80 : 0));
    n >>>= 7;
  } while (n > 0);
  return Uint8Array.from([(number << 3) | 2, ...length, ...bytes]);
}

const MIB3 = 'v'.repeat(3 * 1024 * 1024);
const KIB100 = 'v'.repeat(100 * 1024);

describe('values of megabytes', () => {
  const calls: [string, () => Promise<unknown>, RegExp][] = [
    [
      'DeleteVolume volume_id',
      () => client.Controller.DeleteVolume!({ volume_id: MIB3 }),
      /^FIELD_TOO_LARGE: volume_id is 3145728 bytes; at most 128 bytes$/,
    ],
    [
      'CreateSnapshot source_volume_id',
      () => client.Controller.CreateSnapshot!({ name: 's', source_volume_id: KIB100 }),
      /^FIELD_TOO_LARGE: source_volume_id is 102400 bytes; at most 128 bytes$/,
    ],
    [
      'ListSnapshots starting_token',
      () => client.Controller.ListSnapshots!({ starting_token: MIB3 }),
      /^FIELD_TOO_LARGE: starting_token is 3145728 bytes; at most 256 bytes$/,
    ],
    [
      'CreateVolumeGroupSnapshot source_volume_ids[1]',
      () =>
        client.GroupController.CreateVolumeGroupSnapshot!({
          name: 'g',
          source_volume_ids: ['default/a', KIB100],
        }),
      /^FIELD_TOO_LARGE: source_volume_ids\[1\] is 102400 bytes; at most 128 bytes$/,
    ],
    [
      'CreateVolume volume_content_source.snapshot.snapshot_id',
      () =>
        client.Controller.CreateVolume!({
          name: 'v',
          volume_capabilities: [{ mount: {}, access_mode: { mode: 'SINGLE_NODE_WRITER' } }],
          volume_content_source: { snapshot: { snapshot_id: KIB100 } },
        }),
      /^FIELD_TOO_LARGE: volume_content_source\.snapshot\.snapshot_id is 102400 bytes; at most 128 bytes$/,
    ],
    [
      'GetVolumeGroupSnapshot snapshot_ids',
      () =>
        client.GroupController.GetVolumeGroupSnapshot!({
          group_snapshot_id: 'grp-x',
          snapshot_ids: Array.from({ length: 65 }, (_, i) => `s${i}`),
        }),
      /^FIELD_TOO_LARGE: snapshot_ids is more than 64 entries; at most 64$/,
    ],
    [
      'ValidateVolumeCapabilities volume_context',
      () =>
        client.Controller.ValidateVolumeCapabilities!({
          volume_id: 'default/a',
          volume_capabilities: [{ mount: {}, access_mode: { mode: 'SINGLE_NODE_WRITER' } }],
          volume_context: { big: KIB100 },
        }),
      /^FIELD_TOO_LARGE: volume_context is 1 entries and 102403 bytes; at most 32 entries and 4096 bytes$/,
    ],
  ];
  for (const [what, call, message] of calls) {
    it(`${what}: INVALID_ARGUMENT naming the field and its limit; the next Probe answers`, async () => {
      const err = await refused(call());
      expect(err.code, err.details).toBe(status.INVALID_ARGUMENT);
      expect(err.details).toMatch(message);
      expect((await client.Identity.Probe!()).ready.value).toBe(true);
    });
  }

  it('wrote nothing for any of them, and no log line carries more than 16 KiB', () => {
    expect(w.snapshotsApi.objects.size).toBe(0);
    expect(w.volumesApi.objects.size).toBe(0);
    const lines = logs.lines().map((l) => JSON.stringify(l));
    expect(lines.length).toBeGreaterThan(0);
    expect(Math.max(...lines.map((l) => Buffer.byteLength(l)))).toBeLessThanOrEqual(16 * 1024);
  });
});

describe('invalid UTF-8', () => {
  it('is refused with INVALID_ARGUMENT instead of collapsing distinct names into U+FFFD', async () => {
    const source = field(1, Buffer.from('default/a'));
    for (const name of [Uint8Array.of(0xff), Uint8Array.of(0xfe), Uint8Array.of(0xc3, 0x28)]) {
      const err = await refused(
        client.raw('/csi.v1.Controller/CreateSnapshot', {}, Uint8Array.from([...source, ...field(2, name)])),
      );
      expect(err.code).toBe(status.INVALID_ARGUMENT);
      expect(err.details).toBe('INVALID_UTF8: name is not valid UTF-8');
    }
    const inMap = field(
      4,
      Uint8Array.from([...field(1, Buffer.from('retention-days')), ...field(2, Uint8Array.of(0x80))]),
    );
    const err = await refused(
      client.raw(
        '/csi.v1.Controller/CreateSnapshot',
        {},
        Uint8Array.from([...source, ...field(2, Buffer.from('s')), ...inMap]),
      ),
    );
    expect(err.details).toBe('INVALID_UTF8: parameters entry 0 value is not valid UTF-8');
    expect(w.snapshotsApi.objects.size).toBe(0);
  });

  it('accepts U+FFFD itself when it is sent as valid UTF-8', () => {
    const bytes = Uint8Array.from([
      ...field(1, Buffer.from('a\uFFFDb')),
      ...field(2, Buffer.from('default/a')),
    ]);
    expect(checkRequest(csiMessageRegistry(), 'csi.v1.CreateSnapshotRequest', bytes)).toBeUndefined();
  });
});

describe('bytes that are no message of the method', () => {
  const cases: [string, Uint8Array][] = [
    ['a field running past the end', Uint8Array.of(0x0a, 0x05, 0x01)],
    ['a varint that never ends', Uint8Array.from(Array(11).fill(0xff))],
    ['field number 0', Uint8Array.of(0x02, 0x00)],
    ['a string field sent as a varint', Uint8Array.of(0x10, 0x01)],
    ['a group wire type', Uint8Array.of(0x0b)],
  ];
  for (const [what, bytes] of cases) {
    it(`${what}: MALFORMED_REQUEST, not INTERNAL`, async () => {
      const err = await refused(client.raw('/csi.v1.Controller/ListSnapshots', {}, bytes));
      expect(err.code).toBe(status.INVALID_ARGUMENT);
      expect(err.details).toMatch(
        /^MALFORMED_REQUEST: the request is not a valid ListSnapshotsRequest message: /,
      );
    });
  }

  it('ignores unknown fields, as protobuf says', () => {
    const bytes = Uint8Array.from([...field(99, Buffer.from('x')), 0xa0, 0x06, 0x01]);
    expect(checkRequest(csiMessageRegistry(), 'csi.v1.ListSnapshotsRequest', bytes)).toBeUndefined();
  });
});

describe('echoed values', () => {
  it('quote at most 64 bytes of a value and say how long it was', () => {
    expect(echo('etcd/a')).toBe('"etcd/a"');
    expect(echo('x'.repeat(1000))).toBe(`"${'x'.repeat(64)}…" (1000 bytes)`);
    expect(echo('é'.repeat(100))).toBe(`"${'é'.repeat(32)}…" (200 bytes)`);
    expect(echo('a\nb')).toBe('"a\\nb"');
    expect(echo(9)).toBe('"9"'); // an enum value the proto does not know
    expect(truncateUtf8('aé', 2)).toBe('a');
  });

  it('never make an answer longer than MAX_STATUS_DETAILS_BYTES', () => {
    const st = toGrpcStatus(new CsiError('SNAPSHOT_FAILED', 'é'.repeat(10_000)));
    expect(Buffer.byteLength(st.details)).toBeLessThanOrEqual(MAX_STATUS_DETAILS_BYTES);
    expect(st.details).toMatch(/^SNAPSHOT_FAILED: é+…$/);
  });

  it('cut what a handler echoes from a value below the wire limit', async () => {
    const id = `default/${'N'.repeat(100)}`;
    const err = await refused(client.Controller.CreateSnapshot!({ name: 's', source_volume_id: id }));
    expect(err.details).toBe(
      `MALFORMED_VOLUME_ID: volume ID "${id.slice(0, 64)}…" (108 bytes) is not <namespace>/<name>`,
    );
  });
});

describe('secrets maps', () => {
  it('may hold a whole Secret (many keys, certificates) but not without bound', () => {
    const registry = csiMessageRegistry();
    const entry = (k: string, v: string) =>
      field(3, Uint8Array.from([...field(1, Buffer.from(k)), ...field(2, Buffer.from(v))]));
    const request = (n: number, size: number) =>
      Uint8Array.from([
        ...field(1, Buffer.from('default/a')),
        ...field(2, Buffer.from('s')),
        ...Array.from({ length: n }, (_, i) => [...entry(`k${i}`, 'c'.repeat(size))]).flat(),
      ]);
    expect(checkRequest(registry, 'csi.v1.CreateSnapshotRequest', request(100, 200))).toBeUndefined();
    expect(checkRequest(registry, 'csi.v1.CreateSnapshotRequest', request(300, 1))?.message).toMatch(
      /^secrets is 300 entries and \d+ bytes; at most 256 entries and 65536 bytes$/,
    );
    expect(checkRequest(registry, 'csi.v1.CreateSnapshotRequest', request(10, 8000))?.reason).toBe(
      'FIELD_TOO_LARGE',
    );
  });
});
