// `--import-from-store`: one key per store Secret (`<namespace>/<secret>`), synced every
// interval, in the style of k3s's reconcile of ETCDSnapshotFile objects from S3. A sync lists
// `<prefix>/<namespace>/` (catalog.ts reads and checks each manifest) and makes sure every
// complete copy has its EtcdSnapshot record (record-from-manifest.ts): created if absent,
// never duplicated (same name; no other record may hold its snapshot IDs), never overwriting a
// record that exists (a local record of the same name stays as it is). A record created but
// whose status write was lost gets it at the next sync. Bad manifests are reported (a log line
// and a Warning Event on the Secret) and skipped; a store that fails is reported and tried at
// the next interval — waiting is a requeue, not an error.

import { secretText } from '../../etcd/credentials.ts';
import { type CatalogCopy, readNamespaceCatalog } from '../../objectstore/catalog.ts';
import { parseStoreConfig, StoreConfigError } from '../../objectstore/config.ts';
import { type EtcdSnapshot, INDEX_SNAPSHOT_ID } from '../../records/etcd-snapshot.ts';
import type { ReconcileContext, ReconcileResult, Reconciler } from '../result.ts';
import type { StoreImportDeps } from './ports.ts';
import { type ImportContext, importedStatus, recordFromManifest } from './record-from-manifest.ts';

export const EVENT_IMPORT_FAILED = 'StoreImportFailed';
export const EVENT_COPY_REFUSED = 'StoreCopyRefused';

export interface SyncSummary {
  imported: number;
  present: number;
  /** Local records of the same name: never overwritten. */
  kept: number;
  refused: number;
}

type CopyOutcome = 'imported' | 'present' | 'kept' | { refused: string };

const bounded = (text: string) => (text.length > 400 ? `${text.slice(0, 400)}…` : text);

export class StoreImportReconciler implements Reconciler {
  readonly #deps: StoreImportDeps;
  /** The last summary per key (tests and the log). */
  readonly lastSync = new Map<string, SyncSummary>();

  constructor(deps: StoreImportDeps) {
    this.#deps = deps;
  }

  async reconcile(key: string, ctx: ReconcileContext): Promise<ReconcileResult> {
    const { api, options } = this.#deps;
    const again = { requeueAfter: options.intervalMs };
    const [namespace = '', secretName = ''] = key.split('/');
    const warn = async (reason: string, message: string) => {
      ctx.log.warn({ store_secret: key, reason }, message);
      await api.secretEvent(namespace, secretName, { type: 'Warning', reason, message }, ctx.signal);
    };

    const secret = await api.getSecret(namespace, secretName, ctx.signal);
    if (!secret) {
      ctx.log.warn({ store_secret: key }, 'store Secret does not exist; nothing imported');
      return again;
    }
    let config: ReturnType<typeof parseStoreConfig>;
    try {
      config = parseStoreConfig(secretText(secret));
    } catch (err) {
      if (!(err instanceof StoreConfigError)) throw err;
      await warn(EVENT_IMPORT_FAILED, `OBJECT_STORE_CONFIG_INVALID: Secret ${key}: ${err.message}`);
      return again;
    }

    const client = this.#deps.clients(config);
    let copies: CatalogCopy[];
    try {
      const catalog = await readNamespaceCatalog(client, config, namespace, { abortSignal: ctx.signal });
      copies = catalog.copies;
      for (const r of catalog.refused)
        await warn(EVENT_COPY_REFUSED, bounded(`s3://${config.bucket}/${r.key}: ${r.message}`));
      this.lastSync.set(key, { imported: 0, present: 0, kept: 0, refused: catalog.refused.length });
    } catch (err) {
      if (ctx.signal.aborted) throw err;
      const e = err as Error;
      await warn(
        EVENT_IMPORT_FAILED,
        bounded(`listing s3://${config.bucket}/${config.prefix} failed: ${e.name}: ${e.message}`),
      );
      return again;
    } finally {
      client.destroy();
    }

    const summary = this.lastSync.get(key)!;
    const importCtx: ImportContext = {
      driverName: options.driverName,
      secretName,
      bucket: config.bucket,
      prefix: config.prefix,
      storageClass: options.storageClass,
      createdBy: options.createdBy,
      now: (this.#deps.now ?? (() => new Date()))(),
    };
    for (const copy of copies) {
      const outcome = await this.#ensureRecord(copy, importCtx, ctx);
      if (typeof outcome === 'object') {
        summary.refused++;
        await warn(EVENT_COPY_REFUSED, bounded(`s3://${config.bucket}/${copy.key}: ${outcome.refused}`));
      } else summary[outcome]++;
    }
    ctx.log.info({ store_secret: key, ...summary }, 'store synced');
    return again;
  }

  async #ensureRecord(
    copy: CatalogCopy,
    importCtx: ImportContext,
    ctx: ReconcileContext,
  ): Promise<CopyOutcome> {
    const plan = recordFromManifest(copy.manifest, importCtx);
    if (plan.kind === 'refused') return { refused: plan.message };
    const body = plan.record;
    const recordKey = `${body.metadata?.namespace}/${body.metadata?.name}`;
    const cached = this.#deps.records.get(recordKey);
    if (cached && !cached.spec.imported) return 'kept';
    if (cached?.status?.phase) return 'present';
    // The same snapshot under another name would answer CSI calls twice.
    for (const member of body.spec.members) {
      const holder = this.#deps.records
        .byIndex(INDEX_SNAPSHOT_ID, member.snapshotId)
        .find((r) => `${r.metadata?.namespace}/${r.metadata?.name}` !== recordKey);
      if (holder)
        return {
          refused: `snapshot ID ${member.snapshotId} is already record ${holder.metadata?.namespace}/${holder.metadata?.name}'s`,
        };
    }
    ctx.assertOwner();
    const { record, created } = await this.#deps.api.createRecord(body, ctx.signal);
    if (!record.spec.imported) return 'kept';
    if (record.status?.phase) return 'present';
    ctx.assertOwner();
    const withStatus: EtcdSnapshot = { ...record, status: importedStatus(copy.manifest, importCtx) };
    await this.#deps.api.putStatus(withStatus, ctx.signal);
    ctx.log.info(
      { snapshot: recordKey, created, members: record.spec.members.length },
      'imported a remote copy as a Ready record',
    );
    return 'imported';
  }
}
