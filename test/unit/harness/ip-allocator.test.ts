import { describe, expect, it } from 'vitest';
import { IpAllocator } from '../../harness/kubelet/ip-allocator.ts';

describe('IpAllocator', () => {
  it('hands out addresses of the subnet, never 127.S.0.x, stable per pod', () => {
    const ips = new IpAllocator('127.21');
    expect(ips.allocate('a')).toBe('127.21.1.1');
    expect(ips.allocate('b')).toBe('127.21.1.2');
    expect(ips.allocate('a')).toBe('127.21.1.1');
    expect(ips.get('b')).toBe('127.21.1.2');
  });

  it('does not hand a released address out again at once (next fit)', () => {
    const ips = new IpAllocator('127.21');
    ips.allocate('a');
    ips.release('a');
    expect(ips.allocate('b')).toBe('127.21.1.2');
  });

  it('keeps the address a pod already has when it is free and in range', () => {
    const ips = new IpAllocator('127.21');
    expect(ips.allocate('a', '127.21.7.9')).toBe('127.21.7.9');
    expect(ips.allocate('b', '127.21.7.9')).toBe('127.21.1.1');
    expect(ips.allocate('c', '127.22.1.1')).toBe('127.21.1.2');
    expect(ips.allocate('d', '127.21.0.1')).toBe('127.21.1.3');
  });

  it('wraps from .254 to the next third octet', () => {
    const ips = new IpAllocator('127.30');
    let last = '';
    for (let i = 0; i < 255; i++) last = ips.allocate(`p${i}`);
    expect(last).toBe('127.30.2.1');
  });

  it('checks the range', () => {
    const ips = new IpAllocator('127.21');
    expect(ips.inRange('127.21.254.254')).toBe(true);
    expect(ips.inRange('127.21.0.5')).toBe(false);
    expect(ips.inRange('127.21.1.255')).toBe(false);
    expect(ips.inRange('10.0.0.1')).toBe(false);
  });
});
