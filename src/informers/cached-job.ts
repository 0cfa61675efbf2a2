// What of a Job the informer cache keeps. The reconcilers read a cached Job's metadata (names,
// labels, annotations, owner references, uid, deletion), `spec.activeDeadlineSeconds` and its
// status conditions' type, status, reason and message — and never write a cached Job back. Every
// other field (the pod template: two thirds of an agent Job's JSON; the selector; the conditions'
// times) is dropped as each Job is decoded, and the conditions' words are shared across Jobs. A
// caller that wants the whole Job GETs it.
import type { Job } from './resources.ts';
import { StringPool } from './string-pool.ts';

// Condition types, reasons and messages and owner kinds come from the Job controller and this
// driver: a few dozen strings in all. 512 leaves room for unforeseen ones without growing freely.
const words = new StringPool(512);

type CachedCondition = { type: string; status: string; reason?: string; message?: string };

/** Trims a freshly decoded Job in place to what the reconcilers read (see the file comment). */
export function cachedJob(job: Job): Job {
  const deadline = job.spec?.activeDeadlineSeconds;
  // The type asks for a template; nothing reading the cache uses one.
  (job as { spec?: unknown }).spec = deadline === undefined ? {} : { activeDeadlineSeconds: deadline };
  const status = job.status;
  if (status !== undefined) {
    const kept: NonNullable<Job['status']> = {};
    if (status.conditions !== undefined) kept.conditions = status.conditions.map(cachedCondition);
    if (status.active !== undefined) kept.active = status.active;
    if (status.succeeded !== undefined) kept.succeeded = status.succeeded;
    if (status.failed !== undefined) kept.failed = status.failed;
    job.status = kept;
  }
  for (const owner of job.metadata?.ownerReferences ?? []) {
    owner.apiVersion = words.intern(owner.apiVersion);
    owner.kind = words.intern(owner.kind);
  }
  return job;
}

function cachedCondition(c: CachedCondition): CachedCondition {
  const kept: CachedCondition = { type: words.intern(c.type), status: words.intern(c.status) };
  if (c.reason !== undefined) kept.reason = words.intern(c.reason);
  if (c.message !== undefined) kept.message = words.intern(c.message);
  return kept;
}
