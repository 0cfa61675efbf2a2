// The API calls every reconciler makes about its agent Jobs, as a port (JobApi) and its
// implementation over the shared KubeClient. Creates treat AlreadyExists as success (names are
// deterministic: it is the same Job, the caller checks its owner); deletes treat NotFound as
// success and take the pods with them in the background.
import type { SecretLike } from '../../etcd/credentials.ts';
import type { Job, Pod } from '../../informers/resources.ts';
import { namespacedKey } from '../../informers/store-types.ts';
import { isAlreadyExists, isNotFound } from '../../kube/api-errors.ts';
import type { JsonRequester, TextRequester } from '../../kube/custom-objects.ts';
import type { Logger } from '../../telemetry/logger.ts';

export interface JobApi {
  /** Creates the Job; resolves when one of that name exists already (the caller checks its owner). */
  createJob(job: Job, signal: AbortSignal): Promise<void>;
  /** The Job as the API server has it now (the cache may lag a create), or undefined. */
  getJob(namespace: string, name: string, signal: AbortSignal): Promise<Job | undefined>;
  /** Deletes the Job and (in the background) its pods; unknown → no-op. */
  deleteJob(namespace: string, name: string, signal: AbortSignal): Promise<void>;
  /** The Job's pods as the API server has them now. */
  listJobPods(namespace: string, jobName: string, signal: AbortSignal): Promise<Pod[]>;
  /** The last lines of a pod's log; '' when it cannot be read. */
  podLogTail(namespace: string, pod: string, lines: number, signal: AbortSignal): Promise<string>;
}

export interface KubeJobApiOptions {
  /** Reads pod logs (text, which the JSON client cannot); without it failures carry no log tail. */
  logs?: TextRequester;
  logger: Logger;
}

const enc = encodeURIComponent;
export const corePath = (namespace: string, plural: string) =>
  `/api/v1/namespaces/${enc(namespace)}/${plural}`;

/** A Secret by name, `undefined` when it does not exist (the pipeline's and the import's read). */
export async function readSecret(
  client: JsonRequester,
  namespace: string,
  name: string,
  signal: AbortSignal,
): Promise<SecretLike | undefined> {
  try {
    return await client.request<SecretLike>('GET', `${corePath(namespace, 'secrets')}/${enc(name)}`, {
      signal,
    });
  } catch (err) {
    if (isNotFound(err)) return undefined;
    throw err;
  }
}
const jobsPath = (namespace: string) => `/apis/batch/v1/namespaces/${enc(namespace)}/jobs`;

export function kubeJobApi(client: JsonRequester, options: KubeJobApiOptions): JobApi {
  return {
    async createJob(job, signal) {
      await client
        .request('POST', jobsPath(job.metadata?.namespace ?? ''), { body: job, signal })
        .catch((err: unknown) => {
          if (!isAlreadyExists(err)) throw err;
        });
    },
    async getJob(namespace, name, signal) {
      try {
        return await client.request<Job>('GET', `${jobsPath(namespace)}/${enc(name)}`, { signal });
      } catch (err) {
        if (isNotFound(err)) return undefined;
        throw err;
      }
    },
    async deleteJob(namespace, name, signal) {
      try {
        await client.request('DELETE', `${jobsPath(namespace)}/${enc(name)}`, {
          body: { apiVersion: 'v1', kind: 'DeleteOptions', propagationPolicy: 'Background' },
          signal,
        });
      } catch (err) {
        if (!isNotFound(err)) throw err;
      }
    },
    async listJobPods(namespace, jobName, signal) {
      const list = await client.request<{ items?: Pod[] }>(
        'GET',
        `${corePath(namespace, 'pods')}?labelSelector=${enc(`job-name=${jobName}`)}`,
        { signal },
      );
      return list.items ?? [];
    },
    async podLogTail(namespace, pod, lines, signal) {
      if (!options.logs) return '';
      try {
        return await options.logs.requestText(`${corePath(namespace, 'pods')}/${enc(pod)}/log`, {
          query: { tailLines: lines },
          signal,
        });
      } catch (err) {
        options.logger.debug({ err, pod }, 'cannot read the pod log tail');
        return '';
      }
    },
  };
}

/**
 * A Job by name from the cache, else from the API: a Job this replica just created may not be in
 * its cache yet, and creating it again would only meet AlreadyExists.
 */
export async function currentJob(
  jobs: { get(key: string): Job | undefined },
  api: Pick<JobApi, 'getJob'>,
  namespace: string,
  name: string,
  signal: AbortSignal,
): Promise<Job | undefined> {
  return jobs.get(namespacedKey(namespace, name)) ?? (await api.getJob(namespace, name, signal));
}
