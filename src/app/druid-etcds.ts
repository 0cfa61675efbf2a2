// etcd-druid's `Etcd` resources for discovery, whether or not the CRD is installed yet. Served at
// start: the informer starts with the others. Not served: the API group is looked up again every
// interval (discovery needs no RBAC), and once it is served the informer starts and discovery's
// store fills, without a restart.
import { BehaviorSubject, type Observable } from 'rxjs';
import { DRUID_ETCD, type DruidEtcd } from '../etcd/discovery.ts';
import { discoverServedVersion } from '../informers/discovery.ts';
import type { InformerFactory } from '../informers/informer-factory.ts';
import type { KubeClient } from '../informers/kube-client.ts';
import { LateStore } from '../informers/late-store.ts';
import type { ResourceDefinition } from '../informers/resources.ts';
import type { Logger } from '../telemetry/logger.ts';

/** How often the driver looks for the etcd-druid CRD while it is not installed. */
export const DRUID_CRD_POLL_MS = 30_000;

export interface DruidEtcds {
  /** Empty until the CRD is served; discovery reads it. */
  readonly store: LateStore<DruidEtcd>;
  /**
   * For the controllers' cache-sync wait: the informer's while it is attached; true while the CRD
   * is not served (there is nothing to list). A late attach may read a half-listed store, which
   * only makes discovery fall through to its next method.
   */
  readonly synced$: Observable<boolean>;
  readonly hasSynced: boolean;
  readonly name: string;
  /** Stops looking for the CRD (the informer, once started, stops with the factory). */
  stop(): void;
}

export async function druidEtcds(
  factory: InformerFactory,
  client: KubeClient,
  options: { log: Logger; pollMs?: number; signal?: AbortSignal },
): Promise<DruidEtcds> {
  const store = new LateStore<DruidEtcd>();
  const synced = new BehaviorSubject(true);
  const attach = () => {
    const informer = factory.informerFor<DruidEtcd>({
      ...DRUID_ETCD,
      namespaced: true,
    } as ResourceDefinition<DruidEtcd>);
    store.attach(informer.store);
    informer.synced$.subscribe((value) => synced.next(value));
  };
  const name = `${DRUID_ETCD.plural}.${DRUID_ETCD.group}`;
  const served = (): DruidEtcds => ({
    store,
    stop,
    synced$: synced.asObservable(),
    get hasSynced() {
      return synced.value;
    },
    name,
  });
  let timer: NodeJS.Timeout | undefined;
  let stopped = false;
  const stop = () => {
    stopped = true;
    clearTimeout(timer);
  };
  if (await discoverServedVersion(client, DRUID_ETCD.group, [DRUID_ETCD.version], options.signal)) {
    attach();
    return served();
  }
  const look = async () => {
    try {
      if (await discoverServedVersion(client, DRUID_ETCD.group, [DRUID_ETCD.version])) {
        if (stopped) return;
        attach();
        options.log.info(
          { component: 'informers', resource: `${DRUID_ETCD.plural}.${DRUID_ETCD.group}` },
          'etcd-druid Etcd CRD is served now; discovery reads Etcd resources',
        );
        return;
      }
    } catch (err) {
      // The API server is down or refusing: look again next time.
      options.log.debug({ component: 'informers', err }, 'looking for the etcd-druid CRD failed');
    }
    if (!stopped) schedule();
  };
  // unref: looking for the CRD never keeps a stopping process alive.
  const schedule = () => {
    timer = setTimeout(look, options.pollMs ?? DRUID_CRD_POLL_MS).unref();
  };
  schedule();
  return served();
}
