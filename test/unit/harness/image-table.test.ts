import { describe, expect, it } from 'vitest';
import {
  CONTAINER_BIN_DIR,
  containerArgv,
  imageRepository,
  lookupImage,
  mapProgram,
  unknownImageMessage,
} from '../../harness/kubelet/image-table.ts';

describe('imageRepository', () => {
  it.each([
    ['busybox', 'busybox'],
    ['busybox:1.37', 'busybox'],
    ['docker.io/library/busybox:1.37', 'busybox'],
    ['quay.io/coreos/etcd:v3.6.16', 'quay.io/coreos/etcd'],
    ['localhost:5000/etcd-snapshot-driver:dev', 'localhost:5000/etcd-snapshot-driver'],
    ['ghcr.io/x/etcd-snapshot-driver@sha256:abcd', 'ghcr.io/x/etcd-snapshot-driver'],
    ['registry.k8s.io/etcd:3.5.21-0@sha256:abcd', 'registry.k8s.io/etcd'],
  ])('%s → %s', (image, repository) => {
    expect(imageRepository(image)).toBe(repository);
  });
});

describe('lookupImage', () => {
  it('maps the driver image by its last path segment, running as the distroless nonroot user', () => {
    expect(lookupImage('ghcr.io/example/etcd-snapshot-driver:v1')).toMatchObject({
      kind: 'driver',
      entrypoint: ['etcd-snapshot-driver'],
      user: { uid: 65532, gid: 65532 },
    });
    expect(lookupImage('etcd-snapshot-driver:dev')?.kind).toBe('driver');
  });

  it.each([
    'quay.io/coreos/etcd:v3.6.16',
    'gcr.io/etcd-development/etcd:v3.5.0',
    'registry.k8s.io/etcd:3.5.21-0',
    'bitnami/etcd:3.5',
  ])('maps %s to etcd', (image) => {
    expect(lookupImage(image)).toMatchObject({ kind: 'etcd', entrypoint: ['etcd'], user: { uid: 0 } });
  });

  it.each(['busybox:1.37', 'alpine', 'docker.io/library/debian:12', 'ubuntu:24.04', 'bash:5'])(
    'maps %s to the host shell',
    (image) => {
      expect(lookupImage(image)).toMatchObject({ kind: 'shell', cmd: ['sh'] });
    },
  );

  it.each([
    ['registry.k8s.io/sig-storage/csi-snapshotter:v8.2.0', 'csi-snapshotter'],
    ['registry.k8s.io/sig-storage/snapshot-controller:v8.2.0', 'snapshot-controller'],
    ['registry.k8s.io/sig-storage/csi-provisioner:v5.2.0', 'csi-provisioner'],
    ['bitnami/kubectl:1.33', 'kubectl'],
    ['jaegertracing/all-in-one:1.76', 'jaeger'],
  ])('maps the upstream image %s to the built %s', (image, program) => {
    const entry = lookupImage(image)!;
    expect(entry).toMatchObject({ kind: 'tool', programs: [program] });
    expect(containerArgv(entry, undefined, ['--v=5'])).toEqual([`${CONTAINER_BIN_DIR}/${program}`, '--v=5']);
    // The sig-storage images name their program at the root.
    expect(containerArgv(entry, [`/${program}`], undefined)).toEqual([`${CONTAINER_BIN_DIR}/${program}`]);
  });

  it('knows no other image, and says where the table is', () => {
    expect(lookupImage('nginx:1.27')).toBeUndefined();
    expect(lookupImage('quay.io/coreos/etcd-operator')).toBeUndefined();
    expect(unknownImageMessage('nginx:1.27')).toMatch(/"nginx:1.27".*docs\/process-kubelet.md/);
  });
});

describe('containerArgv', () => {
  const etcd = lookupImage('quay.io/coreos/etcd:v3.6.16')!;
  const shell = lookupImage('busybox')!;
  const driver = lookupImage('etcd-snapshot-driver:dev')!;

  it('runs the entrypoint with the args when no command is set', () => {
    expect(containerArgv(etcd, undefined, ['--name=a'])).toEqual([`${CONTAINER_BIN_DIR}/etcd`, '--name=a']);
    expect(containerArgv(driver, [], ['agent', 'save'])).toEqual([
      `${CONTAINER_BIN_DIR}/etcd-snapshot-driver`,
      'agent',
      'save',
    ]);
  });

  it('runs the image CMD when neither is set', () => {
    expect(containerArgv(shell, undefined, undefined)).toEqual(['sh']);
  });

  it('lets command replace the entrypoint and drop the CMD', () => {
    expect(containerArgv(shell, ['sh', '-c', 'echo hi'], undefined)).toEqual(['sh', '-c', 'echo hi']);
    expect(containerArgv(etcd, ['/usr/local/bin/etcdctl'], ['get', 'x'])).toEqual([
      `${CONTAINER_BIN_DIR}/etcdctl`,
      'get',
      'x',
    ]);
  });

  it('runs args as the command in an image without entrypoint', () => {
    expect(containerArgv(shell, undefined, ['sleep', '1'])).toEqual(['sleep', '1']);
  });
});

describe('mapProgram', () => {
  const shell = lookupImage('busybox')!;
  const etcd = lookupImage('quay.io/coreos/etcd')!;
  const driver = lookupImage('etcd-snapshot-driver')!;

  it('maps provided programs by bare name or in standard bin directories, in any image', () => {
    expect(mapProgram(shell, 'etcdctl')).toBe(`${CONTAINER_BIN_DIR}/etcdctl`);
    expect(mapProgram(shell, '/usr/local/bin/etcd-snapshot-driver')).toBe(
      `${CONTAINER_BIN_DIR}/etcd-snapshot-driver`,
    );
    expect(mapProgram(shell, 'kubectl')).toBe(`${CONTAINER_BIN_DIR}/kubectl`);
  });

  it('maps any path of its own program in the driver and etcd images', () => {
    expect(mapProgram(driver, '/app/bin/etcd-snapshot-driver')).toBe(
      `${CONTAINER_BIN_DIR}/etcd-snapshot-driver`,
    );
    expect(mapProgram(etcd, '/opt/bitnami/etcd/bin/etcdctl')).toBe(`${CONTAINER_BIN_DIR}/etcdctl`);
    expect(mapProgram(shell, '/opt/bitnami/etcd/bin/etcdctl')).toBe('/opt/bitnami/etcd/bin/etcdctl');
  });

  it('leaves host programs alone', () => {
    expect(mapProgram(shell, 'sh')).toBe('sh');
    expect(mapProgram(etcd, '/bin/sh')).toBe('/bin/sh');
  });
});
