// Finding the kubelet's own memory cgroup from /proc texts: the v1 memory hierarchy's mount
// (among the other controllers' and a v2 mount) and this process's path in it.
import { describe, expect, it } from 'vitest';
import { memoryCgroupPath, memoryMount } from '../../harness/kubelet/memory-cgroup.ts';

const MOUNTINFO = [
  '24 31 0:22 / /sys rw,nosuid,nodev,noexec,relatime shared:7 - sysfs sysfs rw',
  '33 31 0:30 / /sys/fs/cgroup/cpu rw,relatime - cgroup cgroup rw,cpu',
  '35 31 0:32 / /sys/fs/cgroup/memory rw,relatime - cgroup cgroup rw,memory',
  '36 31 0:33 / /sys/fs/cgroup/unified rw,relatime - cgroup2 cgroup2 rw',
].join('\n');

describe('memory cgroup detection', () => {
  it('finds the v1 memory hierarchy by its super options, not by the mount point', () => {
    expect(memoryMount(MOUNTINFO)).toEqual({ mountPoint: '/sys/fs/cgroup/memory', root: '/' });
    const merged = '40 31 0:40 /ns /cg/cpu,memory rw - cgroup cgroup rw,cpu,memory';
    expect(memoryMount(merged)).toEqual({ mountPoint: '/cg/cpu,memory', root: '/ns' });
  });

  it('finds no memory hierarchy on a cgroup v2 only machine', () => {
    expect(memoryMount('30 25 0:26 / /sys/fs/cgroup rw - cgroup2 cgroup2 rw,nsdelegate')).toBeUndefined();
  });

  it('reads the memory line of /proc/self/cgroup, also when controllers share a hierarchy', () => {
    expect(memoryCgroupPath('5:devices:/\n4:memory:/process_api/abc\n0::/')).toBe('/process_api/abc');
    expect(memoryCgroupPath('3:cpu,memory:/x\n')).toBe('/x');
    expect(memoryCgroupPath('0::/user.slice\n')).toBeUndefined();
  });
});
