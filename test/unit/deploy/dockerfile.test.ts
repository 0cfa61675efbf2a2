// No Docker engine runs here, so the image is checked by what can be read: the Dockerfile's
// facts against the project's own pins, and the process kubelet's image table against the image
// the manifests name (the local cluster runs "the image" through that table).
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { lookupImage } from '../../harness/kubelet/image-table.ts';
import { PROJECT_ROOT } from '../../harness/tools.ts';

const dockerfile = readFileSync(join(PROJECT_ROOT, 'Dockerfile'), 'utf8');
const packageJson = JSON.parse(readFileSync(join(PROJECT_ROOT, 'package.json'), 'utf8')) as {
  devDependencies: Record<string, string>;
};

/** The default of a global ARG (`ARG NAME=value`). */
function argDefault(name: string): string {
  const match = new RegExp(`^ARG ${name}=(\\S+)$`, 'm').exec(dockerfile);
  if (!match) throw new Error(`Dockerfile has no "ARG ${name}=…" line`);
  return match[1]!;
}

/** The FROM lines as [image, stage name]. */
function stages(): { image: string; name: string | undefined }[] {
  return [...dockerfile.matchAll(/^FROM\s+(\S+)(?:\s+AS\s+(\S+))?\s*$/gim)].map((m) => ({
    image: m[1]!,
    name: m[2],
  }));
}

/** Instructions of the last stage (the runtime image). */
function runtimeStage(): string {
  const lastFrom = [...dockerfile.matchAll(/^FROM\s/gm)].at(-1)!.index;
  return dockerfile.slice(lastFrom);
}

describe('Dockerfile', () => {
  it('builds and runs on the Node of package.json (the node devDependency every test ran on)', () => {
    const nodeVersion = argDefault('NODE_VERSION');
    expect(nodeVersion).toBe(packageJson.devDependencies.node);
    const nodeStages = stages().filter((s) => s.image.startsWith('node:'));
    expect(nodeStages.length).toBeGreaterThanOrEqual(2);
    for (const stage of nodeStages) expect(stage.image).toBe(`node:\${NODE_VERSION}-bookworm-slim`);
    // The major is what makes it the same LTS line.
    expect(nodeVersion.split('.')[0]).toBe(packageJson.devDependencies.node!.split('.')[0]);
  });

  it('is multi-stage and runs as a non-root user', () => {
    expect(stages().length).toBeGreaterThanOrEqual(3);
    const user = /^USER\s+(\d+)(?::(\d+))?\s*$/m.exec(runtimeStage());
    expect(user, 'the runtime stage sets a numeric USER').not.toBeNull();
    expect(Number(user![1])).toBe(65532);
    expect(Number(user![2])).toBe(65532);
  });

  it('copies etcdutl from the official etcd image of the version hack/tools/etcd/go.mod pins', () => {
    const goMod = readFileSync(join(PROJECT_ROOT, 'hack/tools/etcd/go.mod'), 'utf8');
    const pinned = /go\.etcd\.io\/etcd\/etcdutl\/v3 (v\d+\.\d+\.\d+)/.exec(goMod)?.[1];
    expect(pinned).toMatch(/^v3\./);
    expect(argDefault('ETCD_VERSION')).toBe(pinned);
    expect(stages()).toContainEqual({ image: `gcr.io/etcd-development/etcd:\${ETCD_VERSION}`, name: 'etcd' });
    expect(runtimeStage()).toMatch(
      /^COPY --from=etcd \/usr\/local\/bin\/etcdutl \/usr\/local\/bin\/etcdutl$/m,
    );
  });

  it('holds the output of `npm run build` (with its .proto assets) and production dependencies only', () => {
    expect(dockerfile).toMatch(/^RUN npm run build$/m);
    // Every project file the build script runs (hack/copy-build-assets.ts copies the .proto files
    // tsc does not) is in the build stage.
    const build = (packageJson as unknown as { scripts: Record<string, string> }).scripts.build!;
    const scripts = build.match(/hack\/[\w./-]+/g) ?? [];
    expect(scripts.length).toBeGreaterThan(0);
    for (const script of scripts) expect(dockerfile).toContain(`COPY ${script} ./hack/`);
    expect(dockerfile).toMatch(/npm ci --omit=dev/);
    const runtime = runtimeStage();
    expect(runtime).toMatch(/^COPY --from=build \/src\/dist \.\/dist$/m);
    expect(runtime).toMatch(/^COPY --from=deps \/app\/node_modules \.\/node_modules$/m);
  });

  it("has the driver's CLI as ENTRYPOINT, launching dist/main.js", () => {
    const entrypoint = /^ENTRYPOINT\s+(\[.*\])\s*$/m.exec(runtimeStage());
    expect(entrypoint).not.toBeNull();
    expect(JSON.parse(entrypoint![1]!)).toEqual(['/usr/local/bin/etcd-snapshot-driver']);
    expect(runtimeStage()).toMatch(/exec node \/app\/dist\/main\.js "\$@"/);
  });

  it('sends only what the build copies to the build context', () => {
    const ignore = readFileSync(join(PROJECT_ROOT, '.dockerignore'), 'utf8')
      .split('\n')
      .filter((l) => l.trim() !== '' && !l.startsWith('#'));
    expect(ignore[0]).toBe('*');
    const copied = [...dockerfile.matchAll(/^COPY (?!--)(.+) \.\/\S*$/gm)].flatMap((m) => m[1]!.split(/\s+/));
    expect(copied).toContain('hack/copy-build-assets.ts');
    for (const path of copied) expect(ignore).toContain(path === 'src' ? '!src/**' : `!${path}`);
  });
});

describe('image names', () => {
  it("the manifests' driver image runs the driver's CLI in the process kubelet, as ENTRYPOINT and user of the Dockerfile", () => {
    const kustomization = readFileSync(join(PROJECT_ROOT, 'deploy/base/kustomization.yaml'), 'utf8');
    const image = /- name: etcd-snapshot-driver\n\s+newName: (\S+)\n\s+newTag: (\S+)/.exec(kustomization);
    expect(image).not.toBeNull();
    for (const name of [`${image![1]}:${image![2]}`, 'etcd-snapshot-driver:local']) {
      const entry = lookupImage(name);
      expect(entry?.kind, name).toBe('driver');
      expect(entry?.entrypoint).toEqual(['etcd-snapshot-driver']);
      expect(entry?.user).toEqual({ uid: 65532, gid: 65532 });
    }
  });
});
