// The pods bound to this node, one PodWorker each (by UID), and what they share: the IP allocator
// and the node's hosts file, rewritten whenever the set of running pods changes.
import type { V1Pod } from '@kubernetes/client-node';
import { renderHostsFile, writeInPlace } from './hosts-file.ts';
import { PodWorker, type PodWorkerDeps } from './pod-worker.ts';

export class PodManager {
  readonly #deps: PodWorkerDeps;
  readonly #workers = new Map<string, PodWorker>();
  #hostsTimer?: NodeJS.Timeout;
  #stopping = false;

  constructor(deps: Omit<PodWorkerDeps, 'hostsChanged'>) {
    this.#deps = { ...deps, hostsChanged: () => this.#scheduleHostsWrite() };
    writeInPlace(deps.hostsFile, renderHostsFile([]));
  }

  upsert(pod: V1Pod): void {
    if (this.#stopping) return;
    const uid = pod.metadata?.uid;
    if (!uid || pod.spec?.nodeName !== this.#deps.config.nodeName) return;
    let worker = this.#workers.get(uid);
    if (!worker) {
      worker = new PodWorker(pod, this.#deps);
      this.#workers.set(uid, worker);
    }
    worker.update(pod);
  }

  delete(pod: V1Pod): void {
    const uid = pod.metadata?.uid;
    if (!uid) return;
    const worker = this.#workers.get(uid);
    if (!worker) return;
    this.#workers.delete(uid);
    worker.remove(pod);
  }

  /** The worker of a pod by name (the newest, when a pod of that name was recreated). */
  find(namespace: string, name: string): PodWorker | undefined {
    let found: PodWorker | undefined;
    for (const worker of this.#workers.values()) {
      const meta = worker.pod.metadata;
      if (meta?.namespace === namespace && meta.name === name) found = worker;
    }
    return found;
  }

  /** Kills every pod's processes (SIGTERM, then SIGKILL after graceMs). */
  async shutdown(graceMs: number): Promise<void> {
    this.#stopping = true;
    if (this.#hostsTimer) clearTimeout(this.#hostsTimer);
    await Promise.all([...this.#workers.values()].map((w) => w.shutdown(graceMs)));
  }

  #scheduleHostsWrite(): void {
    if (this.#hostsTimer) return;
    // Coalesces the bursts of a StatefulSet starting; short enough for peers resolving each other.
    this.#hostsTimer = setTimeout(() => {
      this.#hostsTimer = undefined;
      const entries = [...this.#workers.values()].flatMap((w) => {
        const entry = w.hostsEntry();
        return entry ? [entry] : [];
      });
      writeInPlace(this.#deps.hostsFile, renderHostsFile(entries));
    }, 20);
  }
}
