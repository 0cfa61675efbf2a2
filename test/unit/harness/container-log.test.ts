import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  ContainerLogWriter,
  type LogRecord,
  logTail,
  parseLogRecord,
  parseLogText,
  renderRecords,
  selectRecords,
} from '../../harness/kubelet/container-log.ts';
import { parseLogQuery } from '../../harness/kubelet/log-server.ts';

const record = (time: string, content: string, partial = false): LogRecord => ({
  time,
  stream: 'stdout',
  partial,
  content,
});

describe('ContainerLogWriter', () => {
  it('writes CRI records: one per line, stream and timestamp kept, unterminated output as partial', async () => {
    const file = join(mkdtempSync(join(tmpdir(), 'log-')), '0.log');
    const writer = new ContainerLogWriter(file);
    writer.write('stdout', Buffer.from('hel'));
    writer.write('stdout', Buffer.from('lo\nwor'));
    writer.write('stderr', Buffer.from('oops\n'));
    writer.write('stdout', Buffer.from('ld'));
    await writer.close();
    const { records } = parseLogText(readFileSync(file));
    expect(records.map((r) => [r.stream, r.partial, r.content])).toEqual([
      ['stdout', false, 'hello'],
      ['stderr', false, 'oops'],
      ['stdout', true, 'world'],
    ]);
    expect(records[0]?.time).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{9}Z$/);
    expect(renderRecords(records, false)).toBe('hello\noops\nworld');
  });
});

describe('parsing', () => {
  it('parses a record and rejects garbage', () => {
    expect(parseLogRecord('2030-01-01T00:00:00.000000000Z stderr F a b c')).toEqual({
      time: '2030-01-01T00:00:00.000000000Z',
      stream: 'stderr',
      partial: false,
      content: 'a b c',
    });
    expect(parseLogRecord('2030-01-01T00:00:00Z stdout F ')?.content).toBe('');
    expect(parseLogRecord('nonsense')).toBeUndefined();
    expect(parseLogRecord('t stdin F x')).toBeUndefined();
  });

  it('leaves a record still being written for the next read', () => {
    const text = 't1 stdout F one\nt2 stdout F tw';
    const { records, consumed } = parseLogText(text);
    expect(records.map((r) => r.content)).toEqual(['one']);
    expect(consumed).toBe('t1 stdout F one\n'.length);
  });
});

describe('selectRecords and renderRecords', () => {
  const records = [
    record('2030-01-01T00:00:01.000000000Z', 'a'),
    record('2030-01-01T00:00:02.000000000Z', 'b'),
    record('2030-01-01T00:00:03.000000000Z', 'c'),
  ];

  it('takes the last N records', () => {
    expect(selectRecords(records, { tailLines: 2 }).map((r) => r.content)).toEqual(['b', 'c']);
    expect(selectRecords(records, { tailLines: 0 })).toEqual([]);
    expect(selectRecords(records, { tailLines: 10 })).toHaveLength(3);
  });

  it('takes records since a time, then the tail of those', () => {
    const since = new Date('2030-01-01T00:00:02Z');
    expect(selectRecords(records, { since }).map((r) => r.content)).toEqual(['b', 'c']);
    expect(selectRecords(records, { since, tailLines: 1 }).map((r) => r.content)).toEqual(['c']);
  });

  it('prefixes timestamps on request', () => {
    expect(renderRecords(records.slice(0, 1), true)).toBe('2030-01-01T00:00:01.000000000Z a\n');
  });
});

describe('logTail', () => {
  it('keeps the last 80 lines and at most 2048 bytes, as the kubelet does for termination messages', () => {
    const lines = Array.from({ length: 100 }, (_, i) => `t stdout F line ${i}\n`).join('');
    const tail = logTail(lines);
    expect(tail.startsWith('line 20\n')).toBe(true);
    const long = Array.from({ length: 10 }, () => `t stdout F ${'x'.repeat(500)}\n`).join('');
    expect(Buffer.byteLength(logTail(long))).toBe(2048);
  });
});

describe('parseLogQuery', () => {
  it('reads the pods/log options the apiserver passes on', () => {
    const q = parseLogQuery(
      new URLSearchParams(
        'follow=true&tailLines=5&limitBytes=100&timestamps=true&previous=false&sinceSeconds=60',
      ),
    );
    expect(q).toMatchObject({
      follow: true,
      tailLines: 5,
      limitBytes: 100,
      timestamps: true,
      previous: false,
    });
    expect(Date.now() - (q.since?.getTime() ?? 0)).toBeGreaterThanOrEqual(60_000);
    expect(parseLogQuery(new URLSearchParams('sinceTime=2030-01-01T00:00:00Z')).since?.toISOString()).toBe(
      '2030-01-01T00:00:00.000Z',
    );
    expect(() => parseLogQuery(new URLSearchParams('tailLines=x'))).toThrow('invalid tailLines');
  });
});
