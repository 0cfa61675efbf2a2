// A minimal etcd v3 client for one endpoint on @grpc/grpc-js: the calls the driver makes
// (Status, MemberList, Snapshot, Authenticate, and Range/Put for tests and benchmarks); the
// Snapshot stream itself on node:http2 (snapshot-http2.ts). Every call
// takes an AbortSignal and a deadline; failures become EtcdError with a catalog reason
// (grpc-errors.ts). One client = one member: etcd's simple auth tokens are member-local, so the
// token is fetched per client (member-token.ts), and the snapshot comes from exactly the member
// asked. How the member is dialled (TLS, the server name) is dial-settings.ts.
import { Client, Metadata, type ServiceError, status } from '@grpc/grpc-js';
import { describeCredentials, type EtcdCredentials } from '../credentials.ts';
import { EtcdError } from '../errors.ts';
import { type EtcdCallObserver, observeCall } from './call-observer.ts';
import { type DialSettings, dialSettings } from './dial-settings.ts';
import { abortReason, toEtcdError } from './grpc-errors.ts';
import { prefixEnd } from './keys.ts';
import { MemberToken } from './member-token.ts';
import { type Header, type MemberInfo, type MemberStatus, memberIdHex } from './members.ts';
import { etcdMethod } from './proto.ts';
import type { SnapshotMessage } from './snapshot-frames.ts';
import { snapshotOverHttp2 } from './snapshot-http2.ts';
import type { TlsContext } from './tls-failure.ts';

export interface EtcdCallOptions {
  signal?: AbortSignal;
  /** Absolute deadline (ms since the epoch); the client's default call timeout applies when unset. */
  deadline?: number;
}

export interface EtcdClientOptions {
  credentials: EtcdCredentials;
  /** How long the first connection may take (ms); default 5000. */
  dialTimeoutMs?: number;
  /** Deadline of a unary call without one of its own (ms); default 10000. */
  callTimeoutMs?: number;
  /** Told of every unary request (Authenticate and the connecting Status included), for metrics. */
  onCall?: EtcdCallObserver;
}

export class EtcdClient {
  readonly endpoint: string;
  readonly #client: Client;
  readonly #credentials: EtcdCredentials;
  readonly #dialTimeoutMs: number;
  readonly #callTimeoutMs: number;
  readonly #onCall: EtcdCallObserver | undefined;
  readonly #tls: TlsContext;
  /** How the Snapshot stream dials the member (node:http2, snapshot-http2.ts). */
  readonly #snapshotDial: DialSettings['snapshot'];
  #connected = false;
  readonly #token: MemberToken;

