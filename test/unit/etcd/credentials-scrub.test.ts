// Credentials loaded from a Secret or a mounted directory are registered with the logger, so a
// line that carries them — in any field, in a message, as base64 — shows [REDACTED] instead,
// even where no field name or PEM pattern would give them away.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { credentialsFromDir, credentialsFromSecret } from '../../../src/etcd/credentials.ts';
import { createLogger } from '../../../src/telemetry/logger.ts';

function capture(): { log: ReturnType<typeof createLogger>; text: () => string } {
  const chunks: string[] = [];
  const destination = new Writable({
    write(chunk: Buffer, _e, done) {
      chunks.push(chunk.toString('utf8'));
      done();
    },
  });
  return { log: createLogger({ level: 'debug', format: 'json', destination }), text: () => chunks.join('') };
}

const b64 = (s: string) => Buffer.from(s).toString('base64');

describe('loaded credentials are scrubbed from every log line', () => {
  it('a basic-auth password read from a Secret, raw and as base64', () => {
    const password = 'pw-from-secret-Zq81x';
    credentialsFromSecret({
      metadata: { name: 'etcd-user', namespace: 'db' },
      type: 'kubernetes.io/basic-auth',
      data: { username: b64('root'), password: b64(password) },
    });
    const { log, text } = capture();
    log.warn(
      { detail: `auth failed for root:${password}`, body: { data: b64(password) } },
      `login ${password}`,
    );
    expect(text()).not.toContain(password);
    expect(text()).not.toContain(b64(password));
    expect(text()).toContain('[REDACTED]');
  });

  it('a client key read from a mounted directory, even without its PEM armour', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'creds-'));
    try {
      const key = 'not-a-pem-but-a-key-Vb7r2K9';
      writeFileSync(join(dir, 'tls.crt'), 'CERT');
      writeFileSync(join(dir, 'tls.key'), key);
      await credentialsFromDir(dir);
      const { log, text } = capture();
      log.error({ cause: { note: `key=${key}` } }, 'handshake failed');
      expect(text()).not.toContain(key);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
