// A CSI client over the project's proto, for tests, benchmarks and tools: every unary method of
// the four services as a promise. Talks to any CSI endpoint (unix:///path or host:port).
import { type Client, credentials, loadPackageDefinition, Metadata, type ServiceError } from '@grpc/grpc-js';
import { loadSync } from '@grpc/proto-loader';
import { CSI_PROTO_PATH, type CsiServiceName, PROTO_LOADER_OPTIONS } from './proto.ts';

export interface CallOptions {
  /** Milliseconds from now. */
  timeoutMs?: number;
  /** Cancels the call when aborted. */
  signal?: AbortSignal;
  metadata?: Record<string, string>;
}

// biome-ignore lint/suspicious/noExplicitAny: requests and responses are the plain messages of messages.ts.
export type UnaryCall = (request?: any, options?: CallOptions) => Promise<any>;

export type CsiClient = Record<CsiServiceName, Record<string, UnaryCall>> & {
  /**
   * Calls a method by full path with the request's bytes as given (empty by default): methods this
   * proto does not declare (UNIMPLEMENTED checks), or bytes no encoder would make (wire checks).
   * The answer is the response's bytes.
   */
  raw(path: string, options?: CallOptions, body?: Uint8Array): Promise<unknown>;
  close(): void;
};

type GrpcClientConstructor = new (
  address: string,
  creds: ReturnType<typeof credentials.createInsecure>,
) => Client;

export function createCsiClient(endpoint: string): CsiClient {
  const address = endpoint.startsWith('tcp://') ? endpoint.slice('tcp://'.length) : endpoint;
  const pkg = loadPackageDefinition(loadSync(CSI_PROTO_PATH, PROTO_LOADER_OPTIONS)) as unknown as {
    csi: { v1: Record<CsiServiceName, GrpcClientConstructor & { service: Record<string, unknown> }> };
  };
  const clients: Client[] = [];
  const services = {} as Record<CsiServiceName, Record<string, UnaryCall>>;
  for (const name of ['Identity', 'Controller', 'GroupController', 'Node'] as const) {
    const Ctor = pkg.csi.v1[name];
    const client = new Ctor(address, credentials.createInsecure());
    clients.push(client);
    const methods: Record<string, UnaryCall> = {};
    for (const method of Object.keys(Ctor.service)) {
      methods[method] = (request = {}, options = {}) =>
        new Promise((resolve, reject) => {
          const fn = (client as unknown as Record<string, (...args: unknown[]) => { cancel(): void }>)[
            method
          ]!.bind(client);
          const call = fn(
            request,
            toMetadata(options),
            callOptions(options),
            (err: ServiceError | null, res: unknown) => (err ? reject(err) : resolve(res)),
          );
          options.signal?.addEventListener('abort', () => call.cancel(), { once: true });
        });
    }
    services[name] = methods;
  }
  const first = clients[0]!;
  return {
    ...services,
    raw(path, options = {}, body = new Uint8Array(0)) {
      return new Promise((resolve, reject) => {
        first.makeUnaryRequest(
          path,
          () => Buffer.from(body),
          (b: Buffer) => b,
          {},
          toMetadata(options),
          callOptions(options),
          (err, res) => (err ? reject(err) : resolve(res)),
        );
      });
    },
    close() {
      for (const c of clients) c.close();
    },
  };
}

function toMetadata(options: CallOptions): Metadata {
  const md = new Metadata();
  for (const [k, v] of Object.entries(options.metadata ?? {})) md.set(k, v);
  return md;
}

function callOptions(options: CallOptions): { deadline?: Date } {
  return options.timeoutMs === undefined ? {} : { deadline: new Date(Date.now() + options.timeoutMs) };
}