  constructor(endpoint: string, options: EtcdClientOptions) {
    this.endpoint = endpoint;
    this.#credentials = options.credentials;
    this.#dialTimeoutMs = options.dialTimeoutMs ?? 5000;
    this.#callTimeoutMs = options.callTimeoutMs ?? 10_000;
    this.#onCall = options.onCall;
    const dial = dialSettings(endpoint, options.credentials, this.#dialTimeoutMs);
    this.#tls = dial.tls;
    this.#snapshotDial = dial.snapshot;
    this.#client = new Client(dial.target, dial.channelCredentials, dial.channelOptions);
    this.#token = new MemberToken(endpoint, options.credentials, (request, callOptions) =>
      this.#call<{ name: string; password: string }, { token: string }>(
        'Auth',
        'Authenticate',
        request,
        undefined,
        callOptions,
      ),
    );
  }

  toString(): string {
    return `EtcdClient(${this.endpoint}, ${describeCredentials(this.#credentials)})`;
  }

  close(): void {
    this.#client.close();
  }

  /** Maintenance.Status of this member. */
  async status(options: EtcdCallOptions = {}): Promise<MemberStatus> {
    const r = await this.#unary<
      object,
      {
        header: Header | null;
        version: string;
        dbSize: string;
        leader: string;
        raftIndex: string;
        raftTerm: string;
        raftAppliedIndex: string;
        errors: string[];
        dbSizeInUse: string;
        isLearner: boolean;
      }
    >('Maintenance', 'Status', {}, options);
    return {
      endpoint: this.endpoint,
      memberId: memberIdHex(r.header?.member_id),
      clusterId: memberIdHex(r.header?.cluster_id),
      leaderId: memberIdHex(r.leader),
      version: r.version,
      dbSizeBytes: Number(r.dbSize),
      dbSizeInUseBytes: Number(r.dbSizeInUse),
      raftIndex: Number(r.raftIndex),
      raftTerm: Number(r.raftTerm),
      raftAppliedIndex: Number(r.raftAppliedIndex),
      revision: Number(r.header?.revision ?? 0),
      isLearner: r.isLearner,
      errors: r.errors,
    };
  }

  /** Cluster.MemberList as this member sees it (served locally, no quorum needed). */
  async memberList(options: EtcdCallOptions = {}): Promise<MemberInfo[]> {
    const r = await this.#unary<
      { linearizable: boolean },
      {
        members: { ID: string; name: string; peerURLs: string[]; clientURLs: string[]; isLearner: boolean }[];
      }
    >('Cluster', 'MemberList', { linearizable: false }, options);
    return r.members.map((m) => ({
      id: memberIdHex(m.ID),
      name: m.name,
      peerUrls: m.peerURLs,
      clientUrls: m.clientURLs,
      isLearner: m.isLearner,
    }));
  }

  /**
   * How many keys start with `prefix` (KV.Range count_only); the whole keyspace for "". With
   * `atRevision`, as of that revision (a restore's first one: stable whatever clients write next);
   * `serializable` answers from this member's own store, without raft (what it restored).
   */
  async countKeys(
    prefix: string,
    options: EtcdCallOptions & { atRevision?: number; serializable?: boolean } = {},
  ): Promise<{ count: number; revision: number }> {
    const key = prefix === '' ? Buffer.from([0]) : Buffer.from(prefix);
    const r = await this.#unary<object, { header: Header | null; count: string }>(
      'KV',
      'Range',
      {
        key,
        range_end: prefixEnd(key),
        count_only: true,
        ...(options.atRevision !== undefined ? { revision: String(options.atRevision) } : {}),
        ...(options.serializable ? { serializable: true } : {}),
      },
      options,
    );
    return { count: Number(r.count), revision: Number(r.header?.revision ?? 0) };
  }

  async put(
    key: string,
    value: Buffer | string,
    options: EtcdCallOptions = {},
  ): Promise<{ revision: number }> {
    const r = await this.#unary<object, { header: Header | null }>(
      'KV',
      'Put',
      { key: Buffer.from(key), value: typeof value === 'string' ? Buffer.from(value) : value },
      options,
    );
    return { revision: Number(r.header?.revision ?? 0) };
  }

  /**
   * Maintenance.Snapshot: the messages of the stream, in order, with backpressure (the stream is
   * read only as fast as the consumer iterates). No deadline unless given: a large database takes
   * as long as it takes; abort through the signal. The stream itself runs on node:http2, not
   * grpc-js (snapshot-http2.ts); connecting and the token are this client's.
   */
  async *snapshot(options: EtcdCallOptions = {}): AsyncGenerator<SnapshotMessage> {
    await this.#ensureConnected(options);
    const token = await this.#token.get(options);
    const deadline = options.deadline
      ? AbortSignal.timeout(Math.max(0, options.deadline - Date.now()))
      : undefined;
    const signals = [options.signal, deadline].filter((s): s is AbortSignal => s !== undefined);
    const signal = signals.length > 1 ? AbortSignal.any(signals) : signals[0];
    try {
      yield* snapshotOverHttp2({
        ...this.#snapshotDial,
        ...(token ? { token } : {}),
        ...(signal ? { signal } : {}),
      });
    } catch (err) {
      if (options.signal?.aborted) throw abortReason(options.signal);
      if (deadline?.aborted) {
        throw new EtcdError(
          'ETCD_ENDPOINTS_UNREACHABLE',
          `snapshot stream at ${this.endpoint}: deadline exceeded`,
          {
            endpoint: this.endpoint,
            cause: err,
          },
        );
      }
      throw toEtcdError(err, this.endpoint, 'snapshot stream', this.#tls);
    }
  }

  // The first call to a member gets the dial timeout as its deadline, so a member that never
  // answers costs dialTimeoutMs, not the call timeout. With a user, Authenticate is that first
  // call (etcd 3.6 refuses even Status without a token when authentication is on).
  async #ensureConnected(options: EtcdCallOptions): Promise<void> {
    if (this.#connected) return;
    const dialDeadline = Date.now() + this.#dialTimeoutMs;
    const first = {
      signal: options.signal,
      deadline: options.deadline ? Math.min(options.deadline, dialDeadline) : dialDeadline,
    };
    if (this.#credentials.kind === 'basic') await this.#metadata(first);
    else await this.#call('Maintenance', 'Status', {}, undefined, first);
    this.#connected = true;
  }

  async #metadata(options: EtcdCallOptions): Promise<Metadata> {
    const metadata = new Metadata();
    const token = await this.#token.get(options);
    if (token) metadata.set('token', token);
    return metadata;
  }

  async #unary<Req, Res>(
    service: string,
    method: string,
    request: Req,
    options: EtcdCallOptions,
  ): Promise<Res> {
    await this.#ensureConnected(options);
    const metadata = await this.#metadata(options);
    try {
      return await this.#call<Req, Res>(service, method, request, metadata, options);
    } catch (err) {
      // A simple-auth token expires (5 min by default) or dies with a member restart: once more with a fresh one.
      if (
        err instanceof EtcdError &&
        err.grpcCode === status.UNAUTHENTICATED &&
        this.#credentials.kind === 'basic'
      ) {
        this.#token.forget();
        return this.#call<Req, Res>(service, method, request, await this.#metadata(options), options);
      }
      throw err;
    }
  }

  #call<Req, Res>(
    service: string,
    method: string,
    request: Req,
    metadata: Metadata | undefined,
    options: EtcdCallOptions,
  ): Promise<Res> {
    const { signal } = options;
    if (signal?.aborted) return Promise.reject(abortReason(signal));
    const def = etcdMethod<Req, Res>(service, method);
    const deadline = new Date(options.deadline ?? Date.now() + this.#callTimeoutMs);
    const pending = new Promise<Res>((resolve, reject) => {
      const onAbort = () => call.cancel();
      const call = this.#client.makeUnaryRequest<Req, Res>(
        def.path,
        def.requestSerialize,
        def.responseDeserialize,
        request,
        metadata ?? new Metadata(),
        { deadline },
        (err: ServiceError | null, value?: Res) => {
          signal?.removeEventListener('abort', onAbort);
          if (err) {
            reject(
              signal?.aborted
                ? abortReason(signal)
                : toEtcdError(err, this.endpoint, `${service}.${method}`, this.#tls),
            );
          } else if (value === undefined) {
            reject(
              new EtcdError('SNAPSHOT_FAILED', `${service}.${method} at ${this.endpoint}: empty response`),
            );
          } else {
            resolve(value);
          }
        },
      );
      signal?.addEventListener('abort', onAbort, { once: true });
    });
    return observeCall(this.#onCall, { service, method, endpoint: this.endpoint, signal }, pending);
  }
}
