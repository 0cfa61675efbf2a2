// Memory limits enforced as a node enforces them: each container with `resources.limits.memory`
// runs in a cgroup (v1 memory controller) of its own under the kubelet's cgroup, with
// memory.limit_in_bytes set to the limit. Going over it is the kernel's OOM kill inside that
// cgroup, which the pod status reports as a real kubelet does: terminated, reason OOMKilled.
// Page cache and mapped file pages count towards the limit there too, as on a node; the kernel
// reclaims them before it kills.
//
// Optional: where the machine has no writable cgroup v1 memory controller (cgroup v2 only,
// rootless, read-only /sys) detection returns the reason and the kubelet runs containers without
// enforcement, as before. cgroup v2 is not implemented (its files differ: memory.max,
// memory.events, memory.peak) because no machine this harness runs on has offered one to test.
import { existsSync, mkdirSync, readdirSync, readFileSync, rmdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

export interface ContainerCgroup {
  readonly dir: string;
  /** Where a process writes its own pid to join (before it execs the container's program). */
  readonly procsFile: string;
  /** Processes the kernel's OOM killer killed in this cgroup so far. */
  oomKills(): number;
  /** The highest memory use seen, page cache included (memory.max_usage_in_bytes). */
  peakBytes(): number | undefined;
  /** Removes the cgroup once its processes are gone (best effort: a busy one is left behind). */
  remove(): void;
}

export interface MemoryCgroups {
  /** The directory holding one child cgroup per container. */
  readonly root: string;
  create(name: string, limitBytes: number): ContainerCgroup;
  /** Removes the parent and what is left in it (at the kubelet's exit). */
  remove(): void;
}

export type MemoryCgroupDetection = { cgroups: MemoryCgroups } | { cgroups?: undefined; reason: string };

/** The mount point and root of the cgroup v1 memory hierarchy, from a mountinfo text. */
export function memoryMount(mountinfo: string): { mountPoint: string; root: string } | undefined {
  for (const line of mountinfo.split('\n')) {
    const [before, after] = line.split(' - ');
    if (!before || !after) continue;
    const [fsType, , superOptions = ''] = after.split(' ');
    if (fsType !== 'cgroup' || !superOptions.split(',').includes('memory')) continue;
    const fields = before.split(' ');
    const root = fields[3];
    const mountPoint = fields[4];
    if (root && mountPoint) return { mountPoint, root };
  }
  return undefined;
}

/** This process's path in the memory hierarchy, from a /proc/<pid>/cgroup text. */
export function memoryCgroupPath(procCgroup: string): string | undefined {
  for (const line of procCgroup.split('\n')) {
    const [, controllers, path] = line.split(':');
    if (controllers?.split(',').includes('memory') && path) return path;
  }
  return undefined;
}

/** The directory of this process's own memory cgroup, or why there is none. */
function ownCgroupDir(): string | { reason: string } {
  const mount = memoryMount(readFileSync('/proc/self/mountinfo', 'utf8'));
  if (!mount) return { reason: 'no cgroup v1 memory controller is mounted' };
  const path = memoryCgroupPath(readFileSync('/proc/self/cgroup', 'utf8'));
  if (path === undefined) return { reason: 'this process is in no memory cgroup' };
  // In a cgroup namespace the mount's root is a prefix of the path (or the path is relative to it).
  const relative = mount.root !== '/' && path.startsWith(mount.root) ? path.slice(mount.root.length) : path;
  return join(mount.mountPoint, relative);
}

function readNumber(file: string): number | undefined {
  try {
    const value = Number(readFileSync(file, 'utf8').trim());
    return Number.isFinite(value) ? value : undefined;
  } catch {
    return undefined;
  }
}

function containerCgroup(dir: string): ContainerCgroup {
  return {
    dir,
    procsFile: join(dir, 'cgroup.procs'),
    oomKills() {
      try {
        const line = readFileSync(join(dir, 'memory.oom_control'), 'utf8')
          .split('\n')
          .find((l) => l.startsWith('oom_kill '));
        return line ? Number(line.split(' ')[1]) || 0 : 0;
      } catch {
        return 0;
      }
    },
    peakBytes: () => readNumber(join(dir, 'memory.max_usage_in_bytes')),
    remove() {
      try {
        rmdirSync(dir);
      } catch {
        // Still busy (a process not reaped yet) or gone: nothing a container's next start needs.
      }
    },
  };
}

const ROOT_PREFIX = 'process-kubelet-';

/** Removes a cgroup and its (empty) children: best effort, a busy one stays. */
function removeTree(dir: string): void {
  try {
    for (const entry of readdirSync(dir, { withFileTypes: true }))
      if (entry.isDirectory()) containerCgroup(join(dir, entry.name)).remove();
  } catch {
    // gone already
  }
  containerCgroup(dir).remove();
}

/** The parent cgroups of kubelets that are gone (crashed: nothing removed them). */
function removeOrphans(own: string): void {
  for (const entry of readdirSync(own, { withFileTypes: true })) {
    if (!entry.isDirectory() || !entry.name.startsWith(ROOT_PREFIX)) continue;
    const pid = Number(entry.name.slice(ROOT_PREFIX.length));
    if (Number.isInteger(pid) && pid > 0 && !existsSync(`/proc/${pid}`)) removeTree(join(own, entry.name));
  }
}

/**
 * A parent cgroup `<own cgroup>/process-kubelet-<pid>` for the containers, if this machine lets this process
 * create child cgroups and set their limits (checked with a probe child).
 */
export function detectMemoryCgroups(): MemoryCgroupDetection {
  try {
    const own = ownCgroupDir();
    if (typeof own !== 'string') return own;
    removeOrphans(own);
    const root = join(own, `${ROOT_PREFIX}${process.pid}`);
    mkdirSync(root, { recursive: true });
    const probe = join(root, 'probe');
    mkdirSync(probe, { recursive: true });
    try {
      writeFileSync(join(probe, 'memory.limit_in_bytes'), String(64 * 1024 * 1024));
      if (!existsSync(join(probe, 'memory.oom_control')))
        return { reason: `${probe} has no memory.oom_control` };
    } finally {
      rmdirSync(probe);
    }
    return {
      cgroups: {
        root,
        create(child, limitBytes) {
          const dir = join(root, child);
          mkdirSync(dir, { recursive: true });
          writeFileSync(join(dir, 'memory.limit_in_bytes'), String(Math.floor(limitBytes)));
          // With swap on, memory + swap gets the same limit (a node's kubelet allows no swap by default).
          const withSwap = join(dir, 'memory.memsw.limit_in_bytes');
          if (existsSync(withSwap)) writeFileSync(withSwap, String(Math.floor(limitBytes)));
          return containerCgroup(dir);
        },
        remove: () => removeTree(root),
      },
    };
  } catch (err) {
    return { reason: `the memory cgroup is not writable: ${(err as Error).message}` };
  }
}
