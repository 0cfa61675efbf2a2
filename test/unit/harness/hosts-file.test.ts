import { mkdtempSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { renderHostsFile, writeInPlace } from '../../harness/kubelet/hosts-file.ts';

describe('renderHostsFile', () => {
  it('maps StatefulSet pods by their stable DNS names and every pod by its name', () => {
    const text = renderHostsFile([
      { ip: '127.21.1.2', podName: 'web-abc', namespace: 'default', hostname: 'web-abc' },
      { ip: '127.21.1.1', podName: 'etcd-0', namespace: 'db', hostname: 'etcd-0', subdomain: 'etcd' },
    ]);
    const lines = text.trimEnd().split('\n');
    expect(lines).toContain('127.0.0.1\tlocalhost');
    expect(lines).toContain('127.21.1.1\tetcd-0 etcd-0.etcd.db.svc etcd-0.etcd.db.svc.cluster.local');
    expect(lines).toContain('127.21.1.2\tweb-abc');
    // Sorted by namespace, then name.
    expect(lines.indexOf('127.21.1.2\tweb-abc')).toBeGreaterThan(
      lines.findIndex((l) => l.startsWith('127.21.1.1')),
    );
  });

  it('lists a custom hostname next to the pod name', () => {
    expect(renderHostsFile([{ ip: '127.21.1.3', podName: 'p', namespace: 'n', hostname: 'h' }])).toContain(
      '127.21.1.3\tp h\n',
    );
  });
});

describe('writeInPlace', () => {
  it('replaces the content but keeps the inode (bind mounts see the update)', () => {
    const file = join(mkdtempSync(join(tmpdir(), 'hosts-')), 'hosts');
    writeFileSync(file, 'a much longer first version of the file\n');
    const inode = statSync(file).ino;
    writeInPlace(file, 'short\n');
    expect(readFileSync(file, 'utf8')).toBe('short\n');
    expect(statSync(file).ino).toBe(inode);
  });

  it('creates a missing file', () => {
    const file = join(mkdtempSync(join(tmpdir(), 'hosts-')), 'hosts');
    writeInPlace(file, 'x\n');
    expect(readFileSync(file, 'utf8')).toBe('x\n');
  });
});
