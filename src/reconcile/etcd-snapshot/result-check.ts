// The Verify phase: a save's AgentResult must be complete and consistent before the record is
// marked Ready — a Ready snapshot without a checksum or revision could not be trusted at restore.
import type { AgentResult } from '../../agent/contract.ts';
import type { Reason } from '../../reasons/reasons.ts';

export type ResultCheck = { ok: true; result: AgentResult } | { ok: false; reason: Reason; message: string };

const SHA256 = /^[0-9a-f]{64}$/;

export function checkSaveResult(
  result: AgentResult | undefined,
  expected: { snapshotId: string; file: string },
): ResultCheck {
  const fail = (message: string): ResultCheck => ({ ok: false, reason: 'SNAPSHOT_STATUS_FAILED', message });
  if (!result) return fail('the save Job succeeded but left no result in its termination message');
  if (result.operation !== 'save') return fail(`the result is of operation "${result.operation}", not save`);
  if (!result.ok) return fail(`the save reported failure: ${result.error?.message ?? 'no message'}`);
  if (result.snapshotId !== undefined && result.snapshotId !== expected.snapshotId)
    return fail(`the result is for snapshot "${result.snapshotId}", not "${expected.snapshotId}"`);
  if (result.file !== undefined && result.file !== expected.file)
    return fail(`the result names file "${result.file}", not "${expected.file}"`);
  if (typeof result.sha256 !== 'string' || !SHA256.test(result.sha256))
    return fail(`the result has no valid sha256 (got ${JSON.stringify(result.sha256)})`);
  if (typeof result.sizeBytes !== 'number' || !Number.isInteger(result.sizeBytes) || result.sizeBytes <= 0)
    return fail(`the result's sizeBytes is ${JSON.stringify(result.sizeBytes)}; a snapshot is never empty`);
  // An empty etcd's snapshot has revision 0 (no key was ever written): valid, and restorable.
  if (typeof result.revision !== 'number' || !Number.isInteger(result.revision) || result.revision < 0)
    return fail(`the result's revision is ${JSON.stringify(result.revision)}`);
  return { ok: true, result };
}
