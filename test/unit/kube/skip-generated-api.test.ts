// The driver's KubeConfig without client-node's generated API: in a fresh process (the hook
// changes how modules resolve, so not in the test's own), the driver's kubeconfig loader still
// reads a kubeconfig and applies its credentials, and only makeApiClient — which the driver
// never calls — is refused, naming why.
import { execFile } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { isGeneratedApiImport } from '../../../src/kube/skip-generated-api.ts';

const run = promisify(execFile);
const SRC = join(import.meta.dirname, '../../../src');

const KUBECONFIG = `apiVersion: v1
kind: Config
clusters: [{ name: c, cluster: { server: 'https://127.0.0.1:6443', insecure-skip-tls-verify: true } }]
users: [{ name: u, user: { token: secret-token } }]
contexts: [{ name: x, context: { cluster: c, user: u } }]
current-context: x
`;

async function inFreshProcess(skip: boolean): Promise<Record<string, unknown>> {
  const dir = mkdtempSync(join(tmpdir(), 'skip-generated-api-'));
  const kubeconfig = join(dir, 'kubeconfig');
  writeFileSync(kubeconfig, KUBECONFIG);
  const script = `
    ${skip ? `(await import(${JSON.stringify(join(SRC, 'kube/skip-generated-api.ts'))})).skipClientNodeGeneratedApi();` : ''}
    const { loadKubeConfig } = await import(${JSON.stringify(join(SRC, 'kube/kube-config.ts'))});
    const kc = loadKubeConfig(${JSON.stringify(kubeconfig)});
    const options = { headers: {} };
    await kc.applyToHTTPSOptions(options);
    let makeApiClient = 'works';
    try { kc.makeApiClient(class { constructor() {} }); } catch (err) { makeApiClient = err.message; }
    console.log(JSON.stringify({ server: kc.getCurrentCluster().server, auth: options.headers.Authorization, makeApiClient }));
  `;
  const { stdout } = await run(process.execPath, ['--input-type=module', '-e', script]);
  return JSON.parse(stdout.trim());
}

describe('skipClientNodeGeneratedApi', () => {
  it('matches only config.js importing the generated API', () => {
    const config = 'file:///app/node_modules/@kubernetes/client-node/dist/config.js';
    expect(isGeneratedApiImport('./gen/index.js', config)).toBe(true);
    expect(
      isGeneratedApiImport(
        './gen/index.js',
        'file:///app/node_modules/@kubernetes/client-node/dist/index.js',
      ),
    ).toBe(false);
    expect(isGeneratedApiImport('./gen/rxjsStub.js', config)).toBe(false);
    expect(isGeneratedApiImport('./gen/index.js', undefined)).toBe(false);
  });

  it('loads a kubeconfig and applies its token without the generated API; makeApiClient is refused', async () => {
    const skipped = await inFreshProcess(true);
    expect(skipped).toMatchObject({ server: 'https://127.0.0.1:6443', auth: 'Bearer secret-token' });
    expect(skipped.makeApiClient).toMatch(/without its generated API/);
    // Without the hook the same loader has the generated API (makeApiClient gets past it).
    const whole = await inFreshProcess(false);
    expect(whole).toMatchObject({ server: 'https://127.0.0.1:6443', auth: 'Bearer secret-token' });
    expect(whole.makeApiClient).not.toMatch(/without its generated API/);
  });
});
