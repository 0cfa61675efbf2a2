// Every shell script under hack/ is shellcheck-clean, checked with a pinned shellcheck the test
// fetches itself (shellcheck-binary.ts), so a fresh CI machine runs it too.
import { execFile } from 'node:child_process';
import { mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { PROJECT_ROOT } from '../../harness/tools.ts';
import { ensureShellcheck, SHELLCHECK_VERSION } from './shellcheck-binary.ts';

const run = promisify(execFile);

function scripts(): string[] {
  return ['hack', 'hack/tools'].flatMap((dir) =>
    readdirSync(join(PROJECT_ROOT, dir))
      .filter((f) => f.endsWith('.sh'))
      .map((f) => `${dir}/${f}`),
  );
}

describe('shellcheck', () => {
  it(`is the pinned version (${SHELLCHECK_VERSION})`, async () => {
    const { stdout } = await run(await ensureShellcheck(), ['--version']);
    expect(stdout).toContain(`version: ${SHELLCHECK_VERSION}`);
  });

  it('finds hack/*.sh and hack/tools/*.sh clean', async () => {
    const files = scripts();
    expect(files).toEqual(expect.arrayContaining(['hack/kind-e2e.sh', 'hack/tools/build.sh']));
    // SC2329 ("function never invoked") is excluded: shellcheck 0.11 reports functions that only
    // a `trap` runs, such as every script's cleanup().
    const result = await run(await ensureShellcheck(), ['--external-sources', '--exclude=SC2329', ...files], {
      cwd: PROJECT_ROOT,
    }).then(
      () => ({ code: 0, out: '' }),
      (err: { code?: number; stdout?: string; stderr?: string }) => ({
        code: err.code ?? -1,
        out: `${err.stdout ?? ''}${err.stderr ?? ''}`,
      }),
    );
    expect(result.out).toBe('');
    expect(result.code).toBe(0);
  });

  it('reports a real finding (the check can fail)', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'shellcheck-'));
    try {
      writeFileSync(join(dir, 'bad.sh'), '#!/bin/sh\necho $1\n');
      const result = await run(await ensureShellcheck(), [join(dir, 'bad.sh')]).then(
        () => ({ code: 0, out: '' }),
        (err: { code?: number; stdout?: string }) => ({ code: err.code, out: err.stdout ?? '' }),
      );
      expect(result.code).toBe(1);
      expect(result.out).toContain('SC2086');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
