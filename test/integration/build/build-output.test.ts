// What `npm run build` emits is what the image runs: compiled modules plus the .proto files they
// load at run time. Builds into a temporary directory and runs the compiled CLI from there.
import { execFile } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, describe, expect, it } from 'vitest';
import { PROJECT_ROOT } from '../../harness/tools.ts';

const exec = promisify(execFile);
// Inside the project, so that the compiled modules resolve node_modules as dist/ does.
mkdirSync(join(PROJECT_ROOT, '.tmp'), { recursive: true });
const out = mkdtempSync(join(PROJECT_ROOT, '.tmp', 'build-output-'));
afterAll(() => rmSync(out, { recursive: true, force: true }));

describe('npm run build', () => {
  it('emits JavaScript and the run-time .proto files, and the compiled CLI runs', async () => {
    const bin = join(PROJECT_ROOT, 'node_modules/.bin');
    await exec(join(bin, 'tsc'), ['-p', 'tsconfig.build.json', '--outDir', out], { cwd: PROJECT_ROOT });
    await exec(join(bin, 'node'), ['hack/copy-build-assets.ts', out], { cwd: PROJECT_ROOT });
    expect(existsSync(join(out, 'main.js'))).toBe(true);
    expect(existsSync(join(out, 'csi/proto/csi.proto'))).toBe(true);
    const { stdout } = await exec(join(bin, 'node'), [join(out, 'main.js'), '--help']);
    expect(stdout).toContain('Usage: etcd-snapshot-driver');
    // The compiled CSI module finds its proto beside itself.
    const probe = `import(${JSON.stringify(join(out, 'csi/proto.js'))}).then((m) => console.log(Object.keys(m.csiServiceDefinitions()).join(',')))`;
    const loaded = await exec(join(bin, 'node'), ['--input-type=module', '-e', probe]);
    expect(loaded.stdout.trim()).toBe('Identity,Controller,GroupController,Node');
  }, 240_000);
});
