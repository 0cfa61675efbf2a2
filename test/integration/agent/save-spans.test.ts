// The spans of one `agent save` against a real etcd, run in-process with a tracing that records
// them: one span per phase, each name said once, the stream's SHA-256 on the operation's span.
import { join } from 'node:path';
import type { Span } from '@opentelemetry/api';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runSave } from '../../../src/agent/save.ts';
import type { AgentTracing } from '../../../src/agent/tracing.ts';
import { type EtcdProcessCluster, startEtcdProcessCluster } from '../../harness/etcd-processes.ts';

interface RecordedSpan {
  name: string;
  attributes: Record<string, unknown>;
}

/** An AgentTracing that keeps each span's name and attributes, in the order the spans started. */
function recordingTracing(): AgentTracing & { spans: RecordedSpan[] } {
  const spans: RecordedSpan[] = [];
  return {
    spans,
    async span(name, attributes, fn) {
      const recorded: RecordedSpan = { name, attributes: { ...attributes } };
      spans.push(recorded);
      const span = {
        setAttributes(more: Record<string, unknown>) {
          Object.assign(recorded.attributes, more);
          return span;
        },
      };
      return fn(span as unknown as Span);
    },
    async shutdown() {},
  };
}

describe('agent save spans', () => {
  let cluster: EtcdProcessCluster;

  beforeAll(async () => {
    cluster = await startEtcdProcessCluster({ size: 1 });
  });
  afterAll(async () => {
    await cluster?.stop();
  });

  it('names each phase once and puts the checked SHA-256 on agent.save', async () => {
    const tracing = recordingTracing();
    const result = await runSave(
      {
        endpoints: cluster.endpoints,
        file: join(cluster.dir, 'snapshots', 'spans', 'snapshot.db'),
        snapshotId: 'snap-spans',
        dialTimeoutSeconds: 5,
      },
      { log: pino({ level: 'silent' }), tracing, etcdutl: null },
    );
    expect(tracing.spans.map((s) => s.name)).toEqual([
      'agent.save',
      'health',
      'stream',
      'check',
      'fsync',
      'rename',
    ]);
    expect(tracing.spans[0]?.attributes).toMatchObject({
      'snapshot.sha256': result.sha256,
      'snapshot.trailer_verified': true,
    });
  });
});
