import { describe, expect, it } from 'vitest';
import { type EntryScriptSpec, renderEntryScript, shellQuote } from '../../harness/kubelet/entry-script.ts';

const spec: EntryScriptSpec = {
  hostname: 'web-0',
  projectRoot: '/work/main',
  programs: { etcd: '/cache/etcd-v3/bin/etcd' },
  mounts: [
    {
      hostPath: '/k/pods/u/volumes/secret/creds',
      containerPath: '/etc/creds/inner',
      readOnly: true,
      isFile: false,
    },
    { hostPath: '/k/pods/u/volumes/empty/data', containerPath: '/data', readOnly: false, isFile: false },
    { hostPath: '/k/hosts', containerPath: '/etc/hosts', readOnly: true, isFile: true },
  ],
  workingDir: '/data/work dir',
  noNewPrivileges: true,
  dropAllCapabilities: true,
  readOnlyRootFilesystem: true,
  setpriv: '/usr/bin/setpriv',
  user: { uid: 1000, gid: 3000, supplementalGroups: [2000] },
};

describe('shellQuote', () => {
  it('quotes single quotes safely', () => {
    expect(shellQuote("it's")).toBe(`'it'\\''s'`);
  });
});

describe('renderEntryScript', () => {
  const script = renderEntryScript(spec);
  const lines = script.split('\n');

  it('binds volumes shallow-first, read-only ones remounted read-only', () => {
    const data = lines.findIndex((l) => l.endsWith("'/data' dir rw"));
    const inner = lines.findIndex((l) => l.endsWith("'/etc/creds/inner' dir ro"));
    const hosts = lines.findIndex((l) => l.endsWith("'/etc/hosts' file ro"));
    expect(data).toBeGreaterThan(0);
    expect(hosts).toBeGreaterThan(data);
    expect(inner).toBeGreaterThan(hosts);
    expect(script).toContain('mount -o remount,bind,ro "$2"');
  });

  it('stages every source before mounting anything over the container paths', () => {
    const staged = lines.filter(
      (l) => l.startsWith("bind '") && l.includes(' /run/process-kubelet/sources/'),
    );
    expect(staged).toHaveLength(3);
    expect(staged).toContain("bind '/k/pods/u/volumes/empty/data' /run/process-kubelet/sources/0 dir rw");
    const lastStaged = lines.indexOf(staged.at(-1)!);
    expect(lines.findIndex((l) => l.endsWith("'/data' dir rw"))).toBeGreaterThan(lastStaged);
    expect(script).toContain("bind /run/process-kubelet/sources/0 '/data' dir rw");
  });

  it('provides the image programs in the container bin dir', () => {
    expect(script).toContain("bind '/cache/etcd-v3/bin/etcd' /run/process-kubelet/bin/etcd file ro");
    expect(script).toContain("mount --bind '/work/main' /run/process-kubelet/project");
    expect(script).toContain('exec /run/process-kubelet/project/bin/etcd-snapshot-driver');
  });

  it('remounts / read-only after the mounts and before changing directory', () => {
    const ro = lines.indexOf('mount -o remount,bind,ro /');
    expect(ro).toBeGreaterThan(lines.findIndex((l) => l.includes("'/data' dir rw")));
    expect(lines.indexOf("cd '/data/work dir'")).toBeGreaterThan(ro);
  });

  it('execs the program through setpriv with the user, privileges and pdeathsig', () => {
    expect(lines.at(-2)).toBe(
      `exec '/usr/bin/setpriv' --reuid=1000 --regid=3000 --groups=2000 --no-new-privs --inh-caps=-all --bounding-set=-all --pdeathsig KILL -- "$@"`,
    );
  });

  it('sets the pod hostname and fails setup with exit 128', () => {
    expect(script).toContain("hostname 'web-0'");
    expect(script).toContain('exit 128');
    expect(lines).toContain('trap - EXIT');
  });

  it('leaves user, hostname and the root file system alone when not asked', () => {
    const plain = renderEntryScript({
      ...spec,
      hostname: undefined,
      user: undefined,
      readOnlyRootFilesystem: false,
      noNewPrivileges: false,
      dropAllCapabilities: false,
      workingDir: undefined,
    });
    expect(plain).not.toContain('hostname');
    expect(plain).not.toContain('remount,bind,ro /\n');
    expect(plain).toContain("cd '/'");
    expect(plain).toContain(`exec '/usr/bin/setpriv' --pdeathsig KILL -- "$@"`);
  });
});
