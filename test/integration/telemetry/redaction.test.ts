// Secrets never reach the logs: a real TLS private key (made by openssl) and a password pushed
// through a failing CSI call on the real gRPC server — in the request's secrets, in an error's
// message, cause and properties, in a Secret-shaped object, in a free-form message — and every
// line of output, JSON and text, searched for them.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createCsiClient } from '../../../src/csi/csi-client.ts';
import type { CallContext } from '../../../src/csi/handler.ts';
import { startCsiServer } from '../../../src/csi/server.ts';
import { createLogger, registerSecret } from '../../../src/telemetry/logger.ts';

const PASSWORD = 'Tr0ub4dor&3-etcd-root';
let dir: string;
let rsaKey: string;
let ecKey: string;

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'esd-redaction-'));
  rsaKey = execFileSync('openssl', ['genpkey', '-algorithm', 'RSA', '-pkeyopt', 'rsa_keygen_bits:2048'], {
    encoding: 'utf8',
  });
  ecKey = execFileSync('openssl', ['ecparam', '-name', 'prime256v1', '-genkey', '-noout'], {
    encoding: 'utf8',
  });
  expect(rsaKey).toMatch(/^-----BEGIN PRIVATE KEY-----/);
  expect(ecKey).toMatch(/^-----BEGIN EC PRIVATE KEY-----/);
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** Every fragment of a secret that would betray it: its base64 body lines, the password. */
function needles(): string[] {
  const body = (pem: string) =>
    pem
      .split('\n')
      .filter((l) => l !== '' && !l.startsWith('-----'))
      .map((l) => l.slice(0, 40));
  return [
    PASSWORD,
    ...body(rsaKey),
    ...body(ecKey),
    Buffer.from(rsaKey).toString('base64').slice(0, 40),
    Buffer.from(PASSWORD).toString('base64'),
  ];
}

function capture(format: 'json' | 'text') {
  const out = new PassThrough();
  let text = '';
  out.on('data', (c: Buffer) => {
    text += c.toString('utf8');
  });
  return { log: createLogger({ level: 'debug', format, destination: out }), output: () => text };
}

describe.each(['json', 'text'] as const)('redaction (%s)', (format) => {
  it('a failing CSI call carrying a TLS key and a password leaves neither in any output', async () => {
    const { log, output } = capture(format);
    const endpoint = `unix://${join(dir, `csi-${format}.sock`)}`;
    registerSecret(PASSWORD);
    const server = await startCsiServer({
      endpoints: [endpoint],
      log,
      services: {
        Controller: {
          CreateSnapshot: async (request: { secrets: Record<string, string> }, call: CallContext) => {
            const secrets = request.secrets;
            // What credential code does: log what it resolved, then fail on a bad key.
            call.log.debug(
              { credentials: { username: 'root', password: secrets.password } },
              'credentials resolved',
            );
            const secretObject = {
              kind: 'Secret',
              metadata: { name: 'etcd-client' },
              data: { 'tls.key': Buffer.from(secrets['tls.key'] ?? '').toString('base64') },
            };
            call.log.info({ secret: secretObject }, 'read credentials secret');
            call.log.warn(`etcd said: authentication failed for root:${secrets.password}`);
            const cause = new Error(`cannot parse key ${secrets['tls.key']}`);
            const err = Object.assign(new Error(`tls: bad client key:\n${ecKey}`, { cause }), {
              request: {
                endpoints: ['https://etcd-0:2379'],
                auth: { password: secrets.password, 'tls.key': secrets['tls.key'] },
              },
            });
            throw err;
          },
        },
      },
    });
    const client = createCsiClient(endpoint);
    try {
      const failure = await client.Controller.CreateSnapshot!({
        name: 'snap-1',
        source_volume_id: 'db/etcd-data-0',
        secrets: { password: PASSWORD, 'tls.key': rsaKey },
      }).then(
        () => undefined,
        (e: Error & { details?: string }) => e,
      );
      expect(failure?.message).toMatch(/INTERNAL/);
      for (const needle of needles()) expect(failure?.details ?? '').not.toContain(needle);
    } finally {
      client.close();
      await server.stop(1_000);
    }
    const all = output();
    // The flow really was logged: the failure, the resolved credentials, the Secret.
    expect(all).toContain('credentials resolved');
    expect(all).toContain('read credentials secret');
    expect(all).toContain('authentication failed for root:');
    expect(all).toContain('tls: bad client key');
    expect(all).toContain('[REDACTED]');
    for (const needle of needles()) expect(all, `output contains ${needle}`).not.toContain(needle);
  });
});
