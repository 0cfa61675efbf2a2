// No log line carries a request value of megabytes (src/telemetry/log-bounds.ts), and bounding a
// line never undoes the scrubbing of secrets (the scrub sees the whole line first).
import { Writable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { boundForLog, boundLine, MAX_LOG_LINE_BYTES } from '../../../src/telemetry/log-bounds.ts';
import { createLogger, registerSecret } from '../../../src/telemetry/logger.ts';

function capture(): { log: ReturnType<typeof createLogger>; lines: () => string[] } {
  const chunks: string[] = [];
  const destination = new Writable({
    write(chunk: Buffer, _e, done) {
      chunks.push(chunk.toString('utf8'));
      done();
    },
  });
  return {
    log: createLogger({ level: 'debug', format: 'json', destination }),
    lines: () =>
      chunks
        .join('')
        .split('\n')
        .filter((l) => l !== ''),
  };
}

describe('log bounds', () => {
  it('cut a 3 MiB request field to a line of at most 16 KiB that is still JSON', () => {
    const { log, lines } = capture();
    log.info({ request: { volume_id: 'v'.repeat(3 * 1024 * 1024) } }, 'call');
    const [line] = lines();
    expect(Buffer.byteLength(line!)).toBeLessThanOrEqual(MAX_LOG_LINE_BYTES);
    const parsed = JSON.parse(line!) as { message: string; request: { volume_id: string } };
    expect(parsed.message).toBe('call');
    expect(parsed.request.volume_id).toMatch(/^v{256}…\(3145728 bytes\)$/);
  });

  it('keep only the head of a line whose many fields are still too long', () => {
    const many = Object.fromEntries(Array.from({ length: 200 }, (_, i) => [`f${i}`, 'x'.repeat(200)]));
    const huge = JSON.stringify({ level: 'info', message: 'm', nested: [many, many, many, many, many] });
    const line = boundLine(`${huge}\n`);
    expect(Buffer.byteLength(line)).toBeLessThanOrEqual(MAX_LOG_LINE_BYTES);
    expect(line.endsWith('\n')).toBe(true);
    expect(JSON.parse(line)).toMatchObject({ level: 'info', message: 'm' });
  });

  it('leave ordinary lines alone', () => {
    const line = '{"level":"info","message":"ok"}\n';
    expect(boundLine(line)).toBe(line);
    expect(boundForLog({ a: 'short', n: 1, list: [1, 2] })).toEqual({ a: 'short', n: 1, list: [1, 2] });
    expect(boundForLog(Array.from({ length: 20 }, (_, i) => i))).toHaveLength(17);
  });

  it('scrub a registered secret before cutting, so a cut never shows part of it', () => {
    const secret = 'S3cr3t-value-never-logged-0123456789';
    registerSecret(secret);
    const { log, lines } = capture();
    // The cut of this field falls in the middle of the secret.
    log.info({ field: `${'a'.repeat(240)}${secret}`, pad: 'p'.repeat(64 * 1024) }, 'call');
    const [line] = lines();
    expect(Buffer.byteLength(line!)).toBeLessThanOrEqual(MAX_LOG_LINE_BYTES);
    expect(line).not.toContain('S3cr3t');
  });

  it('scrub the newest secrets however many were registered before (rotated keys)', () => {
    for (let i = 0; i < 2000; i++) registerSecret(`old-rotated-secret-${i}`);
    const current = 'the-current-password-after-rotation';
    registerSecret(current);
    const { log, lines } = capture();
    log.info({ detail: `auth with ${current}` }, 'call');
    expect(lines()[0]).not.toContain(current);
  });
});
