import { lstatSync, mkdtempSync, readdirSync, readFileSync, readlinkSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { keysToPayload, VolumeError, writeAtomically } from '../../harness/kubelet/volumes.ts';

const data = { username: Buffer.from('root'), password: Buffer.from('s3cret') };

describe('keysToPayload', () => {
  it('projects every key with the default mode', () => {
    const payload = keysToPayload(data, undefined, 0o644, 'Secret x', false);
    expect([...payload.keys()].sort()).toEqual(['password', 'username']);
    expect(payload.get('username')?.mode).toBe(0o644);
  });

  it('projects only listed items, at their paths and modes', () => {
    const payload = keysToPayload(
      data,
      [{ key: 'password', path: 'sub/pw', mode: 0o400 }],
      0o644,
      'Secret x',
      false,
    );
    expect([...payload.keys()]).toEqual(['sub/pw']);
    expect(payload.get('sub/pw')).toEqual({ data: Buffer.from('s3cret'), mode: 0o400 });
  });

  it('fails on a missing listed key unless optional', () => {
    expect(() => keysToPayload(data, [{ key: 'token', path: 't' }], 0o644, 'Secret ns/x', false)).toThrow(
      new VolumeError('configuration error: key "token" not found in Secret ns/x'),
    );
    expect(keysToPayload(data, [{ key: 'token', path: 't' }], 0o644, 'Secret ns/x', true).size).toBe(0);
  });

  it('refuses paths that leave the volume', () => {
    expect(() => keysToPayload(data, [{ key: 'password', path: '../escape' }], 0o644, 'x', false)).toThrow(
      VolumeError,
    );
    expect(() => keysToPayload(data, [{ key: 'password', path: '/abs' }], 0o644, 'x', false)).toThrow(
      VolumeError,
    );
  });
});

describe('writeAtomically', () => {
  it('writes files behind a ..data symlink, and swaps it only when the content changes', () => {
    const dir = join(mkdtempSync(join(tmpdir(), 'vol-')), 'creds');
    const first = new Map([
      ['username', { data: Buffer.from('root'), mode: 0o600 }],
      ['nested/pw', { data: Buffer.from('a'), mode: 0o644 }],
    ]);
    expect(writeAtomically(dir, first)).toBe(true);
    expect(readFileSync(join(dir, 'username'), 'utf8')).toBe('root');
    expect(readFileSync(join(dir, 'nested/pw'), 'utf8')).toBe('a');
    expect(lstatSync(join(dir, 'username')).isSymbolicLink()).toBe(true);
    expect(statSync(join(dir, 'username')).mode & 0o777).toBe(0o600);
    const version = readlinkSync(join(dir, '..data'));

    expect(writeAtomically(dir, first)).toBe(false);
    expect(readlinkSync(join(dir, '..data'))).toBe(version);

    const second = new Map([['username', { data: Buffer.from('admin'), mode: 0o600 }]]);
    expect(writeAtomically(dir, second)).toBe(true);
    expect(readFileSync(join(dir, 'username'), 'utf8')).toBe('admin');
    expect(readdirSync(dir).sort()).toEqual(['..data', readlinkSync(join(dir, '..data')), 'username'].sort());
  });
});
