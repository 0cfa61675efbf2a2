// The process kubelet's "image store": there is no container runtime, so a container image names a
// program on this machine. The table is documented in docs/process-kubelet.md; keep the two in step.
//
// Inside every container the kubelet mounts a small tmpfs at CONTAINER_BIN_DIR holding the
// programs the images provide (the driver's CLI, etcd, etcdctl, etcdutl, the CSI sidecars …) and
// puts it first on PATH,
// so `etcdctl` in a shell script or an exec probe works in any container. Binding them there (rather
// than running them from the project or tools cache) also lets non-root containers run them when
// those directories are not world-readable (e.g. ~/.cache under a 0700 /root).

/** Where the provided programs appear inside a container. */
export const CONTAINER_BIN_DIR = '/run/process-kubelet/bin';
/** Where the checkout appears inside a container (the driver's CLI script resolves its root from it). */
export const CONTAINER_PROJECT_DIR = '/run/process-kubelet/project';

/**
 * Programs the process kubelet provides inside containers, by the name they have in images. All
 * but the driver's CLI are binaries of the tools cache (hack/tools/build.sh).
 */
export const PROVIDED_PROGRAMS = [
  'etcd-snapshot-driver',
  'etcd',
  'etcdctl',
  'etcdutl',
  'csi-snapshotter',
  'snapshot-controller',
  'csi-provisioner',
  'kubectl',
  'jaeger',
] as const;
export type ProvidedProgram = (typeof PROVIDED_PROGRAMS)[number];

export type ImageKind = 'driver' | 'etcd' | 'tool' | 'shell';

export interface ImageEntry {
  kind: ImageKind;
  /** The image's own programs: any path ending in one of these names runs the provided one. */
  programs: readonly ProvidedProgram[];
  /** The image's ENTRYPOINT and CMD, with Kubernetes' command/args rules applied over them. */
  entrypoint: string[];
  cmd: string[];
  /** The image's USER (what a container runs as without securityContext.runAsUser). */
  user: { uid: number; gid: number };
}

const ROOT = { uid: 0, gid: 0 };
// Like a distroless "nonroot" base image, which is what a Node.js driver image is built on.
const NONROOT = { uid: 65532, gid: 65532 };

const SHELL_IMAGES = new Set(['busybox', 'alpine', 'debian', 'ubuntu', 'bash']);

// Upstream images whose program the tools cache builds, by the last segment of their repository:
// registry.k8s.io/sig-storage/{csi-snapshotter,snapshot-controller,csi-provisioner},
// registry.k8s.io/kubectl, bitnami/kubectl, jaegertracing/jaeger, jaegertracing/all-in-one.
const TOOL_IMAGES: Record<string, ProvidedProgram> = {
  'csi-snapshotter': 'csi-snapshotter',
  'snapshot-controller': 'snapshot-controller',
  'csi-provisioner': 'csi-provisioner',
  kubectl: 'kubectl',
  jaeger: 'jaeger',
  'all-in-one': 'jaeger',
};

/**
 * The repository of an image reference without registry defaults, tag or digest:
 * "docker.io/library/busybox:1.37" → "busybox", "quay.io/coreos/etcd:v3.6.16" → "quay.io/coreos/etcd".
 */
export function imageRepository(image: string): string {
  let ref = image.trim();
  const at = ref.indexOf('@');
  if (at >= 0) ref = ref.slice(0, at);
  const lastSlash = ref.lastIndexOf('/');
  const colon = ref.lastIndexOf(':');
  if (colon > lastSlash) ref = ref.slice(0, colon);
  for (const prefix of ['docker.io/library/', 'index.docker.io/library/', 'docker.io/', 'index.docker.io/']) {
    if (ref.startsWith(prefix)) return ref.slice(prefix.length);
  }
  return ref.startsWith('library/') ? ref.slice('library/'.length) : ref;
}

/** The table entry of an image, or undefined when this kubelet cannot "pull" it. */
export function lookupImage(image: string): ImageEntry | undefined {
  const repository = imageRepository(image);
  const name = repository.slice(repository.lastIndexOf('/') + 1);
  if (name === 'etcd-snapshot-driver') {
    return { kind: 'driver', programs: [name], entrypoint: [name], cmd: [], user: NONROOT };
  }
  // quay.io/coreos/etcd, gcr.io/etcd-development/etcd, registry.k8s.io/etcd, bitnami/etcd, …
  if (name === 'etcd') {
    return {
      kind: 'etcd',
      programs: ['etcd', 'etcdctl', 'etcdutl'],
      entrypoint: ['etcd'],
      cmd: [],
      user: ROOT,
    };
  }
  const tool = TOOL_IMAGES[name];
  if (tool) return { kind: 'tool', programs: [tool], entrypoint: [tool], cmd: [], user: ROOT };
  if (SHELL_IMAGES.has(name)) return { kind: 'shell', programs: [], entrypoint: [], cmd: ['sh'], user: ROOT };
  return undefined;
}

/** The message of an ErrImagePull for an image not in the table. */
export function unknownImageMessage(image: string): string {
  return (
    `Failed to pull image "${image}": the process kubelet has no program for repository ` +
    `"${imageRepository(image)}"; known images are *etcd-snapshot-driver, *etcd, the CSI sidecars, ` +
    `kubectl, jaeger and busybox/alpine/debian/ubuntu/bash (see docs/process-kubelet.md, "Image table")`
  );
}

/**
 * The argv a container runs, by Kubernetes' rules: `command` replaces the ENTRYPOINT and drops the
 * CMD; `args` replaces the CMD. Then the program is mapped to the one the kubelet provides.
 */
export function containerArgv(
  entry: ImageEntry,
  command: readonly string[] | undefined,
  args: readonly string[] | undefined,
): string[] {
  const hasCommand = command !== undefined && command.length > 0;
  const hasArgs = args !== undefined && args.length > 0;
  const argv = hasCommand
    ? [...command, ...(args ?? [])]
    : [...entry.entrypoint, ...(hasArgs ? args : entry.cmd)];
  if (argv.length === 0) return argv;
  return [mapProgram(entry, argv[0]!), ...argv.slice(1)];
}

// Where images keep their programs; a command naming a provided program there means ours.
const STANDARD_BIN_DIRS = new Set(['/usr/local/bin', '/usr/bin', '/bin', '/usr/local/sbin', '/usr/sbin']);

/**
 * Maps a program named by a container (or an exec probe) to its path inside the container:
 * `etcdctl`, `/usr/local/bin/etcd` … → CONTAINER_BIN_DIR/…; any path ending in one of the image's
 * own programs (`/csi-snapshotter`, `/app/bin/etcd-snapshot-driver`) too. Anything else runs as
 * named (host programs such as sh, sleep, cat).
 */
export function mapProgram(entry: Pick<ImageEntry, 'programs'>, program: string): string {
  const slash = program.lastIndexOf('/');
  const base = program.slice(slash + 1);
  const dir = slash > 0 ? program.slice(0, slash) : slash === 0 ? '/' : '';
  if (!(PROVIDED_PROGRAMS as readonly string[]).includes(base)) return program;
  const ownProgram = (entry.programs as readonly string[]).includes(base);
  if (dir === '' || STANDARD_BIN_DIRS.has(dir) || ownProgram) return `${CONTAINER_BIN_DIR}/${base}`;
  return program;
}
